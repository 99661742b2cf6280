"""tools/selection/appdeps.py: an app's kit imports read with ast; and on MicroPython, a module deployed to
/lib/microdot/ beside the "firmware's" microdot package is found (src/microdot/__init__.py)."""
import subprocess
from pathlib import Path

import pytest

from tools.selection import appdeps as A
from tools.targets import virtual as V

ROOT = Path(__file__).resolve().parents[2]


def test_imports_every_form_and_optional_ones(tmp_path):
    app = tmp_path / "app"
    (app / "mylib").mkdir(parents=True)
    (app / "host").mkdir()
    (app / "main.py").write_text("from microdot import Microdot, sse\nimport mylib.views\n"
                                 "try:\n    import microdot.static\nexcept ImportError:\n    pass\n")
    (app / "mylib" / "__init__.py").write_text("")
    (app / "mylib" / "views.py").write_text("def f():\n    from microdot.multipart import with_form_data\n")
    (app / "host" / "machine.py").write_text("import microdot.auth\n")  # stand-ins are never scanned
    n = A.needs(app)
    assert n.fragments == ["core", "multipart", "sse"]
    assert n.modules["microdot.multipart"] == "mylib/views.py:2"
    (app / "main.py").write_text("from microdot.login import Login\n")
    # login requires session, which requires cors
    assert A.needs(app).fragments == ["core", "cors", "login", "multipart", "session"]


def test_relative_imports_resolve_in_the_package_they_are_in():
    source = "from . import cors\nfrom .helpers import wraps\nfrom .. import up\nfrom .x import *\n"
    names = [(i.name, i.maybe_attr) for i in A.imports_in(source, "m.py", "microdot")]
    assert names == [("microdot.cors", True), ("microdot.helpers", False),
                     ("microdot.helpers.wraps", True), ("microdot.x", False)]
    assert A.imports_in(source, "m.py") == []  # an app's relative imports stay inside the app
    assert A.with_packages("microdot.cors") == ["microdot.cors", "microdot"]


def test_cpython_only_and_unknown_modules_are_one_line_errors(tmp_path):
    (tmp_path / "main.py").write_text("import os\nfrom microdot.jinja import Template\n")
    with pytest.raises(A.AppDepsError, match=r"^main.py:2 imports microdot.jinja, which only runs on CPython"):
        A.needs(tmp_path)
    (tmp_path / "main.py").write_text("import microdot.nope\n")
    with pytest.raises(A.AppDepsError, match=r"^main.py:1 imports microdot.nope, which the kit does not have"):
        A.needs(tmp_path)


def test_missing_files_against_a_firmware():
    n = A.needs(ROOT / "examples" / "websocket")
    has = [A.module_name(t) for _, t in A.fragment_files(A.firmware_fragments("ESP32_GENERIC"))]
    assert [t for _, t in A.missing_files(n, has)] == ["microdot/pubsub.py"]
    assert "microdot/__init__.py" in [t for _, t in A.missing_files(n, [])]  # stock MicroPython


def test_a_module_beside_the_firmware_package_imports_on_micropython(tmp_path):
    try:
        mp = V.find_micropython()
        mpy_cross = V.find_mpy_cross()
    except V.VirtualError as exc:
        pytest.skip(str(exc))
    fw, lib = tmp_path / "fw", tmp_path / "lib"
    for source, target in A.fragment_files(["core", "cors"]):
        V._compile(mpy_cross, source, target, fw / (target[:-3] + ".mpy"))
    for source, target in A.fragment_files(["csrf", "login", "session", "pubsub"]):
        V._compile(mpy_cross, source, target, lib / (target[:-3] + ".mpy"))
    code = ("from microdot.login import Login\nimport microdot.pubsub\nfrom microdot import csrf\n"
            "import microdot, sys\nprint(microdot.pubsub.PubSub.__name__, csrf.CSRF.__name__, Login.__name__)\n"
            "print(sys.modules['microdot.session'].__file__)\n"
            "try:\n    import microdot.nope\nexcept ImportError:\n    print('nope missing')\n")
    out = subprocess.run([mp, "-c", code], cwd=str(tmp_path), capture_output=True, text=True, timeout=60,
                         env={"MICROPYPATH": ".frozen:%s:%s" % (fw, lib)})
    lines = out.stdout.splitlines()
    assert lines[:3] == ["PubSub CSRF Login", str(lib / "microdot" / "session.mpy"), "nope missing"], out
    # without the folder beside it, the firmware's package alone cannot import them
    out = subprocess.run([mp, "-c", "import microdot.pubsub"], cwd=str(tmp_path), capture_output=True,
                         text=True, timeout=60, env={"MICROPYPATH": ".frozen:%s" % fw})
    assert "no module named 'microdot.pubsub'" in out.stdout + out.stderr


def test_start_up_scripts_are_never_probed_or_copied():
    # deploy imports each candidate module to see whether the firmware has it: importing the
    # kit's boot.py or main.py would run them (main.py serves; the probe would never return).
    files = [t for _, t in A.fragment_files(["core", "wifi", "ota"])]
    assert "kitnet.py" in files and "kitota.py" in files and "kitstart.py" in files
    assert "boot.py" not in files and "main.py" not in files
    n = A.Needs(app=ROOT / "examples" / "hello", fragments=["core", "wifi"])
    missing = [t for _, t in A.missing_files(n, [])]  # a stock board: everything is copied...
    assert "kitnet.py" in missing and "boot.py" not in missing and "main.py" not in missing  # ...but these
