"""tools/selection/deps.py: each fragment requires what its modules import - checked on the real
fragments, shown to catch a missing require() (in a temp copy of the kit), and proven by
importing every extension alone on MicroPython: staged on the virtual board (the unix port,
nothing else on the path) and, with MICROPY_DIR, frozen into a real UNIX build."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.manifest import frozen as M
from tools.selection import appdeps as A
from tools.selection import boards as B
from tools.selection import deps as D
from tools.targets import virtual as V

from tests.tools.kit_tree import make_tree

ROOT = Path(__file__).resolve().parents[2]
MICROPY_DIR = os.environ.get("MICROPY_DIR", "")
EXTENSIONS = B.known_extensions()
SESSION_FIX = ('Fragment \'session\' freezes microdot/session.py, which imports microdot.cors at line %d '
               '(fragment \'cors\'); add require("cors", library="microdot") to manifests/session/manifest.py.')


def _edit(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def _line_of(path, needle):
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# --------------------------------------------------------------------------------------------
# The real fragments


def test_the_kits_fragments_require_what_their_modules_import():
    result = D.check()
    assert result.errors == [] and result.warnings == []


def test_session_csrf_and_login_bring_cors_with_them():
    for name in ("session", "csrf", "login"):
        assert "cors" in B.resolve_extensions(None, name), name
    assert B.resolve_extensions(None, "login") == ["cors", "login", "session"]
    assert B.resolve_extensions(None, "test_client") == ["test_client", "websocket"]


def test_needs_are_read_from_the_code():
    needs = D.fragment_needs()
    assert needs["session"].hard["cors"].name == "microdot.cors"
    assert needs["session"].hard["cors"].module.target == "microdot/session.py"
    # test_client imports microdot.websocket inside functions only: that still counts.
    assert needs["test_client"].hard["websocket"].name == "microdot.websocket"
    assert "session" not in needs["login"].hard  # login's require says why it stays
    assert B.load_fragment("login").notes["session"]


def test_readme_needs_column_agrees_with_the_fragments():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Extensions", 1)[1].split("\n\n", 2)[1]
    fragments = B.load_fragments()
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        name = re.match(r"`(\w+)`", cells[0]).group(1)
        if name in fragments:
            rows[name] = cells[2]
    assert sorted(rows) == EXTENSIONS  # every extension has its row
    for name, needs in rows.items():
        declared = sorted(r for r in fragments[name].requires if r != B.CORE)
        assert needs == (", ".join(declared) or "-"), name


def test_cli_lists_each_fragments_needs():
    proc = subprocess.run([sys.executable, "-m", "tools.selection.deps"], cwd=str(ROOT),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    session = next(l for l in proc.stdout.splitlines() if l.startswith("session "))
    assert "requires core, cors" in session and "cors (microdot.cors)" in session


# --------------------------------------------------------------------------------------------
# A missing require() is caught (temp copies of the kit)


@pytest.fixture
def real_kit(tmp_path):
    """boards/, manifests/, src/ and the vendored utemplate, as they are now."""
    kit = tmp_path / "kit"
    for name in ("boards", "manifests", "src", ".cache/vendor"):
        if (ROOT / name).is_dir():
            shutil.copytree(str(ROOT / name), str(kit / name),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return kit


def test_make_check_fails_with_one_line_when_a_require_is_missing(real_kit):
    manifest = real_kit / "manifests" / "session" / "manifest.py"
    _edit(manifest, 'require("cors", library="microdot")\n', "")
    line = _line_of(real_kit / "src" / "microdot" / "session.py", "microdot.cors")
    assert D.check(real_kit).errors == [SESSION_FIX % line]
    proc = subprocess.run(
        [sys.executable, "-m", "tools.manifest.check", "--board", "UNIX", "--root", str(real_kit)],
        cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == ["error: " + SESSION_FIX % line]
    # Put back, the same copy passes the check.
    _edit(manifest, 'require("core", library="microdot")\n',
          'require("core", library="microdot")\nrequire("cors", library="microdot")\n')
    assert D.check(real_kit).errors == []


def test_a_require_met_through_another_fragment_is_enough(real_kit):
    # login requires session, which requires cors: login may import microdot.cors.
    _edit(real_kit / "src" / "microdot" / "login.py", "import time\n", "import time\nimport microdot.cors\n")
    assert D.check(real_kit).errors == []


@pytest.fixture
def fake_kit(tmp_path):
    """The small fake framework of kit_tree, whose modules import nothing: so no fragment but
    the bundles requires more than the core (until a test says otherwise)."""
    kit = make_tree(tmp_path)
    for frag in B.load_fragments(kit).values():
        if not frag.is_bundle:
            _requires(kit, frag.name)
    assert _problems(kit) == ([], [])
    return kit


def _module(kit, name, text):
    (kit / "src" / "microdot" / name).write_text(text)


def _requires(kit, fragment, *extra):
    path = kit / "manifests" / fragment / "manifest.py"
    text = re.sub(r'(?m)^require\("(?!core")\w+".*\n', "", path.read_text())
    path.write_text(text + "".join(extra))


def _problems(kit):
    result = D.check(kit)
    return result.errors, result.warnings


def test_every_kind_of_import_counts(fake_kit):
    _requires(fake_kit, "csrf")
    cases = {
        "import microdot.cors\n": "microdot.cors",
        "from microdot.cors import NAME\n": "microdot.cors",
        "from microdot import cors\n": "microdot.cors",
        "from . import cors\n": "microdot.cors",
        "from .cors import NAME\n": "microdot.cors",
        "def f():\n    if True:\n        from microdot.cors import NAME\n": "microdot.cors",
        "try:\n    import microdot.cors\nexcept OSError:\n    pass\n": "microdot.cors",
    }
    for source, name in cases.items():
        _module(fake_kit, "csrf.py", "X = 1\n" + source)
        line = 1 + next(n for n, l in enumerate(source.splitlines(), 1) if "cors" in l)
        errors, _ = _problems(fake_kit)
        assert errors == [
            "Fragment 'csrf' freezes microdot/csrf.py, which imports %s at line %d (fragment 'cors'); "
            'add require("cors", library="microdot") to manifests/csrf/manifest.py.' % (name, line)], source


def test_optional_and_own_imports_need_nothing(fake_kit):
    _requires(fake_kit, "csrf")
    for source in (
        "try:\n    import microdot.cors\nexcept ImportError:\n    cors = None\n",
        "def f():\n    try:\n        from microdot.cors import NAME\n    except ImportError:\n        pass\n",
        "from microdot.csrf import NAME\nfrom microdot import NAME\nimport microdot.helpers\n",
        "from microdot import Microdot\n",  # a name of the package, not a module
        "import microdot.asgi\n",  # CPython only, never frozen: not the fragments' business
        "import network\nimport asyncio\n",  # MicroPython's own modules
    ):
        _module(fake_kit, "csrf.py", source)
        assert _problems(fake_kit) == ([], []), source


def test_a_module_no_fragment_freezes_is_an_error(fake_kit):
    _module(fake_kit, "cors.py", "def f():\n    import microdot.gone\n")
    errors, _ = _problems(fake_kit)
    assert errors == [
        "Fragment 'cors' freezes microdot/cors.py, which imports microdot.gone at line 2, but no "
        "fragment freezes it; add src/microdot/gone.py to a fragment in manifests/ or remove the import."]


def test_an_unneeded_require_is_a_warning_unless_the_line_says_why(fake_kit):
    _requires(fake_kit, "sse", 'require("cors", library="microdot")\n')
    errors, warnings = _problems(fake_kit)
    assert errors == []
    assert warnings == [
        "Fragment 'sse' requires 'cors', but none of its modules imports it; remove the require() "
        "from manifests/sse/manifest.py, or say why it stays with a '# not imported: ...' comment "
        "on its line."]
    _requires(fake_kit, "sse", 'require("cors", library="microdot")  # not imported: just because\n')
    assert _problems(fake_kit) == ([], [])
    assert B.load_fragment("sse", fake_kit).notes == {"cors": "just because"}


def test_a_warning_alone_does_not_fail_make_check(fake_kit, capsys):
    from tools.manifest import check as C
    _requires(fake_kit, "sse", 'require("cors", library="microdot")\n')
    C.fragments_agree(fake_kit)
    assert capsys.readouterr().err.startswith("warning: Fragment 'sse' requires 'cors'")


def test_several_missing_requires_give_one_line_each(fake_kit):
    _requires(fake_kit, "session")
    _requires(fake_kit, "csrf")
    _module(fake_kit, "session.py", "import microdot.cors\n")
    _module(fake_kit, "csrf.py", "import microdot.cors\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tools.manifest.check", "--board", "UNIX", "--root", str(fake_kit)],
        cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert [l.split(" freezes ")[0] for l in lines] == ["error: Fragment 'csrf'", "error: Fragment 'session'"]


# --------------------------------------------------------------------------------------------
# Every extension alone imports on MicroPython


def import_names(targets):
    """The modules a selection must import: each staged module (the start-up scripts boot.py and
    main.py would run, so they are left out) and every kit module they import without a guard,
    lazily inside functions too - so a missing require() fails here even when the import only
    runs later."""
    index = A.module_index()
    names = []
    for target in targets:
        if target in B.BOOT_FILES:
            continue
        name = A.module_name(target)
        names.append(name)
        if name in index:
            for imp in A.module_imports(index[name]):
                if not imp.optional and imp.name in index:
                    names.append(imp.name)
    return sorted(set(names))


IMPORT_ALL = """
names = %r
bad = []
for name in names:
    try:
        __import__(name)
    except Exception as exc:
        bad.append('%%s: %%s: %%s' %% (name, type(exc).__name__, exc))
print('IMPORTED %%d' %% (len(names) - len(bad)))
for line in bad:
    print('FAILED ' + line)
"""


def run_imports(argv, names, cwd, env=None):
    proc = subprocess.run(argv + ["-c", IMPORT_ALL % (names,)], cwd=str(cwd), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    return proc.stdout


def stage_alone(extension, tmp_path):
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    (app / "main.py").write_text("print('unused')\n")
    run = tmp_path / "run"
    targets = V.stage("UNIX", app, run, [extension] if extension else [])
    return run / "firmware", targets


def virtual_env(firmware):
    return dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", str(firmware)]))


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_extension_alone_imports_on_the_virtual_board(extension, tmp_path):
    micropython = V.find_micropython()
    firmware, targets = stage_alone(extension, tmp_path)
    assert targets == [t for _, t in M.frozen_sources("UNIX", extension)]
    names = import_names(targets)
    empty = tmp_path / "cwd"
    empty.mkdir()
    out = run_imports([micropython], names, empty, virtual_env(firmware))
    assert "FAILED" not in out and "IMPORTED %d" % len(names) in out, out


def test_the_virtual_board_has_nothing_but_the_selection(tmp_path):
    # The test above can fail: session staged without cors (what its fragment gave before it
    # required cors) does not import - the bug users of EXTENSIONS="websocket sse session" hit.
    micropython = V.find_micropython()
    firmware, targets = stage_alone("session", tmp_path)
    assert "microdot/cors.py" in targets
    (firmware / "microdot" / "cors.mpy").unlink()
    empty = tmp_path / "cwd"
    empty.mkdir()
    out = run_imports([micropython], ["microdot.sse", "microdot.session"], empty, virtual_env(firmware))
    assert "FAILED microdot.sse: ImportError" in out, out  # not staged: nothing else on the path
    assert "FAILED microdot.session: ImportError: no module named 'microdot.cors'" in out, out


# --------------------------------------------------------------------------------------------
# Every extension alone frozen into a real UNIX build (MICROPY_DIR)


def checkout_problem():
    from tools.build import checkout as T

    if not MICROPY_DIR:
        return "MICROPY_DIR is not set (point it at a MicroPython v1.28.0 checkout)"
    if not (Path(MICROPY_DIR) / "py" / "mpconfig.h").is_file():
        return "MICROPY_DIR=%s is not a MicroPython checkout" % MICROPY_DIR
    missing = T.missing_submodules(B.load_board("UNIX"), Path(MICROPY_DIR))
    if missing:
        return "MICROPY_DIR=%s lacks %s" % (MICROPY_DIR, ", ".join(missing))
    missing = T.missing_tools(B.load_board("UNIX"))
    if missing:
        return "the host lacks %s for a native unix build" % ", ".join(missing)
    return None


@pytest.fixture(scope="module")
def unix_builder(tmp_path_factory):
    """Builds the UNIX board natively with one selection at a time, in private copies of the kit
    and of the checkout (its build folder is not shared with other builds running at once)."""
    problem = checkout_problem()
    if problem:
        pytest.skip(problem)
    from tools.build import run as T

    tmp = tmp_path_factory.mktemp("deps-build")
    kit = tmp / "kit"
    for name in ("boards", "manifests", "src", ".cache/vendor"):
        shutil.copytree(str(ROOT / name), str(kit / name), ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    checkout = tmp / "micropython"
    shutil.copytree(MICROPY_DIR, str(checkout), symlinks=True,
                    ignore=lambda d, names: [n for n in names if n == ".git" or n.startswith("build-")])

    def build(extension):
        lines = []
        path, info = T.build("UNIX", extension or "none", micropy_dir=str(checkout), native=True, root=kit,
                             echo=lines.append)
        return path, info

    return build, tmp


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_extension_alone_imports_from_a_frozen_unix_build(extension, unix_builder):
    build, tmp = unix_builder
    binary, info = build(extension)
    assert info["extensions"] == B.resolve_extensions(None, extension)
    targets = [t for _, t in M.frozen_sources("UNIX", extension)]
    names = import_names(targets)
    empty = tmp / ("cwd-" + extension)
    empty.mkdir()
    out = run_imports([str(binary)], names, empty, dict(os.environ, MICROPYPATH=".frozen"))
    assert "FAILED" not in out and "IMPORTED %d" % len(names) in out, out
