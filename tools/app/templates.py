"""Precompile utemplate templates into Python modules (for frozen or read-only apps).

``python -m tools.app.templates DIR`` compiles every template file in DIR (e.g. ``index.html``)
with utemplate's compiler into a module named after it (``index_html.py``), next to it or
in ``--output``. Freeze or copy those modules as a package named like the template
directory and load them on the device without any filesystem writes::

    from utemplate import compiled
    from microdot.utemplate import Template
    Template.initialize('templates', loader_class=compiled.Loader)

Every template is compiled (and the result checked to be valid Python) before any file
is written, and each file is written to a temporary name then renamed, so a bad template
leaves the output directory untouched.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / ".cache" / "vendor"

#: Files in a template directory that are not templates.
SKIP_SUFFIXES = (".py", ".pyc", ".mpy")


class TemplatesError(Exception):
    """A template could not be compiled, as one sentence saying what to do."""


def _utemplate_source():
    try:
        from utemplate import source
    except ImportError:
        if str(VENDOR) not in sys.path and (VENDOR / "utemplate").is_dir():
            sys.path.append(str(VENDOR))
        try:
            from utemplate import source
        except ImportError:
            raise TemplatesError("The 'utemplate' package is not available; run 'make setup'.")
    return source


def module_name(template: str) -> str:
    """The module a template compiles to, as utemplate's loaders import it: ``a.html`` -> ``a_html``."""
    return template.replace(".", "_")


def template_files(template_dir: Path) -> List[str]:
    """Names of the template files directly inside ``template_dir`` (sorted)."""
    template_dir = Path(template_dir)
    if not template_dir.is_dir():
        raise TemplatesError("Template directory '%s' does not exist." % template_dir)
    names = []
    for entry in sorted(template_dir.iterdir()):
        if not entry.is_file() or entry.name.startswith(".") or entry.name.endswith(SKIP_SUFFIXES):
            continue
        names.append(entry.name)
    seen: Dict[str, str] = {}
    for name in names:
        mod = module_name(name)
        if not mod.isidentifier():
            raise TemplatesError(
                "Template '%s' cannot be imported as module '%s'; rename it to letters, digits, "
                "'_' and '.' only." % (name, mod))
        if mod in seen:
            raise TemplatesError("Templates '%s' and '%s' both compile to '%s.py'; rename one of them."
                                 % (seen[mod], name, mod))
        seen[mod] = name
    return names


def compile_template(template_dir: Path, name: str) -> str:
    """Compile one template with utemplate and return the module's source code."""
    source = _utemplate_source()
    loader = source.Loader(None, str(template_dir))
    out = io.StringIO()
    try:
        with loader.input_open(name) as f_in:
            compiler = source.Compiler(f_in, out, loader=loader)
            compiler.compile()
    except UnicodeDecodeError:
        raise TemplatesError("Template '%s' is not valid UTF-8 text." % name)
    except OSError as exc:
        raise TemplatesError("Template '%s' could not be read: %s." % (name, exc.strerror or exc))
    except (AssertionError, IndexError, ValueError, AttributeError):
        raise TemplatesError(
            "Template '%s' has a tag utemplate cannot parse (unclosed '{%%' or '{{', or an "
            "'end'/'else' without its block); fix the template." % name)
    if len(compiler.stack) > 1:
        raise TemplatesError("Template '%s' has an unclosed '{%% %s %%}' block; add its '{%% end%s %%}'."
                             % (name, compiler.stack[-1], compiler.stack[-1]))
    code = out.getvalue()
    try:
        compile(code, module_name(name) + ".py", "exec")
    except SyntaxError as exc:
        raise TemplatesError("Template '%s' compiles to invalid Python (%s, line %s of the "
                             "generated module); check its {%% %%} and {{ }} tags." % (name, exc.msg, exc.lineno))
    return code


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, str(path))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def compile_dir(template_dir: Path, output: Optional[Path] = None) -> List[Path]:
    """Compile every template in ``template_dir`` into ``output`` (default: the same directory).

    Returns the written module paths. Nothing is written unless every template compiles.
    """
    template_dir = Path(template_dir)
    output = Path(output) if output is not None else template_dir
    names = template_files(template_dir)
    if not names:
        raise TemplatesError("No templates found in '%s'." % template_dir)
    compiled = [(name, compile_template(template_dir, name)) for name in names]
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TemplatesError("Output directory '%s' could not be created: %s." % (output, exc.strerror or exc))
    written = []
    for name, code in compiled:
        path = output / (module_name(name) + ".py")
        try:
            _write_atomic(path, code)
        except OSError as exc:
            raise TemplatesError("Could not write '%s': %s." % (path, exc.strerror or exc))
        written.append(path)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.app.templates",
        description="Compile utemplate templates into Python modules for utemplate.compiled.Loader.")
    parser.add_argument("template_dir", metavar="DIR", help="directory holding the templates")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="where to write the modules (default: DIR itself)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)
    try:
        written = compile_dir(Path(args.template_dir), Path(args.output) if args.output else None)
    except TemplatesError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    if not args.quiet:
        for path in written:
            print("compiled %s" % path)
        print("%d template(s) compiled; load them with "
              "Template.initialize(loader_class=compiled.Loader)." % len(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
