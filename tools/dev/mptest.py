"""Run the framework tests (tests/framework) on the MicroPython unix port."""
import argparse
import subprocess
import sys
from pathlib import Path

from tools import host

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "framework" / "mprunner.py"


class MPTestError(Exception):
    """The MicroPython test run could not start."""


def find_micropython(explicit: str = None) -> str:
    """The micropython binary (tools.host.find_micropython): explicit, $MICROPYTHON, the venv's, PATH's."""
    return host.find_micropython(explicit, MPTestError)


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
