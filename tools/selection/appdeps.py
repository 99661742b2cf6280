"""Which parts of the kit an app needs: its imports, read with ``ast``, mapped to the fragments.

An app's ``.py`` files (``main.py``, its own modules and packages; never the ``host/``
stand-ins) are parsed, not run. ``import microdot.X``, ``from microdot.X import ...`` and
``from microdot import X`` (X a submodule) name framework modules; ``import kitnet`` or
``import utemplate`` name other modules the fragments freeze. Each one found leads to the module
it names, whose own imports are read too, so an extension's dependencies come along; the
fragments' ``require()`` lines (:mod:`tools.selection.boards`, the one home of the frozen selection) then
add the rest. Imports inside ``try: ... except ImportError`` are optional and add nothing.

``python -m tools.selection.appdeps --app examples/websocket [--board ESP32_GENERIC]`` prints what the app
needs and, for a board, what its default firmware lacks.
"""
from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from tools.selection import boards as B

#: Folders of an app that are never deployed or scanned (the virtual board's stand-ins).
HOST_DIR = "host"


class AppDepsError(Exception):
    """An app imports something the kit cannot give a board, as one sentence saying what to do."""


@dataclass(frozen=True)
class Module:
    """One module a fragment freezes."""

    name: str  # dotted import name, e.g. "microdot.pubsub"
    fragment: str
    source: Path
    target: str  # path in the image, e.g. "microdot/pubsub.py"


def module_name(target: str) -> str:
    """'microdot/pubsub.py' -> 'microdot.pubsub'; 'microdot/__init__.py' -> 'microdot'."""
    parts = target[:-3].split("/") if target.endswith(".py") else target.split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_index(root: Union[str, Path, None] = None) -> Dict[str, Module]:
    """Every module the fragments freeze, by dotted name."""
    out: Dict[str, Module] = {}
    for frag in B.load_fragments(root).values():
        for source, target in frag.files:
            name = module_name(target)
            out.setdefault(name, Module(name, frag.name, source, target))
    return out


def never_frozen() -> Set[str]:
    """Dotted names of the framework modules that only run on CPython."""
    return {"%s.%s" % (B.LIBRARY, f[:-3]) for f in B.NEVER_FROZEN}


# --------------------------------------------------------------------------------------------
# Reading imports


@dataclass
class Import:
    name: str  # dotted module name, or "pkg.attr" for from-imports (may be an attribute)
    line: int
    optional: bool  # inside try/except ImportError
    maybe_attr: bool = False  # from pkg import attr: a submodule only if one exists


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type
    if kinds is None:
        return True
    names = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError", "Exception")
               for n in names)


def imports_in(source: str, filename: str = "<app>", package: Optional[str] = None) -> List[Import]:
    """The imports in one module's source, at any depth (function bodies included).

    Relative imports are resolved against ``package`` (the dotted package the module is in, ""
    for a top-level module); without it they are left out (in an app they stay inside the app).
    """
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        raise AppDepsError(
            "'%s' does not parse: SyntaxError: %s (line %s); fix it before building or deploying."
            % (filename, exc.msg, exc.lineno)
        )
    found: List[Import] = []

    def visit(node: ast.AST, optional: bool) -> None:
        if isinstance(node, ast.Try):
            guarded = optional or any(_catches_import_error(h) for h in node.handlers)
            for child in node.body:
                visit(child, guarded)
            for child in node.handlers + node.orelse + node.finalbody:
                visit(child, optional)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(alias.name, node.lineno, optional))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base:
                if node.module:
                    found.append(Import(base, node.lineno, optional))
                for alias in node.names:
                    if alias.name != "*":
                        found.append(Import("%s.%s" % (base, alias.name), node.lineno, optional, True))
        for child in ast.iter_child_nodes(node):
            visit(child, optional)

    visit(tree, False)
    return found


def _absolute(node: ast.ImportFrom, package: Optional[str]) -> Optional[str]:
    """The dotted module a from-import names; None for a relative one without ``package``."""
    if not node.level:
        return node.module
    if package is None:
        return None
    parts = package.split(".") if package else []
    if node.level - 1 > len(parts):
        return None  # beyond the top-level package: it fails at run time anyway
    parts = parts[:len(parts) - (node.level - 1)]
    if node.module:
        parts.append(node.module)
    return ".".join(parts) or None


def module_imports(mod: Module) -> List[Import]:
    """Every import in one frozen module, relative ones resolved (see :func:`imports_in`)."""
    name = mod.name if mod.target.endswith("/__init__.py") else mod.name.rpartition(".")[0]
    return imports_in(mod.source.read_text(encoding="utf-8"), str(mod.source), name)


def with_packages(name: str) -> List[str]:
    """'microdot.cors' -> ['microdot.cors', 'microdot']: importing a submodule imports its packages."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def app_files(app: Union[str, Path]) -> List[Path]:
    """The app's .py files: a single module, or a folder's files outside host/ and dotfolders."""
    app = Path(app)
    if app.is_file():
        return [app] if app.suffix == ".py" else []
    if not app.is_dir():
        raise AppDepsError("APP '%s' does not exist; point APP at your app folder." % app)
    out = []
    for path in sorted(app.rglob("*.py")):
        rel = path.relative_to(app).parts
        if rel[0] == HOST_DIR or any(p.startswith(".") or p == "__pycache__" for p in rel):
            continue
        out.append(path)
    return out


# --------------------------------------------------------------------------------------------
# What an app needs


@dataclass
class Needs:
    """What one app needs from the kit."""

    app: Path
    modules: Dict[str, str] = field(default_factory=dict)  # kit module -> "file:line" that needs it
    fragments: List[str] = field(default_factory=list)  # closure, "core" first when needed

    @property
    def extensions(self) -> List[str]:
        return [f for f in self.fragments if f != B.CORE]

    def why(self, fragment: str, index: Dict[str, Module]) -> str:
        for name, where in sorted(self.modules.items()):
            if index[name].fragment == fragment:
                return "%s (%s)" % (name, where)
        return "required by another extension"


def _rel(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def needs(app: Union[str, Path], root: Union[str, Path, None] = None) -> Needs:
    """Read the app's imports and follow them through the kit's modules and fragments."""
    app = Path(app)
    index = module_index(root)
    cpython_only = never_frozen()
    result = Needs(app=app)
    todo: List[Tuple[str, str]] = []  # (module, where)
    base = app if app.is_dir() else app.parent
    for path in app_files(app):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AppDepsError("Cannot read '%s' (%s); fix or remove it." % (path, exc))
        for imp in imports_in(text, str(path)):
            if imp.optional:
                continue
            where = "%s:%d" % (_rel(path, base), imp.line)
            if imp.name in cpython_only:
                raise AppDepsError(
                    "%s imports %s, which only runs on CPython; a board cannot use it (use "
                    "microdot.utemplate for templates)." % (where, imp.name)
                )
            if imp.name in index:
                todo.append((imp.name, where))
            elif not imp.maybe_attr and imp.name.startswith(B.LIBRARY + "."):
                known = sorted(n for n in index if n.startswith(B.LIBRARY + "."))
                raise AppDepsError(
                    "%s imports %s, which the kit does not have; known modules: %s."
                    % (where, imp.name, ", ".join(known))
                )
    seen: Dict[str, str] = {}
    while todo:
        name, where = todo.pop(0)
        if name in seen:
            continue
        seen[name] = where
        if "." in name:  # importing a submodule imports its package first
            todo.append((name.rsplit(".", 1)[0], where))
        for imp in module_imports(index[name]):
            if not imp.optional and imp.name in index and imp.name not in seen:
                todo.append((imp.name, "via %s" % name))
    result.modules = {n: w for n, w in seen.items() if not w.startswith("via ")}
    fragments = B.load_fragments(root)
    wanted = B._closure(sorted({index[n].fragment for n in seen}), fragments)
    if wanted:
        wanted.append(B.CORE)
    ordered = sorted(set(wanted) - {B.CORE})
    result.fragments = ([B.CORE] if wanted else []) + ordered
    return result


def fragment_files(names: Iterable[str], root: Union[str, Path, None] = None) -> List[Tuple[Path, str]]:
    """(source, target) of every module the fragments ``names`` freeze, core first.

    The start-up scripts (the wifi fragment's boot.py and main.py) are left out: an app never
    imports them, and importing one to see whether the firmware has it would run it."""
    fragments = B.load_fragments(root)
    order = [B.CORE] + sorted(n for n in names if n != B.CORE) if B.CORE in names else sorted(names)
    out: List[Tuple[Path, str]] = []
    for name in order:
        out.extend(row for row in fragments[name].files if row[1] not in B.BOOT_FILES)
    return out


def with_app(board: Union[B.Board, str], requested: B.Requested, app: Union[str, Path, None],
             root: Union[str, Path, None] = None) -> Tuple[List[str], List[str]]:
    """(extensions to freeze, those added for the app): the selection plus what the app needs."""
    base = B.resolve_extensions(board, requested, root)
    if app is None:
        return base, []
    added = [n for n in needs(app, root).extensions if n not in base]
    if not added:
        return base, []
    return B.resolve_extensions(board, base + added, root), added


def freezable(app: Union[str, Path], freeze_main: bool) -> bool:
    """Whether the app has modules to freeze (not just a main.py left to `make deploy`)."""
    app = Path(app)
    if freeze_main or app.is_file() or (app / "__init__.py").is_file():
        return True
    return any(
        (e.is_file() and e.suffix == ".py" and e.name not in B.BOOT_FILES)
        or (e.is_dir() and (e / "__init__.py").is_file() and e.name != HOST_DIR)
        for e in app.iterdir() if not e.name.startswith(".")
    ) if app.is_dir() else True


def selection(board: Union[B.Board, str], requested: B.Requested, app: Union[str, Path, None],
              freeze_main: bool = False, root: Union[str, Path, None] = None
              ) -> Tuple[List[str], List[str], Optional[Union[str, Path]]]:
    """(extensions, those added for the app, the app to freeze or None) for a build or check.

    An app folder holding only main.py adds its extensions but is not frozen itself (it is
    deployed with `make deploy`; FREEZE_MAIN=1 freezes it)."""
    try:
        names, added = with_app(board, requested, app, root)
    except AppDepsError as exc:
        raise B.BoardError(str(exc))
    frozen = app if app is not None and freezable(app, freeze_main) else None
    return names, added, frozen


def firmware_fragments(board: Union[B.Board, str, None], root: Union[str, Path, None] = None) -> List[str]:
    """The fragments a board's default kit firmware freezes (core first); [] for stock MicroPython."""
    if board is None:
        return []
    return [B.CORE] + B.resolve_extensions(board, None, root)


def missing_files(app_needs: Needs, has: Iterable[str], root: Union[str, Path, None] = None) -> List[Tuple[Path, str]]:
    """The files of the needed fragments whose module is not in ``has`` (dotted names)."""
    present = set(has)
    return [(src, tgt) for src, tgt in fragment_files(app_needs.fragments, root)
            if module_name(tgt) not in present]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.selection.appdeps", description=__doc__.split("\n")[0])
    parser.add_argument("--app", required=True, help="app folder or module")
    parser.add_argument("--board", default=None, help="also say what this board's default firmware lacks")
    args = parser.parse_args(argv)
    try:
        n = needs(args.app)
        index = module_index()
        if not n.fragments:
            print("%s imports nothing from the kit." % args.app)
            return 0
        print("%s needs: %s" % (args.app, ", ".join(n.fragments)))
        for frag in n.fragments:
            print("  %-12s %s" % (frag, n.why(frag, index)))
        if args.board:
            board = B.load_board(args.board)
            has = firmware_fragments(board)
            lacking = [f for f in n.fragments if f not in has]
            print("%s's default firmware %s" % (
                board.name, "lacks: " + ", ".join(lacking) if lacking else "has all of them"))
    except (AppDepsError, B.BoardError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
