"""Boards, manifest fragments and extension selection for the firmware kit.

Every board lives in ``boards/<BOARD>/`` (``board.json`` + ``manifest.py``); every part of the
framework has a manifest fragment in ``manifests/<name>/manifest.py``. The fragments are the
single source of truth for what gets frozen: this module reads them with a small evaluator of
MicroPython's manifest API (``metadata``/``package``/``module``/``require``/``add_library``), so
the extension list, the dependencies and the file lists never need a MicroPython checkout.

``python -m tools.selection.boards`` prints the boards with port, chip and default extensions.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

ROOT = Path(__file__).resolve().parents[2]
BOARDS_DIR = ROOT / "boards"
MANIFESTS_DIR = ROOT / "manifests"
SRC_DIR = ROOT / "src"

#: The fragment every image gets.
CORE = "core"
#: The name the fragments register their folder under with ``add_library()``.
LIBRARY = "microdot"
#: Framework modules that only run on CPython and are never frozen.
NEVER_FROZEN = ("asgi.py", "compat.py", "hosted.py", "jinja.py", "wsgi.py")
#: The comment that says why a fragment requires one its modules do not import.
NOT_IMPORTED = "# not imported:"
#: Files of an app that run at boot; frozen only on request (they cannot be overridden later).
BOOT_FILES = ("boot.py", "main.py")

PORTS = ("esp32", "rp2", "unix", "qemu")
_BOARD_FIELDS = {
    "name": str,
    "description": str,
    "port": str,
    "mcu": str,
    "board": (str, type(None)),
    "variant": (str, type(None)),
    "chip": (str, type(None)),
    "flash_offset": (str, type(None)),
    "mpy_cross_args": list,
    "extensions": list,
    "firmware": str,
    "build_output": str,
    "app_partition_size": (int, type(None)),
}
#: Optional board.json fields (default None), for boards built from a folder of the kit:
#: ``base_board`` the upstream board it builds on; ``board_dir`` the MicroPython board folder
#: relative to the kit's board folder (passed as BOARD_DIR=); ``noblobs_variant`` the variant
#: for an ESP-IDF without the Wi-Fi blobs; ``min_micropython`` the oldest MicroPython version
#: it builds with ("1.29.0-preview"); ``flash_size`` of the merged image; ``qemu`` how to
#: emulate it (tools/targets/qemu_esp32.py); ``ota_variant`` MicroPython's variant of the board with
#: an OTA partition table (two app slots), which ``make firmware OTA=1`` builds, with
#: ``ota_noblobs_variant`` its counterpart without the Wi-Fi blobs and
#: ``ota_app_partition_size`` the size of each of its app slots; ``micropython_fixes`` the fixes
#: (by name, tools/build/esp32.py ``FIXES``) its MicroPython checkout must carry, checked by the build;
#: ``romfs_size`` / ``ota_romfs_size`` the bytes of the ROMFS area of its default / OTA=1 build
#: (docs/romfs.md; the build's partition table or MICROPY_HW_ROMFS_BYTES, tools/build/esp32.py
#: and rp2.py), which ``romfs_area`` gives the tools.
_OPTIONAL_FIELDS = {
    "base_board": str,
    "board_dir": str,
    "noblobs_variant": str,
    "min_micropython": str,
    "flash_size": str,
    "qemu": dict,
    "ota_variant": str,
    "ota_noblobs_variant": str,
    "ota_app_partition_size": int,
    "micropython_fixes": list,
    "romfs_size": int,
    "ota_romfs_size": int,
}
_NAME = re.compile(r"^[A-Za-z0-9_]+$")

Requested = Union[None, str, Sequence[str]]


class BoardError(Exception):
    """A board, fragment or extension selection problem, as one sentence saying what to do."""


# --------------------------------------------------------------------------------------------
# Boards


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    port: str
    mcu: str
    board: Optional[str]
    variant: Optional[str]
    chip: Optional[str]
    flash_offset: Optional[str]
    mpy_cross_args: List[str]
    extensions: List[str]
    firmware: str
    build_output: str
    app_partition_size: Optional[int]
    path: Path = field(compare=False)
    manifest: Path = field(compare=False)
    base_board: Optional[str] = None
    board_dir_name: Optional[str] = None  # board.json "board_dir"
    noblobs_variant: Optional[str] = None
    min_micropython: Optional[str] = None
    flash_size: Optional[str] = None
    qemu: Optional[dict] = field(default=None, compare=False)
    ota_variant: Optional[str] = None
    ota_noblobs_variant: Optional[str] = None
    ota_app_partition_size: Optional[int] = None
    micropython_fixes: Optional[List[str]] = field(default=None, compare=False)
    romfs_size: Optional[int] = None
    ota_romfs_size: Optional[int] = None

    @property
    def root(self) -> Path:
        """The project root this board belongs to (``boards/..``)."""
        return self.path.parent.parent

    def port_dir(self, micropy_dir: Union[str, Path]) -> Path:
        """``ports/<port>`` inside a MicroPython checkout."""
        return Path(micropy_dir) / "ports" / self.port

    def board_dir(self, micropy_dir: Union[str, Path]) -> Path:
        """The upstream board folder ($(BOARD_DIR)); for unix, the variant folder; the kit's
        own folder for a board with ``board_dir``."""
        if self.board_dir_name is not None:
            return (self.path / self.board_dir_name).resolve()
        if self.port == "unix":
            return self.port_dir(micropy_dir) / "variants" / (self.variant or "standard")
        return self.port_dir(micropy_dir) / "boards" / str(self.board)


def ota_variant(board: Board, micropy_version: str) -> str:
    """The variant ``board`` builds for firmware OTA (board.json ``ota_variant``); BoardError if none."""
    if board.port != "esp32":
        raise BoardError(
            "Board '%s' (%s) has no firmware OTA in MicroPython; build it without OTA=1 and update "
            "its app with `make ota APP=...`." % (board.name, board.port))
    if not board.ota_variant:
        raise BoardError(
            "Board '%s' has no OTA variant in MicroPython %s; build ESP32_GENERIC with OTA=1, or give "
            "this board a partition table with two app slots." % (board.name, micropy_version))
    return board.ota_variant


def romfs_area(board: Board, ota: bool = False) -> Optional[int]:
    """Bytes of the ROMFS area of ``board``'s default build (``ota``: of its OTA=1 build), or
    None when that build has none (board.json ``romfs_size`` / ``ota_romfs_size``)."""
    return board.ota_romfs_size if ota else board.romfs_size


def _root(root: Union[str, Path, None]) -> Path:
    return Path(root).resolve() if root is not None else ROOT


def board_names(root: Union[str, Path, None] = None) -> List[str]:
    """Names of all boards (folders of ``boards/`` holding a ``board.json``), sorted."""
    boards_dir = _root(root) / "boards"
    if not boards_dir.is_dir():
        return []
    return sorted(p.name for p in boards_dir.iterdir() if (p / "board.json").is_file())


def load_board(name: Union[str, Board], root: Union[str, Path, None] = None) -> Board:
    """Read and validate ``boards/<name>/board.json``."""
    if isinstance(name, Board):
        return name
    names = board_names(root)
    if name not in names:
        raise BoardError(
            "Unknown board '%s'. Known boards: %s." % (name, ", ".join(names) or "(none)")
        )
    folder = _root(root) / "boards" / name
    path = folder / "board.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BoardError("Cannot read '%s': %s. Fix the JSON and try again." % (path, exc))
    if not isinstance(data, dict):
        raise BoardError("'%s' must hold a JSON object." % path)
    missing = [k for k in _BOARD_FIELDS if k not in data]
    if missing:
        raise BoardError("'%s' lacks the field(s) %s; add them." % (path, ", ".join(missing)))
    for key, kind in _BOARD_FIELDS.items():
        if not isinstance(data[key], kind) or isinstance(data[key], bool):
            raise BoardError("Field '%s' in '%s' has the wrong type." % (key, path))
    if data["name"] != name:
        raise BoardError(
            "'%s' says its name is '%s'; it must match its folder '%s'." % (path, data["name"], name)
        )
    if data["port"] not in PORTS:
        raise BoardError(
            "'%s' names port '%s'; use one of %s." % (path, data["port"], ", ".join(PORTS))
        )
    manifest = folder / "manifest.py"
    if not manifest.is_file():
        raise BoardError("Board '%s' has no manifest.py; add '%s'." % (name, manifest))
    fields = {k: data[k] for k in _BOARD_FIELDS}
    for key, kind in _OPTIONAL_FIELDS.items():
        if data.get(key) is not None and not isinstance(data[key], kind):
            raise BoardError("Field '%s' in '%s' has the wrong type." % (key, path))
        fields["board_dir_name" if key == "board_dir" else key] = data.get(key)
    return Board(path=folder, manifest=manifest, **fields)


def load_boards(root: Union[str, Path, None] = None) -> List[Board]:
    return [load_board(n, root) for n in board_names(root)]


# --------------------------------------------------------------------------------------------
# Fragments


@dataclass
class Fragment:
    """What one ``manifests/<name>/manifest.py`` does, as read by :func:`load_fragment`."""

    name: str
    path: Path
    metadata: Dict[str, object]
    files: List[Tuple[Path, str]]  # (source path, module path in the image)
    requires: List[str]  # other fragments (require(..., library="microdot"))
    external: List[str]  # micropython-lib packages (plain require())
    #: Why a require() stays although no module of the fragment imports the fragment it names:
    #: the text after ``# not imported:`` on its line (see :mod:`tools.selection.deps`).
    notes: Dict[str, str] = field(default_factory=dict)

    @property
    def is_bundle(self) -> bool:
        return not self.files and self.name != CORE


class _Options:
    """The ``options`` object a manifest sees (kwargs of include(), with defaults())."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._defaults = {}

    def defaults(self, **kwargs):
        self._defaults = kwargs

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._kwargs.get(name, self._defaults.get(name))


class _FragmentReader:
    """Executes one fragment with a recording version of MicroPython's manifest API."""

    def __init__(self, path: Path, options: Optional[Dict[str, object]] = None):
        self.path = path
        self.options = dict(options or {})
        self.here = path.parent
        self.metadata: Dict[str, object] = {}
        self.files: List[Tuple[Path, str]] = []
        self.requires: List[str] = []
        self.external: List[str] = []
        self.libraries: Dict[str, Path] = {}
        self.notes: Dict[str, str] = {}
        self._calls = 0
        self._lines: List[str] = []

    def _fail(self, what: str):
        raise BoardError("Manifest fragment '%s' %s." % (_rel(self.path), what))

    def _resolve(self, base: str) -> Path:
        if "$(" in base:
            self._fail("uses '%s'; fragments may only use paths relative to themselves" % base)
        return (self.here / base).resolve()

    def metadata_(self, **kwargs):
        if self._calls:
            self._fail("must call metadata() first and only once")
        self._calls += 1
        self.metadata = dict(kwargs)

    def _count(self, name):
        if not self._calls:
            self._fail("calls %s() before metadata(); metadata() comes first" % name)
        self._calls += 1

    def package(self, package_path, files=None, base_path=".", opt=None):
        self._count("package")
        base = self._resolve(base_path)
        if files is None:
            pkg = base / package_path
            found = sorted(p for p in pkg.rglob("*.py") if "__pycache__" not in p.parts)
            rels = [p.relative_to(pkg).as_posix() for p in found]
        else:
            rels = list(files)
        for rel in rels:
            target = "%s/%s" % (package_path, rel)
            self.files.append((base / package_path / rel, target))

    def module(self, module_path, base_path=".", opt=None):
        self._count("module")
        if not module_path.endswith(".py"):
            self._fail("freezes '%s', which is not a .py file" % module_path)
        self.files.append((self._resolve(base_path) / module_path, module_path))

    def add_library(self, library, library_path, prepend=False):
        self._count("add_library")
        self.libraries[library] = self._resolve(library_path)

    def require(self, name, version=None, pypi=None, library=None, **kwargs):
        self._count("require")
        if library is None:
            self.external.append(name)
        elif library == LIBRARY:
            if library not in self.libraries:
                self._fail('requires "%s" from library "%s" before add_library()' % (name, library))
            self.requires.append(name)
            note = self._note(sys._getframe(1))
            if note:
                self.notes[name] = note
        else:
            self._fail("requires '%s' from unknown library '%s'" % (name, library))

    def _note(self, frame) -> Optional[str]:
        """The ``# not imported: why`` comment on the manifest line that called require()."""
        if frame.f_code.co_filename != str(self.path) or not 0 < frame.f_lineno <= len(self._lines):
            return None
        _, mark, why = self._lines[frame.f_lineno - 1].partition(NOT_IMPORTED)
        return why.strip() or None if mark else None

    def include(self, manifest_path, **kwargs):
        self._fail(
            "calls include(); fragments pull each other in with require(name, library=\"microdot\")"
        )

    def legacy(self, *args, **kwargs):
        self._fail("uses a legacy freeze*() call; use package() or module()")

    def run(self):
        env = {
            "metadata": self.metadata_,
            "package": self.package,
            "module": self.module,
            "require": self.require,
            "add_library": self.add_library,
            "include": self.include,
            "freeze": self.legacy,
            "freeze_as_str": self.legacy,
            "freeze_as_mpy": self.legacy,
            "freeze_mpy": self.legacy,
            "options": _Options(**self.options),
        }
        try:
            text = self.path.read_text(encoding="utf-8")
            self._lines = text.splitlines()
            code = compile(text, str(self.path), "exec")
            exec(code, env)
        except BoardError:
            raise
        except Exception as exc:  # a broken fragment, reported as one line
            self._fail("fails: %s: %s" % (type(exc).__name__, exc))
        if not self._calls:
            self._fail("is empty; it needs metadata() and package()/module()/require()")
        lib = self.libraries.get(LIBRARY)
        if lib is not None and lib != self.here.parent:
            self._fail("registers library \"microdot\" at '%s', not at its parent folder" % lib)


def _rel(path: Path) -> str:
    for base in (Path.cwd(), ROOT):
        try:
            return Path(path).resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def fragment_names(root: Union[str, Path, None] = None) -> List[str]:
    """All fragment names (folders of ``manifests/`` holding a ``manifest.py``), sorted."""
    mdir = _root(root) / "manifests"
    if not mdir.is_dir():
        return []
    return sorted(p.name for p in mdir.iterdir() if (p / "manifest.py").is_file())


def load_fragment(name: str, root: Union[str, Path, None] = None, **options) -> Fragment:
    """The fragment ``name`` as MicroPython's manifest tools read it with ``options`` (the
    keyword arguments a board manifest passes down, e.g. ``app_main=True``)."""
    names = fragment_names(root)
    if name not in names:
        raise BoardError(
            "Unknown manifest fragment '%s'. Known fragments: %s." % (name, ", ".join(names))
        )
    path = _root(root) / "manifests" / name / "manifest.py"
    reader = _FragmentReader(path, options)
    reader.run()
    for req in reader.requires:
        if req not in names:
            raise BoardError(
                "Manifest fragment '%s' requires '%s', which is not in manifests/ (known: %s)."
                % (_rel(path), req, ", ".join(names))
            )
    if name != CORE and reader.files and CORE not in reader.requires:
        raise BoardError("Manifest fragment '%s' must require the core fragment." % _rel(path))
    return Fragment(
        name=name,
        path=path,
        metadata=reader.metadata,
        files=reader.files,
        requires=reader.requires,
        external=reader.external,
        notes=reader.notes,
    )


def load_fragments(root: Union[str, Path, None] = None, **options) -> Dict[str, Fragment]:
    return {n: load_fragment(n, root, **options) for n in fragment_names(root)}


def known_extensions(root: Union[str, Path, None] = None) -> List[str]:
    """Freezable extension names: the fragments that are neither the core nor a bundle."""
    return sorted(f.name for f in load_fragments(root).values() if f.name != CORE and not f.is_bundle)


def bundle_names(root: Union[str, Path, None] = None) -> List[str]:
    return sorted(f.name for f in load_fragments(root).values() if f.is_bundle)


def _closure(names: Iterable[str], fragments: Dict[str, Fragment]) -> List[str]:
    seen: List[str] = []
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        todo.extend(fragments[name].requires)
    return seen


def _split(requested: Union[str, Sequence[str]]) -> List[str]:
    if isinstance(requested, str):
        return [n for n in re.split(r"[\s,]+", requested.strip()) if n]
    out: List[str] = []
    for item in requested:
        out.extend(_split(item) if isinstance(item, str) else [item])
    return out


def resolve_extensions(
    board: Union[Board, str, None],
    requested: Requested = None,
    root: Union[str, Path, None] = None,
) -> List[str]:
    """The sorted extension names to freeze, dependencies included.

    ``requested`` is None (the board's defaults), a string ("websocket sse", "websocket,sse";
    "" or "none" for the core alone) or a list of names. Bundle names (``full``, ``minimal``)
    expand to their parts.
    """
    if root is None and isinstance(board, Board):
        root = board.root
    if requested is None:
        if board is None:
            raise BoardError("Give a board or a list of extensions.")
        b = load_board(board, root)
        names = list(b.extensions)
        origin = "board '%s' (board.json)" % b.name
    else:
        names = _split(requested)
        if [n.lower() for n in names] == ["none"]:
            names = []
        origin = None
    fragments = load_fragments(root)
    extensions = sorted(f.name for f in fragments.values() if f.name != CORE and not f.is_bundle)
    bundles = sorted(f.name for f in fragments.values() if f.is_bundle)
    for name in names:
        if not isinstance(name, str) or name not in extensions + bundles:
            if name == CORE:
                continue  # always there; asking for it is harmless
            msg = "Unknown extension '%s'. Valid extensions: %s." % (name, ", ".join(extensions))
            if bundles:
                msg += " Bundles: %s." % ", ".join(bundles)
            if origin:
                msg += " It comes from %s; fix that file." % origin
            raise BoardError(msg)
    wanted = _closure([n for n in names if n != CORE], fragments)
    return sorted(n for n in wanted if n != CORE and not fragments[n].is_bundle)


def audit(root: Union[str, Path, None] = None) -> List[str]:
    """Problems between the fragments and the modules on disk, one sentence each.

    Every ``src/microdot/*.py`` must be frozen by exactly one fragment or be listed in
    :data:`NEVER_FROZEN`; every file a fragment names must exist; the ``full`` bundle must
    cover every extension; nothing in :data:`NEVER_FROZEN` may be frozen.
    """
    base = _root(root)
    problems: List[str] = []
    try:
        fragments = load_fragments(base)
    except BoardError as exc:
        return [str(exc)]
    owner: Dict[str, str] = {}
    for frag in fragments.values():
        for source, target in frag.files:
            if not source.is_file():
                problems.append(
                    "Fragment '%s' lists '%s', which is not on disk." % (frag.name, _rel(source))
                )
            if target in owner and owner[target] != frag.name:
                problems.append(
                    "'%s' is frozen by both '%s' and '%s'." % (target, owner[target], frag.name)
                )
            owner.setdefault(target, frag.name)
            if target.startswith("microdot/") and target.split("/", 1)[1] in NEVER_FROZEN:
                problems.append(
                    "Fragment '%s' freezes '%s', which only runs on CPython." % (frag.name, target)
                )
    pkg = base / "src" / "microdot"
    if pkg.is_dir():
        for path in sorted(pkg.glob("*.py")):
            target = "microdot/" + path.name
            if path.name not in NEVER_FROZEN and target not in owner:
                problems.append(
                    "'src/microdot/%s' is in no manifest fragment; add it to one in manifests/ "
                    "(or to NEVER_FROZEN in tools/selection/boards.py if it cannot run on MicroPython)."
                    % path.name
                )
    if "full" in fragments:
        extensions = [n for n, f in fragments.items() if n != CORE and not f.is_bundle]
        covered = _closure(["full"], fragments)
        for name in extensions:
            if name not in covered:
                problems.append("The 'full' bundle does not require extension '%s'." % name)
    return problems


# --------------------------------------------------------------------------------------------
# CLI


def format_table(boards: Sequence[Board]) -> str:
    rows = [("BOARD", "PORT", "CHIP", "DEFAULT EXTENSIONS")]
    for b in boards:
        chip = b.mcu if not b.chip else "%s (%s)" % (b.mcu, b.chip)
        rows.append((b.name, b.port, chip, " ".join(b.extensions) or "(core only)"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        "  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.selection.boards", description="List the boards and the extensions."
    )
    parser.add_argument("--json", action="store_true", help="print board.json data as JSON")
    args = parser.parse_args(argv)
    try:
        boards = load_boards()
        if args.json:
            data = []
            for b in boards:
                row = {k: getattr(b, k) for k in _BOARD_FIELDS}
                for key in _OPTIONAL_FIELDS:
                    value = getattr(b, "board_dir_name" if key == "board_dir" else key)
                    if value is not None:
                        row[key] = value
                data.append(row)
            print(json.dumps(data, indent=2))
            return 0
        print(format_table(boards))
        print()
        print("Extensions: %s" % ", ".join(known_extensions()))
        print("Bundles:    %s" % ", ".join(bundle_names()))
        print('Pick with: make BOARD=<BOARD> firmware EXTENSIONS="websocket sse"  (check first: make check)')
    except BoardError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
