"""The rp2 port (Raspberry Pi Pico W / Pico 2 W): the port questions of tools/build/unix.py."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional

from tools.build.base import Step
from tools.selection import boards as B

#: rp2 runs cmake only while its build folder has no Makefile, so the manifest path and the
#: board are baked into its cache.
CACHES_MANIFEST = True


def make_argv(board: B.Board, micropy: str, frozen_manifest: str, jobs: int,
              board_dir: Optional[str] = None) -> List[str]:
    argv = ["make", "-C", "%s/ports/rp2" % micropy.rstrip("/"), "-j%d" % jobs]
    argv.append("BOARD_DIR=%s" % board_dir if board_dir else "BOARD=%s" % board.board)
    if board.variant:
        argv.append("BOARD_VARIANT=%s" % board.variant)
    return argv + ["FROZEN_MANIFEST=%s" % frozen_manifest]


def steps(board: B.Board, build_dir: str) -> List[Step]:
    return []


def reset_names(build_dir: Path) -> List[str]:
    """cmake's cache only: cmake reconfigures, the objects stay."""
    return ["Makefile", "CMakeCache.txt"]


def app_image(board: B.Board, build_dir: Path) -> Path:
    """firmware.bin: the .uf2 wraps it in 512-byte blocks, so its size is not the flash used."""
    return build_dir / "firmware.bin"


def outputs(board: B.Board) -> List[str]:
    return []


def collect(board: B.Board, build_dir: Path, stage: Path, log: Callable[[str], None]) -> dict:
    return {}
