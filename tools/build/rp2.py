"""The rp2 port (Raspberry Pi Pico W / Pico 2 W): the port questions of tools/build/unix.py, and
the wrapper board folder that gives a board its ROMFS area (``write_wrapper``, ``kit_board_dir``,
``config_inputs``; docs/romfs.md)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Dict, List, Optional

from tools.build.base import Step, in_container, variant_file, write_folder
from tools.selection import boards as B

#: rp2 runs cmake only while its build folder has no Makefile, so the manifest path and the
#: board are baked into its cache.
CACHES_MANIFEST = True
#: Where the wrapper folders are written: firmware/.cache/rp2-boards/<BOARD>/<MicroPython board>/
#: (the port's Makefile names the build folder after the last part: build-<board>).
WRAPPERS = ("firmware", ".cache", "rp2-boards")


def wrapper_dir(board: B.Board, root: Path) -> Path:
    """The wrapper folder of an rp2 board (host path)."""
    return Path(root).joinpath(*WRAPPERS) / board.name / str(board.board)


def wrapper_files(board: B.Board) -> Dict[str, str]:
    """The files of the wrapper folder of an rp2 board with a ROMFS area (board.json
    ``romfs_size``): MicroPython's ports/rp2/boards/<board> (cmake, header, pins, manifest, the
    variant) plus ``MICROPY_HW_ROMFS_BYTES``, which reserves that many bytes below the
    filesystem (ports/rp2/rp2_flash.c; vfs.rom_ioctl serves them, MICROPY_VFS_ROM follows), so
    the firmware's room (board.json ``app_partition_size``) shrinks by as much. Paths go through
    cmake's MICROPY_PORT_DIR and the manifest's $(PORT_DIR): the same files serve the host and
    Docker. Empty for a board without an area (built from MicroPython's folder as it is)."""
    if board.port != "rp2" or not board.romfs_size:
        return {}
    up = "${MICROPY_PORT_DIR}/boards/%s" % board.board
    head = "# Written by tools/build/rp2.py for every build: MicroPython's %s board folder plus a ROMFS\n" \
           "# area (docs/romfs.md; board.json romfs_size). Edit board.json, not this file.\n" % board.board
    files = {
        "mpconfigboard.cmake": head + "include(%s/mpconfigboard.cmake)\n"
                                      "set(MICROPY_BOARD_PINS %s/pins.csv)\n" % (up, up),
        "mpconfigboard.h": "// Written by tools/build/rp2.py: MicroPython's %s board header plus a ROMFS area\n"
                           "// of %d bytes below the filesystem (docs/romfs.md; board.json romfs_size).\n"
                           "#include \"boards/%s/mpconfigboard.h\"\n"
                           "#define MICROPY_HW_ROMFS_BYTES (%d)\n" % (board.board, board.romfs_size, board.board, board.romfs_size),
        "manifest.py": "# Written by tools/build/rp2.py: MicroPython's %s board manifest.\n"
                       "include(\"$(PORT_DIR)/boards/%s/manifest.py\")\n" % (board.board, board.board),
    }
    files.update(variant_file(board.variant, head, up))
    return files


def write_wrapper(board: B.Board, root: Path) -> Optional[Path]:
    """Write the wrapper folder of an rp2 board with a ROMFS area (a file only when its text
    changed); None for other boards."""
    files = wrapper_files(board)
    if not files:
        return None
    return write_folder(wrapper_dir(board, root), files)


def kit_board_dir(board: B.Board, root: Path, mount: Optional[str]) -> Optional[str]:
    """BOARD_DIR= for an rp2 board with a ROMFS area: its wrapper folder (None: BOARD= as it is).
    ``mount`` is where the project appears in the build container (None: a native build)."""
    if not wrapper_files(board):
        return None
    return in_container(wrapper_dir(board, root), root, mount)


def config_inputs(board: B.Board) -> Dict[str, str]:
    """The wrapper's text, part of the build folder's signature (tools.build.plan): a changed
    ROMFS size makes cmake configure again."""
    files = wrapper_files(board)
    if not files:
        return {}
    h = hashlib.sha256()
    for name, text in sorted(files.items()):
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    return {"wrapper": h.hexdigest()[:16]}


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
