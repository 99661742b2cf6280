"""Step 3, the manifest: from a selection (board, extensions, app) to the top-level manifest the
MicroPython build freezes (FROZEN_MANIFEST), and the list of files it freezes.

The fragments in ``manifests/`` and the boards in ``boards/`` are read by
:mod:`tools.selection.boards`; this module only turns a selection into files and text.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from tools.selection import boards as B

def _app_entries(app: Path, freeze_main: bool) -> List[Tuple[str, Path, Optional[Tuple[str, ...]]]]:
    """How to freeze APP: (kind, base, files) rows, kind "module" or "package".

    For "module" rows ``base`` is the file; for "package" rows it is the package folder and
    ``files`` its .py files relative to it.
    """
    if not app.exists():
        raise B.BoardError("APP '%s' does not exist; point APP at your app folder or module." % app)
    if app.is_file():
        if app.suffix != ".py":
            raise B.BoardError("APP '%s' is not a .py file or a folder." % app)
        if app.name in B.BOOT_FILES and not freeze_main:
            raise B.BoardError(
                "APP '%s' is a %s; pass FREEZE_MAIN=1 to freeze it (a frozen %s cannot be "
                "overridden from the filesystem)." % (app, app.name, app.name)
            )
        return [("module", app, None)]

    def pkg_files(folder: Path) -> Tuple[str, ...]:
        return tuple(
            sorted(
                p.relative_to(folder).as_posix()
                for p in folder.rglob("*.py")
                if "__pycache__" not in p.parts
                and not any(part.startswith(".") for part in p.relative_to(folder).parts)
            )
        )

    rows: List[Tuple[str, Path, Optional[Tuple[str, ...]]]] = []
    if (app / "__init__.py").is_file():
        rows.append(("package", app, pkg_files(app)))
        if freeze_main:
            if not (app / "main.py").is_file():
                raise B.BoardError("FREEZE_MAIN is set but APP '%s' has no main.py." % app)
            rows.append(("module", app / "main.py", None))
        return rows
    for entry in sorted(app.iterdir()):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_file() and entry.suffix == ".py":
            if entry.name in B.BOOT_FILES and not freeze_main:
                continue
            rows.append(("module", entry, None))
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            rows.append(("package", entry, pkg_files(entry)))
    if freeze_main and not (app / "main.py").is_file():
        raise B.BoardError("FREEZE_MAIN is set but APP '%s' has no main.py." % app)
    if not rows:
        raise B.BoardError(
            "APP '%s' has no modules to freeze besides main.py/boot.py; pass FREEZE_MAIN=1 to "
            "freeze main.py (it then cannot be overridden from the filesystem)." % app
        )
    return rows


def app_sources(app: Union[str, Path], freeze_main: bool = False) -> List[Tuple[Path, str]]:
    """The (source, module path) pairs of the user's app."""
    out: List[Tuple[Path, str]] = []
    for kind, base, files in _app_entries(Path(app).resolve(), freeze_main):
        if kind == "module":
            out.append((base, base.name))
        else:
            out.extend((base / f, "%s/%s" % (base.name, f)) for f in files or ())
    return out


def frozen_sources(
    board: Union[B.Board, str],
    extensions: B.Requested,
    app: Union[str, Path, None] = None,
    freeze_main: bool = False,
    root: Union[str, Path, None] = None,
) -> List[Tuple[Path, str]]:
    """Every .py file of ours the build freezes for ``board``: (source path, module path).

    Core first, then the extensions in name order, then the app. Raises :class:`~tools.selection.boards.BoardError`
    when a fragment names a file that is not on disk.
    """
    b = B.load_board(board, root)
    root = B._root(root) if root is not None else b.root
    names = B.resolve_extensions(b, extensions, root)
    # As the build reads them: with FREEZE_MAIN the board manifest passes app_main=True
    # (manifest_text), and the wifi fragment then leaves its own main.py out.
    fragments = B.load_fragments(root, **app_main_option(app, freeze_main))
    out: List[Tuple[Path, str]] = []
    seen: Dict[str, str] = {}
    for name in [B.CORE] + names:
        frag = fragments[name]
        for source, target in frag.files:
            if not source.is_file():
                if ".cache" in source.parts:
                    hint = " Run `make setup` to fetch it."
                elif name == B.CORE:
                    hint = " The framework is incomplete; restore it."
                else:
                    hint = " Add it, or leave '%s' out of EXTENSIONS." % name
                raise B.BoardError(
                    "Fragment '%s' freezes '%s', which does not exist.%s"
                    % (name, B._rel(source), hint)
                )
            if target in seen:
                if seen[target] == name:
                    continue
                raise B.BoardError(
                    "Fragments '%s' and '%s' both freeze '%s'; keep it in one."
                    % (seen[target], name, target)
                )
            seen[target] = name
            out.append((source, target))
    if app is not None:
        kit = list(seen)
        for source, target in app_sources(app, freeze_main):
            top = target.split("/")[0]
            clash = [t for t in kit if t.split("/")[0] == top]
            if clash:
                raise B.BoardError(
                    "APP module '%s' clashes with the kit's '%s'; rename it in your app."
                    % (target, clash[0])
                )
            seen[target] = "app"
            out.append((source, target))
    return out


def _relpath(target: Path, start: Path) -> str:
    return Path(os.path.relpath(str(target), str(start))).as_posix()


def app_main_option(app: Union[str, Path, None], freeze_main: bool) -> Dict[str, bool]:
    """The option the board manifest passes to the fragments when the app brings its own frozen
    main.py (the wifi fragment then freezes none of its own)."""
    return {"app_main": True} if app is not None and freeze_main else {}


def manifest_text(
    board: Union[B.Board, str],
    extensions: B.Requested,
    dest: Union[str, Path],
    app: Union[str, Path, None] = None,
    freeze_main: bool = False,
    root: Union[str, Path, None] = None,
) -> str:
    """The text :func:`write_manifest` writes (paths relative to ``dest``'s folder)."""
    b = B.load_board(board, root)
    root = B._root(root) if root is not None else b.root
    names = B.resolve_extensions(b, extensions, root)
    here = Path(dest).resolve().parent
    lines = [
        "# Generated by tools/manifest/frozen.py for board %s - do not edit; `make firmware` rewrites it." % b.name,
        "# Pass it to the MicroPython build as FROZEN_MANIFEST. Paths are relative to this file.",
        "# Frozen: %s." % ", ".join(["core"] + names),
        'include("%s", extensions=(%s)%s)'
        % (_relpath(b.manifest, here), "".join('"%s", ' % n for n in names).rstrip(" "),
           "".join(", %s=%r" % kv for kv in app_main_option(app, freeze_main).items())),
    ]
    if app is not None:
        lines.append("")
        lines.append("# The app (APP=%s)%s." % (app, ", main.py included" if freeze_main else ""))
        for kind, base, files in _app_entries(Path(app).resolve(), freeze_main):
            if kind == "module":
                lines.append('module("%s", base_path="%s")' % (base.name, _relpath(base.parent, here)))
            else:
                lines.append(
                    'package("%s", files=(%s), base_path="%s")'
                    % (
                        base.name,
                        "".join('"%s", ' % f for f in files or ()).rstrip(" "),
                        _relpath(base.parent, here),
                    )
                )
    return "\n".join(lines) + "\n"


def write_manifest(
    board: Union[B.Board, str],
    extensions: B.Requested,
    dest: Union[str, Path],
    app: Union[str, Path, None] = None,
    freeze_main: bool = False,
    root: Union[str, Path, None] = None,
) -> Path:
    """Write the top-level manifest (FROZEN_MANIFEST) to ``dest`` atomically; return its path.

    Checks first that every file it would freeze exists, so a bad selection leaves no file.
    """
    dest = Path(dest).resolve()
    frozen_sources(board, extensions, app, freeze_main, root)
    text = manifest_text(board, extensions, dest, app, freeze_main, root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=str(dest.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, str(dest))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return dest


def manifest_vars(board: Union[B.Board, str], micropy_dir: Union[str, Path]) -> Dict[str, str]:
    """The $(...) variables MicroPython's build gives a manifest for ``board``."""
    b = B.load_board(board)
    mpy = Path(micropy_dir).resolve()
    return {
        "MPY_DIR": str(mpy),
        "MPY_LIB_DIR": str(mpy / "lib" / "micropython-lib"),
        "PORT_DIR": str(b.port_dir(mpy)),
        "BOARD_DIR": str(b.board_dir(mpy)),
    }
