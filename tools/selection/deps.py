"""An extension's dependencies, read from its code and checked against its fragment's require()s.

The one home of "which fragment needs which": the imports of the modules a fragment freezes, as
:mod:`tools.selection.appdeps` reads them with ``ast`` (at any depth: an import inside a function
fails when that function runs, so it counts), each mapped to the fragment that freezes the module
it names (:func:`tools.selection.appdeps.module_index`; importing ``microdot.cors`` also imports
the package ``microdot``). The rules, as :func:`check` applies them:

* **error** - a fragment imports a module of another fragment that its ``require()`` lines do
  not bring in, directly or through the fragments they require. Built alone, that extension
  gives an image where the import fails with ImportError.
* **error** - a fragment imports a ``microdot.X`` that no fragment freezes (and that is not one of
  the CPython-only modules in :data:`tools.selection.boards.NEVER_FROZEN`, which a frozen
  module may import on CPython only, e.g. ``microdot.base`` takes ``microdot.compat`` there).
* **warning** - a fragment requires one that none of its modules imports. It only costs flash,
  and some requires are real run-time needs that no import shows (``login`` works on the
  app's ``Session``; ``ota`` is reached over the network ``wifi`` brings up): such a line says
  why in a comment, ``require("session", library="microdot")  # not imported: ...``, and is
  then not reported. The core (every fragment must require it) and the bundles (``full``,
  ``minimal``: they freeze nothing themselves) are never reported.

Imports inside ``try: ... except ImportError`` are optional: they need nothing (a module that
works without ``kitota`` may still use it). Imports of modules the kit does not freeze
(``network``, ``asyncio``) are MicroPython's business, not the fragments'.

``python -m tools.selection.deps`` prints each fragment's needs and the problems; ``make check``
(:mod:`tools.manifest.check`) fails on the errors.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from tools.selection import appdeps as A
from tools.selection import boards as B


@dataclass
class Use:
    """One import of another fragment's module by a fragment's module."""

    module: A.Module  # the importing module
    name: str  # the dotted name of the other fragment's module it imports (a package too)
    line: int
    fragment: str  # the fragment that freezes ``name``


@dataclass
class Needs:
    """What one fragment's modules import from the other fragments."""

    fragment: str
    hard: Dict[str, Use] = field(default_factory=dict)  # fragment -> first import of it
    optional: Dict[str, Use] = field(default_factory=dict)  # fragment -> first guarded import
    unknown: List[Use] = field(default_factory=list)  # microdot.X that no fragment freezes


@dataclass
class Result:
    errors: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


def fragment_needs(root: Union[str, Path, None] = None) -> Dict[str, Needs]:
    """Each fragment's imports of other fragments, read from the modules it freezes."""
    fragments = B.load_fragments(root)
    index = A.module_index(root)
    cpython_only = A.never_frozen()
    out: Dict[str, Needs] = {}
    for frag in fragments.values():
        needs = out[frag.name] = Needs(frag.name)
        for _, target in frag.files:
            mod = index[A.module_name(target)]
            if mod.fragment != frag.name:
                continue  # frozen by two fragments: boards.audit() reports it
            if not mod.source.is_file():
                continue  # a missing file: frozen_sources() reports it when it is selected
            try:
                imports = A.module_imports(mod)
            except (A.AppDepsError, OSError, UnicodeDecodeError):
                continue  # does not parse: mpy-cross says where when a selection compiles it
            for imp in imports:
                if imp.name in cpython_only:
                    continue
                if imp.name not in index:
                    if not imp.optional and not imp.maybe_attr and imp.name.startswith(B.LIBRARY + "."):
                        needs.unknown.append(Use(mod, imp.name, imp.line, ""))
                    continue
                for name in A.with_packages(imp.name):
                    if name not in index or index[name].fragment == frag.name:
                        continue
                    use = Use(mod, name, imp.line, index[name].fragment)
                    (needs.optional if imp.optional else needs.hard).setdefault(use.fragment, use)
    return out


def _require_line(name: str) -> str:
    return 'require("%s", library="%s")' % (name, B.LIBRARY)


def _in_kit(path: Path, root: Union[str, Path, None]) -> str:
    """'manifests/session/manifest.py': a path as the kit's own folders name it."""
    try:
        return path.resolve().relative_to(B._root(root)).as_posix()
    except ValueError:
        return B._rel(path)


def check(root: Union[str, Path, None] = None) -> Result:
    """The fragments' require() lines against their modules' imports (see the module doc)."""
    result = Result()
    try:
        fragments = B.load_fragments(root)
    except B.BoardError as exc:
        result.errors.append(str(exc))
        return result
    all_needs = fragment_needs(root)
    for name in sorted(all_needs):
        frag, needs = fragments[name], all_needs[name]
        manifest = _in_kit(frag.path, root)
        brought = set(B._closure(frag.requires, fragments))
        for dep in sorted(needs.hard):
            if dep in brought:
                continue
            use = needs.hard[dep]
            result.errors.append(
                "Fragment '%s' freezes %s, which imports %s at line %d (fragment '%s'); add %s to %s."
                % (name, use.module.target, use.name, use.line, dep, _require_line(dep), manifest))
        for use in needs.unknown:
            result.errors.append(
                "Fragment '%s' freezes %s, which imports %s at line %d, but no fragment freezes it; "
                "add src/%s.py to a fragment in manifests/ or remove the import."
                % (name, use.module.target, use.name, use.line, use.name.replace(".", "/")))
        if frag.is_bundle:
            continue
        for dep in frag.requires:
            if dep == B.CORE or dep in needs.hard or dep in frag.notes:
                continue
            result.warnings.append(
                "Fragment '%s' requires '%s', but none of its modules imports it; remove the "
                "require() from %s, or say why it stays with a '%s ...' comment on its line."
                % (name, dep, manifest, B.NOT_IMPORTED))
    return result


def describe(root: Union[str, Path, None] = None) -> List[str]:
    """One line per fragment: what it requires, and which of its imports need what."""
    fragments = B.load_fragments(root)
    lines = []
    for name, needs in sorted(fragment_needs(root).items()):
        frag = fragments[name]
        parts = ["requires %s" % (", ".join(frag.requires) or "nothing")]
        if needs.hard:
            parts.append("imports " + ", ".join(
                "%s (%s)" % (dep, needs.hard[dep].name) for dep in sorted(needs.hard)))
        if needs.optional:
            parts.append("optionally " + ", ".join(
                "%s (%s)" % (dep, needs.optional[dep].name) for dep in sorted(needs.optional)))
        for dep, why in sorted(frag.notes.items()):
            parts.append("%s: %s" % (dep, why))
        lines.append("%-12s %s" % (name, "; ".join(parts)))
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.selection.deps",
        description="Check each fragment's require() lines against its modules' imports.")
    parser.add_argument("--root", default=None, help="project root (default: this checkout)")
    args = parser.parse_args(argv)
    try:
        for line in describe(args.root):
            print(line)
        result = check(args.root)
    except B.BoardError as exc:  # the one error type of the selection step
        print("error: %s" % exc, file=sys.stderr)
        return 1
    for warning in result.warnings:
        print("warning: %s" % warning, file=sys.stderr)
    for error in result.errors:
        print("error: %s" % error, file=sys.stderr)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
