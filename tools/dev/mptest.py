"""Run the framework tests (tests/framework) on the MicroPython unix port."""
import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "framework" / "mprunner.py"


class MPTestError(Exception):
    """The MicroPython test run could not start."""


def find_micropython(explicit: str = None) -> str:
    """The micropython binary to use: explicit, $MICROPYTHON, the venv's, or PATH's."""
    for candidate in (explicit, os.environ.get("MICROPYTHON"),
                      str(Path(sys.executable).parent / "micropython"), shutil.which("micropython")):
        if candidate and Path(candidate).exists():
            return candidate
    raise MPTestError("No 'micropython' binary found; run 'make setup' or pass MICROPYTHON=/path/to/micropython.")


def command(micropython: str, files=()) -> list:
    return [micropython, str(RUNNER), *files]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--micropython", help="micropython binary (default: the one from the venv)")
    parser.add_argument("files", nargs="*", help="test modules (default: all of tests/framework)")
    args = parser.parse_args(argv)
    try:
        binary = find_micropython(args.micropython)
    except MPTestError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    print("== framework tests on MicroPython (%s)" % binary, flush=True)
    return subprocess.run(command(binary, args.files), cwd=ROOT / "tests" / "framework").returncode


if __name__ == "__main__":
    sys.exit(main())
