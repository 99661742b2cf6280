"""What a MicroPython checkout and the host must have for a build: versions, submodules, tools.

The version a checkout declares (py/mpconfig.h), the oldest one a board builds with (board.json
``min_micropython``), the submodules each port reads and the host commands a native build runs.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from tools import host
from tools.build.base import BuildError
from tools.selection import boards as B

#: Submodules each port's build reads (checked in a user's checkout before building).
SUBMODULES = {
    "unix": ("lib/micropython-lib", "lib/mbedtls"),
    "esp32": ("lib/micropython-lib", "lib/berkeley-db-1.xx"),
    "rp2": (
        "lib/micropython-lib",
        "lib/pico-sdk",
        "lib/tinyusb",
        "lib/mbedtls",
        "lib/lwip",
        "lib/cyw43-driver",
        "lib/btstack",
    ),
    "qemu": ("lib/micropython-lib",),
}
#: Host commands a native build needs, per port.
NATIVE_TOOLS = {
    "unix": ("make", "cc", "pkg-config"),
    "rp2": ("make", "cmake", "arm-none-eabi-gcc"),
    "esp32": ("make", "idf.py"),
    "qemu": ("make", "arm-none-eabi-gcc"),
}
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(-preview)?$")


def parse_version(text: str) -> Optional[Tuple[int, int, int, int]]:
    """(major, minor, micro, release) of "v1.29.0" / "1.29.0-preview"; release is 0 for a
    preview (older than the release itself). None for a branch name or a commit."""
    m = _VERSION.match(text.strip())
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), 0 if m.group(4) else 1)


def format_version(version: Tuple[int, int, int, int]) -> str:
    return "%d.%d.%d%s" % (version[0], version[1], version[2], "" if version[3] else "-preview")


def checkout_version(checkout: Path) -> Optional[Tuple[int, int, int, int]]:
    """The version a checkout's py/mpconfig.h declares (master between releases: "-preview")."""
    try:
        text = (Path(checkout) / "py" / "mpconfig.h").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    nums = [re.search(r"#define MICROPY_VERSION_%s (\d+)" % k, text) for k in ("MAJOR", "MINOR", "MICRO")]
    if not all(nums):
        return None
    pre = re.search(r"#define MICROPY_VERSION_PRERELEASE (\d+)", text)
    major, minor, micro = (int(n.group(1)) for n in nums)
    return (major, minor, micro, 0 if pre and pre.group(1) != "0" else 1)


def check_min_micropython(board: B.Board, checkout: Optional[Path], micropy_version: str) -> None:
    """Refuse, in one line, a MicroPython older than board.json's ``min_micropython``."""
    if not board.min_micropython:
        return
    need = parse_version(board.min_micropython)
    if need is None:
        raise BuildError(
            "board.json of %s has min_micropython '%s'; write it like \"1.29.0\" or \"1.29.0-preview\"."
            % (board.name, board.min_micropython)
        )
    if checkout is not None:
        have = checkout_version(checkout)
        where = "the checkout %s is" % checkout
        fix = "pass MICROPY_DIR= a newer checkout (master has it)"
    else:
        have = parse_version(micropy_version)
        where = "the build image clones"
        fix = "pass MICROPY_DIR= a newer checkout, or MICROPY_VERSION= a newer release"
    if have is not None and have < need:
        raise BuildError(
            "%s needs MicroPython %s or newer (min_micropython in board.json) but %s %s: %s."
            % (board.name, format_version(need), where, format_version(have), fix)
        )


def missing_submodules(board: B.Board, checkout: Path) -> List[str]:
    out = []
    for sub in SUBMODULES[board.port]:
        path = checkout / sub
        if not path.is_dir() or not any(path.iterdir()):
            out.append(sub)
    return out


def missing_tools(board: B.Board, which: Callable[[str], Optional[str]] = shutil.which) -> List[str]:
    return [tool for tool in NATIVE_TOOLS[board.port] if which(tool) is None]


def check_checkout(board: B.Board, checkout: Path, micropy_version: str = host.MICROPYTHON_TAG) -> None:
    if not (checkout / "py" / "mpconfig.h").is_file():
        raise BuildError(
            "MicroPython checkout '%s' not found (no py/mpconfig.h there): pass MICROPY_DIR= the "
            "folder of a micropython clone at %s." % (checkout, micropy_version)
        )
    missing = missing_submodules(board, checkout)
    if missing:
        target = "BOARD=%s " % board.board if board.board else ""
        raise BuildError(
            "MicroPython checkout '%s' lacks the submodule(s) %s: run `make -C %s/ports/%s %ssubmodules` "
            "and build again." % (checkout, ", ".join(missing), checkout, board.port, target)
        )


def check_native_tools(board: B.Board, which=shutil.which) -> None:
    missing = missing_tools(board, which)
    if not missing:
        return
    if board.port == "esp32":
        raise BuildError(
            "NATIVE=1 for %s needs ESP-IDF %s in this shell (`idf.py` not found): run "
            "`. $IDF_PATH/export.sh` first, or drop NATIVE=1 to build in Docker." % (board.name, host.IDF_VERSION)
        )
    raise BuildError(
        "NATIVE=1 for %s needs %s on PATH: install the %s toolchain, or drop NATIVE=1 to build in "
        "Docker." % (board.name, ", ".join("`%s`" % t for t in missing), board.port)
    )
