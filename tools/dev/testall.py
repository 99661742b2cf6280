"""Run every test: the framework suite on MicroPython, then the whole pytest suite on CPython.

pytest runs last so that its summary line is the last line printed; the exit status is
non-zero if either run failed.
"""
import subprocess
import sys

from tools.dev import mptest


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    mp_status = mptest.main([])
    print("== full test suite on CPython", flush=True)
    py_status = subprocess.run([sys.executable, "-m", "pytest", *argv]).returncode
    if mp_status:
        print("error: the framework tests failed on MicroPython (see above).", file=sys.stderr)
    return mp_status or py_status


if __name__ == "__main__":
    sys.exit(main())
