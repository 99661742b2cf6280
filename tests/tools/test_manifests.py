"""The manifest fragments (manifests/) and board manifests (boards/*/manifest.py).

The fragment file lists must match the modules on disk in both directions, so a new module
cannot be forgotten and a fragment cannot name a file that is gone.
"""
import ast
import os
import re
import sys
from pathlib import Path

import pytest

from tests.tools.kit_tree import CONTRACT, UTEMPLATE, make_tree
from tools.selection import boards as B

from tools.manifest import frozen as M
MICROPY_DIR = os.environ.get("MICROPY_DIR")
needs_checkout = pytest.mark.skipif(
    not MICROPY_DIR, reason="set MICROPY_DIR to a MicroPython v1.28.0 checkout to run this"
)


def _calls(path):
    """Top-level manifest calls in order: [(name, args, kwargs)] (literal arguments only)."""
    tree = ast.parse(path.read_text(), str(path))
    out = []
    body = []
    for node in tree.body:
        # `if options.<name>:` around module()/package() is micropython-lib's way (aioble's
        # manifest) of letting the including manifest leave a file out; its calls count in place.
        if isinstance(node, ast.If) and isinstance(node.test, (ast.Attribute, ast.UnaryOp)) and not node.orelse:
            test = node.test.operand if isinstance(node.test, ast.UnaryOp) else node.test
            if isinstance(test, ast.Attribute) and getattr(test.value, "id", None) == "options":
                body.extend(node.body)
                continue
        body.append(node)
    for node in body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            name = call.func.id if isinstance(call.func, ast.Name) else "attribute-call"
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
            out.append((name, args, kwargs))
        elif not isinstance(node, ast.For):
            out.append((type(node).__name__, [], {}))
    return out


# -- the real tree -----------------------------------------------------------------------------


def test_fragment_names():
    assert B.fragment_names() == sorted(["core", "full", "minimal", "ota", "wifi"] + [n for n in CONTRACT if n != "core"])


@pytest.mark.parametrize("name", B.fragment_names())
def test_fragment_is_micropython_lib_style(name):
    calls = _calls(B.MANIFESTS_DIR / name / "manifest.py")
    kinds = [c[0] for c in calls]
    assert kinds[0] == "metadata", "metadata() must come first"
    assert kinds.count("metadata") == 1
    meta = calls[0][2]
    assert meta["description"] and meta["license"] == "MIT"
    pyproject = (B.ROOT / "pyproject.toml").read_text()
    assert meta["version"] == re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    # metadata, then package()/module(), then add_library()/require(): nothing else, in that order.
    order = {"metadata": 0, "package": 1, "module": 1, "add_library": 2, "require": 2}
    assert set(kinds) <= set(order), kinds
    assert [order[k] for k in kinds] == sorted(order[k] for k in kinds)
    for kind, args, kwargs in calls:
        if kind in ("package", "module"):
            assert "$(" not in kwargs.get("base_path", ".") and not kwargs.get("base_path", ".").startswith("/")
        if kind == "package":
            assert "files" in kwargs, "list files explicitly so a new module is a conscious choice"
        if kind == "require":
            assert kwargs == {"library": "microdot"}, "the kit needs nothing from micropython-lib"


def test_fragment_files_are_the_contract():
    frags = B.load_fragments()
    for name, files in CONTRACT.items():
        targets = [t for _, t in frags[name].files if t.startswith("microdot/")]
        assert targets == ["microdot/" + f for f in files], name
    assert [t for _, t in frags["wifi"].files] == ["kitnet.py", "kitportal.py", "kitdns.py", "kitstart.py", "kitsafe.py",
                                                 "kitlog.py", "boot.py", "main.py"]
    assert [t for _, t in frags["ota"].files] == ["kitota.py"]
    assert [t for _, t in frags["utemplate"].files][1:] == ["utemplate/" + f for f in UTEMPLATE]
    assert frags["utemplate"].files[1][0] == B.ROOT / ".cache/vendor/utemplate/__init__.py"
    assert not frags["full"].files and not frags["minimal"].files
    assert frags["login"].requires == ["core", "session"]
    for name, frag in frags.items():
        assert frag.external == [], "%s needs nothing from micropython-lib" % name
        if name != "core":
            assert "core" in frag.requires


def test_fragments_match_modules_on_disk():
    """Both directions: every module on disk is frozen by one fragment (or is CPython-only),
    and every file a fragment names exists."""
    assert B.audit() == []


def test_board_manifest_defaults_match_board_json():
    for b in B.load_boards():
        text = b.manifest.read_text()
        m = re.search(r"options\.defaults\(extensions=(\([^)]*\))\)", text)
        assert m, b.name
        assert list(ast.literal_eval(m.group(1))) == b.extensions, b.name
        first = _calls(b.manifest)[0]
        assert first[0] == "include"
        expected = {
            "esp32": "$(PORT_DIR)/boards/manifest.py",
            "rp2": "$(BOARD_DIR)/manifest.py",  # upstream's board manifest includes the port one
            "unix": "$(PORT_DIR)/variants/manifest.py",
            "qemu": "$(MPY_DIR)/extmod/asyncio",  # the port's default is a test fixture: asyncio only
        }[b.port]
        assert first[1] == [expected], b.name


# -- audit on fake trees: it catches what it must ----------------------------------------------


def test_audit_clean_fake_tree(tmp_path):
    assert B.audit(make_tree(tmp_path)) == []


def test_audit_finds_a_forgotten_module(tmp_path):
    root = make_tree(tmp_path)
    (root / "src" / "microdot" / "graphql.py").write_text("X = 1\n")
    assert B.audit(root) == [
        "'src/microdot/graphql.py' is in no manifest fragment; add it to one in manifests/ "
        "(or to NEVER_FROZEN in tools/selection/boards.py if it cannot run on MicroPython)."
    ]


def test_audit_finds_a_listed_file_that_is_gone(tmp_path):
    root = make_tree(tmp_path)
    (root / "src" / "microdot" / "pubsub.py").unlink()
    (root / "src" / "kit" / "kitnet.py").unlink()
    problems = B.audit(root)
    assert len(problems) == 2
    assert problems[0].startswith("Fragment 'pubsub' lists '") and problems[0].endswith("src/microdot/pubsub.py', which is not on disk.")
    assert problems[1].startswith("Fragment 'wifi' lists '") and "src/kit/kitnet.py'" in problems[1]


def test_audit_finds_double_and_cpython_only_freezing(tmp_path):
    root = make_tree(tmp_path)
    frag = root / "manifests" / "cors" / "manifest.py"
    frag.write_text(frag.read_text().replace('files=("cors.py",)', 'files=("cors.py", "sse.py", "wsgi.py")'))
    problems = B.audit(root)
    assert "'microdot/sse.py' is frozen by both 'cors' and 'sse'." in problems
    assert "Fragment 'cors' freezes 'microdot/wsgi.py', which only runs on CPython." in problems


def test_audit_finds_an_extension_missing_from_full(tmp_path):
    root = make_tree(tmp_path)
    (root / "manifests" / "mqtt").mkdir()
    (root / "manifests" / "mqtt" / "manifest.py").write_text(
        'metadata(description="x", version="0.1.0")\n'
        'package("microdot", files=("mqtt.py",), base_path="../../src")\n'
        'add_library("microdot", "..")\nrequire("core", library="microdot")\n'
    )
    (root / "src" / "microdot" / "mqtt.py").write_text("X = 1\n")
    assert B.audit(root) == ["The 'full' bundle does not require extension 'mqtt'."]


@pytest.mark.parametrize(
    "body, message",
    [
        ('package("microdot", files=("a.py",), base_path="../../src")\n', "before metadata()"),
        ('metadata(version="1")\nmetadata(version="2")\n', "only once"),
        ('metadata(version="1")\ninclude("../core")\n', "calls include()"),
        ('metadata(version="1")\nmodule("x.py", base_path="$(MPY_DIR)")\n', "relative to themselves"),
        ('metadata(version="1")\nrequire("core", library="microdot")\n', "before add_library()"),
        ('metadata(version="1")\nadd_library("microdot", "..")\nrequire("nope", library="microdot")\n',
         "requires 'nope', which is not in manifests/"),
        ('metadata(version="1")\nfreeze("x")\n', "legacy"),
        ('metadata(version="1"\n', "SyntaxError"),
    ],
)
def test_broken_fragment_is_one_clear_error(tmp_path, body, message):
    root = make_tree(tmp_path)
    (root / "manifests" / "broken").mkdir()
    (root / "manifests" / "broken" / "manifest.py").write_text(body)
    with pytest.raises(B.BoardError, match=re.escape(message)) as exc:
        B.load_fragment("broken", root)
    assert "\n" not in str(exc.value)
    assert B.audit(root) == [str(exc.value)]


# -- MicroPython's own manifest tooling ----------------------------------------------------------


def _manifestfile():
    sys.path.insert(0, str(Path(MICROPY_DIR) / "tools"))
    try:
        import manifestfile
    finally:
        sys.path.pop(0)
    return manifestfile


def _evaluate(manifest, board):
    mf = _manifestfile()
    m = mf.ManifestFile(mf.MODE_FREEZE, M.manifest_vars(board, MICROPY_DIR))
    cwd = os.getcwd()
    try:
        m.execute(str(manifest))
    finally:
        os.chdir(cwd)
    return {f.target_path: Path(f.full_path) for f in m.files()}


#: Modules each board's stock manifest freezes that must survive FROZEN_MANIFEST.
STOCK = {
    "esp32": ["_boot.py", "inisetup.py", "asyncio/__init__.py", "asyncio/core.py", "neopixel.py", "mip/__init__.py"],
    "rp2": ["_boot.py", "rp2.py", "asyncio/__init__.py", "aioble/__init__.py", "mip/__init__.py"],
    "unix": ["asyncio/__init__.py", "asyncio/core.py", "uasyncio.py", "mip/__init__.py", "ssl.py"],
    "qemu": ["asyncio/__init__.py", "asyncio/core.py", "asyncio/task.py"],  # no _asyncio C module
}


def _stock_frozen_by_upstream(board):
    """What the upstream default manifest for this board freezes on its own."""
    mpy = Path(MICROPY_DIR)
    if board.port == "unix":
        default = mpy / "ports/unix/variants" / board.variant / "manifest.py"
    elif board.port == "qemu":
        # the port's default FROZEN_MANIFEST is its test fixture; what the board keeps is asyncio
        frozen = _evaluate(mpy / "extmod/asyncio/manifest.py", board)
        frozen["asyncio/task.py"] = mpy / "extmod/asyncio/task.py"
        return frozen
    else:
        own = board.board_dir(mpy) / "manifest.py"
        default = own if own.is_file() else mpy / "ports" / board.port / "boards/manifest.py"
    return _evaluate(default, board)


@needs_checkout
@pytest.mark.parametrize("name", B.board_names())
def test_write_manifest_keeps_stock_modules_and_adds_the_kit(tmp_path, name):
    root = make_tree(tmp_path)
    board = B.load_board(name, root)
    dest = root / "firmware" / name / ".build" / "manifest.py"
    M.write_manifest(board, "full", dest, root=root)
    frozen = _evaluate(dest, board)
    for target in STOCK[board.port]:
        assert target in frozen, target
    upstream = _stock_frozen_by_upstream(board)
    assert set(upstream) <= set(frozen)  # every stock module is still there
    ours = M.frozen_sources(board, "full", root=root)
    assert {t: s for s, t in ours}.items() <= frozen.items()
    assert set(frozen) - set(upstream) == {t for _, t in ours}  # and nothing else was added


@needs_checkout
def test_board_manifest_with_defaults_evaluates(tmp_path):
    """boards/<B>/manifest.py used directly as FROZEN_MANIFEST freezes the board.json defaults."""
    root = make_tree(tmp_path)
    for board in B.load_boards(root):
        frozen = _evaluate(board.manifest, board)
        for _, target in M.frozen_sources(board, None, root=root):
            assert target in frozen, (board.name, target)
        assert "microdot/jinja.py" not in frozen


@needs_checkout
def test_real_tree_manifest_evaluates_for_the_modules_that_exist(tmp_path):
    available = [
        n for n in B.known_extensions()
        if all(s.is_file() for s, _ in B.load_fragment(n).files)
    ]
    dest = tmp_path / "manifest.py"
    M.write_manifest("UNIX", available, dest)
    frozen = _evaluate(dest, B.load_board("UNIX"))
    assert "microdot/microdot.py" in frozen and "asyncio/__init__.py" in frozen
