"""ROMFS images of an app: ``python -m tools.device.romfs --app DIR --board B --out FILE``.

A ROMFS image is MicroPython's read-only filesystem format (extmod/vfs_rom.c): the firmware
mounts it at ``/rom`` at start-up and appends ``/rom`` and ``/rom/lib`` to ``sys.path``, and
``.mpy`` files imported from it execute in place from flash (their bytecode is not copied to
RAM). ``make deploy ROMFS=1`` (tools/device/deploy.py) and ``make ota ROMFS=1``
(tools/device/ota.py) build one with this module and write it to the board's ROMFS area.

What goes into the image (:func:`plan`): the app's Python modules other than ``main.py`` and
``boot.py``, compiled with ``mpy-cross`` for the board (``helpers.py`` -> ``/rom/helpers.mpy``),
and the kit modules the board's firmware lacks (``/rom/lib/microdot/pubsub.mpy``). ``main.py``,
``boot.py`` and the app's other files (``static/``, templates) stay on the board's filesystem:
MicroPython runs ``/main.py`` from there, and the app opens its files by relative paths.

The image format is written by mpremote's own builder (``mpremote.romfs``, the library behind
``mpremote romfs build``); this module only chooses and compiles the files and checks the
header (:func:`header_problem`), as the board does before an image becomes live.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

#: The first bytes of every ROMFS image (MicroPython's extmod/vfs_rom.c).
MAGIC = b"\xd2\xcd\x31"
#: App files that MicroPython runs from the filesystem: never moved into the image.
ON_FILESYSTEM = ("main.py", "boot.py")
#: Where kit modules go in the image (on sys.path as /rom/lib).
LIB = "lib"


class RomfsError(Exception):
    """A ROMFS image could not be built, as one sentence saying what to do."""


def split_app(files: Dict[str, Path]) -> Tuple[Dict[str, Path], Dict[str, Path]]:
    """(the app's modules that go into the image, the files that stay on the filesystem)."""
    modules = {n: p for n, p in files.items() if n.endswith(".py") and n not in ON_FILESYSTEM}
    rest = {n: p for n, p in files.items() if n not in modules}
    return modules, rest


def mpy_name(name: str) -> str:
    return name[:-3] + ".mpy"


def compile_modules(pairs: Sequence[Tuple[Path, str, str]], args: Sequence[str], dest: Path,
                    mpy_cross: Optional[str] = None) -> Dict[str, Path]:
    """Compile ``(source, name in tracebacks, path in the image)`` triples with mpy-cross and
    ``args`` (``-march=...``) into ``dest``: {path in the image: local .mpy}."""
    from tools.manifest import check

    try:
        tool = mpy_cross or check.find_mpy_cross()
    except check.CheckError as exc:
        raise RomfsError(str(exc))
    out: Dict[str, Path] = {}
    for source, shown, target in pairs:
        local = dest / target
        local.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(check.mpy_cross_argv(tool, source, local, shown, list(args)),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            raise RomfsError("mpy-cross cannot compile '%s' for the board: %s; fix the file."
                             % (source, check.one_line(proc.stdout.decode("utf-8", "replace"))))
        out[target] = local
    return out


def plan(app_modules: Dict[str, Path], kit_missing: Sequence[Tuple[Path, str]]) -> List[Tuple[Path, str, str]]:
    """The (source, name, path in the image) triples of an app's image: app modules at the
    image's root, kit modules under lib/."""
    triples = [(path, name, mpy_name(name)) for name, path in sorted(app_modules.items())]
    triples += [(source, target, "%s/%s" % (LIB, mpy_name(target))) for source, target in kit_missing]
    return triples


def pack(tree: Dict[str, Path]) -> bytes:
    """The ROMFS image holding ``tree`` ({path in the image: local file}), built by mpremote."""
    if not tree:
        raise RomfsError("Nothing to put into a ROMFS image: the app has no modules besides main.py "
                         "and needs no kit module its firmware lacks; deploy it without ROMFS=1.")
    try:
        from mpremote.romfs import make_romfs
    except ImportError:
        raise RomfsError("mpremote (1.25 or newer, with mpremote.romfs) is not installed: run `make setup`.")
    with tempfile.TemporaryDirectory(prefix="kit-romfs-") as tmp:
        root = Path(tmp) / "rom"
        root.mkdir()
        for name, local in tree.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(str(local), str(path))
        with contextlib.redirect_stdout(io.StringIO()):  # it prints the tree
            data = make_romfs(str(root), mpy_cross=False)
    why = header_problem(data)
    if why:
        raise RomfsError("mpremote built a ROMFS image the board would refuse (%s): update mpremote." % why)
    return data


def _varint(data: bytes, i: int) -> Tuple[int, int]:
    value = 0
    while i < len(data):
        b = data[i]
        value = (value << 7) | (b & 0x7F)
        i += 1
        if not b & 0x80:
            return value, i
    return -1, i


def header_problem(data: bytes) -> Optional[str]:
    """Why ``data`` is not a whole ROMFS image (magic, then its length as a varint), or None;
    the board's check (src/kit/kitota.py romfs_header) is the same."""
    if data[:3] != MAGIC:
        return "no d2 cd 31 ROMFS header"
    length, i = _varint(data, 3)
    if length < 0 or i + length != len(data):
        return "the header says %d bytes, the image has %d" % (i + length if length >= 0 else -1, len(data))
    return None


def app_modules(app: Path) -> Dict[str, Path]:
    """The app's modules that go into its image: {path in the app: file}."""
    from tools.selection import appdeps

    try:
        files = {p.relative_to(app).as_posix(): p for p in appdeps.app_files(app)}
    except appdeps.AppDepsError as exc:
        raise RomfsError(str(exc))
    return split_app(files)[0]


def image(app: Path, args: Sequence[str], kit_missing: Sequence[Tuple[Path, str]] = ()) -> Tuple[bytes, List[str]]:
    """The image of the app folder ``app`` plus the kit modules ``kit_missing`` ((source,
    module path) pairs), compiled with mpy-cross ``args``: (image, paths in it)."""
    with tempfile.TemporaryDirectory(prefix="kit-romfs-mpy-") as tmp:
        tree = compile_modules(plan(app_modules(app), kit_missing), args, Path(tmp))
        return pack(tree), sorted(tree)


def check_area(size: int, board: str, ota: bool = False) -> Optional[int]:
    """Refuse an image of ``size`` bytes that the ROMFS area of ``board``'s kit build (``ota``:
    its OTA=1 build) cannot hold; return the area's size. The size is board.json's
    ``romfs_size`` / ``ota_romfs_size``, the fact the build's partition table or
    MICROPY_HW_ROMFS_BYTES comes from or is checked against (tests/tools/test_romfs_boards.py).
    None when board.json gives none: the board's own check (mpremote romfs deploy, kitota's
    /ota/romfs/begin) then says whether its firmware has an area."""
    from tools.selection import boards as B

    try:
        b = B.load_board(board)
    except B.BoardError as exc:
        raise RomfsError(str(exc))
    area = B.romfs_area(b, ota)
    if area is not None and size > area:
        raise RomfsError("The ROMFS image is %d bytes but the ROMFS area of %s's %sbuild holds %d (over by %d): "
                         "keep some modules on the filesystem (plain make deploy) or freeze them into the firmware."
                         % (size, b.name, "OTA=1 " if ota else "", area, size - area))
    return area


def for_board(app: Path, board: str, ota: bool = False) -> Tuple[bytes, List[str]]:
    """The image of ``app`` for ``board`` as the kit's firmware builds it (board.json's
    extensions frozen): the kit modules the app needs beyond those go in. RomfsError if the
    board's ROMFS area (``ota``: of its OTA=1 build) cannot hold it (:func:`check_area`)."""
    from tools.manifest import frozen
    from tools.selection import appdeps
    from tools.selection import boards as B

    try:
        b = B.load_board(board)
        has = [appdeps.module_name(t) for _, t in frozen.frozen_sources(b, list(b.extensions) or "none")]
        missing = appdeps.missing_files(appdeps.needs(app), has)
    except (B.BoardError, appdeps.AppDepsError) as exc:
        raise RomfsError(str(exc))
    data, names = image(app, list(b.mpy_cross_args or ()), missing)
    check_area(len(data), b.name, ota)
    return data, names


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.device.romfs", description=__doc__.split("\n")[0])
    parser.add_argument("--app", default="examples/hello", help="app folder (default examples/hello)")
    parser.add_argument("--board", default="ESP32_GENERIC", help="board whose firmware and architecture to build for")
    parser.add_argument("--ota", action="store_true", help="for the board's OTA=1 build (its ROMFS area's size)")
    parser.add_argument("--out", required=True, help="image file to write")
    args = parser.parse_args(argv)
    try:
        if not Path(args.app).is_dir():
            raise RomfsError("App folder '%s' not found: pass --app with your app folder." % args.app)
        data, names = for_board(Path(args.app), args.board, args.ota)
        Path(args.out).write_bytes(data)
    except RomfsError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print("error: cannot write '%s': %s." % (args.out, exc.strerror), file=sys.stderr)
        return 1
    print("%s: %d bytes, %s" % (args.out, len(data), ", ".join("/rom/" + n for n in names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
