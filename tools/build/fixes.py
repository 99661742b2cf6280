"""Make the MicroPython fixes a board needs in your checkout: ``make micropython-fixes``.

``python -m tools.build.fixes --board ESP32_QEMU --micropy-dir DIR`` makes each fix board.json's
``micropython_fixes`` names (tools/build/esp32.py FIXES says what each is and why) in the
checkout at DIR, once: a fix already there is left alone. CI's emulated job runs it on its fresh
checkout; the build itself only checks, and refuses a checkout without a fix in one line.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from tools.build import esp32 as E32
from tools.build.base import BuildError
from tools.selection import boards as B


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.build.fixes", description=__doc__.splitlines()[0])
    ap.add_argument("--board", required=True, help="the board whose board.json names the fixes")
    ap.add_argument("--micropy-dir", required=True, help="the MicroPython checkout to fix")
    args = ap.parse_args(argv)
    try:
        try:
            board = B.load_board(args.board)
        except B.BoardError as exc:
            raise BuildError(str(exc))
        if not board.micropython_fixes:
            print("%s needs no MicroPython fix." % board.name)
            return 0
        print("MicroPython fixes for %s in %s:" % (board.name, args.micropy_dir))
        E32.apply_fixes(board, Path(args.micropy_dir))
    except BuildError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
