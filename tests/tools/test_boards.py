"""Boards, extension selection, frozen_sources and write_manifest (tools/selection/boards.py)."""
import json
import os
import re
from pathlib import Path

import pytest

from tests.tools.kit_tree import CONTRACT, make_tree
from tools.selection import boards as B

from tools.manifest import frozen as M
REQUIRED = [
    "ESP32_C3_QEMU",
    "ESP32_GENERIC",
    "ESP32_GENERIC_C3",
    "ESP32_GENERIC_C6",
    "ESP32_GENERIC_S3",
    "ESP32_QEMU",
    "QEMU_MPS2_AN385",
    "RPI_PICO2_W",
    "RPI_PICO_W",
    "UNIX",
]
MICROPY_DIR = os.environ.get("MICROPY_DIR")
needs_checkout = pytest.mark.skipif(
    not MICROPY_DIR, reason="set MICROPY_DIR to a MicroPython v1.28.0 checkout to run this"
)


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path)


# -- boards ----------------------------------------------------------------------------------


def test_every_required_board_loads():
    assert B.board_names() == REQUIRED
    for name in REQUIRED:
        b = B.load_board(name)
        assert b.name == name
        assert b.path == B.BOARDS_DIR / name
        assert b.manifest.is_file()
        assert b.port in B.PORTS
        assert set(b.extensions) <= set(B.known_extensions())


def test_board_fields_follow_the_port():
    for b in B.load_boards():
        if b.port == "esp32":
            assert b.chip and b.flash_offset and b.firmware == "firmware.bin"
            variant = "-" + b.variant if b.variant else ""
            assert b.build_output == "build-%s%s/firmware.bin" % (b.board, variant)
            assert b.board == b.name
        elif b.port == "rp2":
            assert b.chip is None and b.flash_offset is None and b.firmware == "firmware.uf2"
            assert b.build_output == "build-%s/firmware.uf2" % b.board
        elif b.port == "qemu":
            assert b.chip is None and b.flash_offset is None and b.firmware == "firmware.elf"
            assert b.build_output == "build-%s/firmware.elf" % b.board
            assert "test_client" in b.extensions  # the board exists to run in-process tests
        else:
            assert (b.board, b.variant, b.app_partition_size, b.mpy_cross_args) == (None, "standard", None, ["-march=x64"])
            assert b.build_output == "build-standard/micropython"


def test_unknown_board_lists_known_ones():
    with pytest.raises(B.BoardError) as exc:
        B.load_board("ESP8266_GENERIC")
    assert str(exc.value) == "Unknown board 'ESP8266_GENERIC'. Known boards: %s." % ", ".join(REQUIRED)


def test_broken_board_json_is_one_clear_error(tree):
    path = tree / "boards" / "ESP32_GENERIC" / "board.json"
    data = json.loads(path.read_text())
    data["name"] = "OTHER"
    path.write_text(json.dumps(data))
    with pytest.raises(B.BoardError, match="must match its folder 'ESP32_GENERIC'"):
        B.load_board("ESP32_GENERIC", tree)
    del data["chip"]
    data["name"] = "ESP32_GENERIC"
    path.write_text(json.dumps(data))
    with pytest.raises(B.BoardError, match="lacks the field.*chip"):
        B.load_board("ESP32_GENERIC", tree)
    path.write_text("{not json")
    with pytest.raises(B.BoardError, match="Cannot read"):
        B.load_board("ESP32_GENERIC", tree)


def test_boards_cli_prints_a_table(capsys):
    assert B.main([]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["BOARD", "PORT", "CHIP", "DEFAULT", "EXTENSIONS"]
    for b in B.load_boards():
        row = next(l for l in lines if l.split()[:1] == [b.name])
        assert b.port in row.split() and b.mcu.split()[0] in row
        assert row.endswith(" ".join(b.extensions))
    assert "Extensions: " + ", ".join(B.known_extensions()) in out


def test_boards_cli_json(capsys):
    assert B.main(["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data] == REQUIRED
    assert data[0] == json.loads((B.BOARDS_DIR / data[0]["name"] / "board.json").read_text())


# -- values checked against upstream MicroPython -----------------------------------------------


def _cmake_set(text, name):
    m = re.search(r"set\(%s\s+([^)]*)\)" % name, text)
    return m.group(1).strip().strip('"') if m else None


def _kit_partition_table(mpy, b):
    """The partition table the kit's build of ``b`` uses: a board from MicroPython's folder with
    a ROMFS area gets the port's partitions-4MiB-romfs.csv (tools/build/esp32.py ROMFS_TABLE),
    a board folder of the kit names its own (KIT_PARTITION_TABLE in its variant's cmake),
    else MicroPython's board's own."""
    from tools.build import esp32 as E32
    port = mpy / "ports" / "esp32"
    if b.board_dir_name is None and b.romfs_size:
        return port / E32.ROMFS_TABLE
    if b.board_dir_name is not None:
        cmake = b.path / b.board_dir_name / ("mpconfigvariant_%s.cmake" % b.variant)
        name = _cmake_set(cmake.read_text(), "KIT_PARTITION_TABLE") if cmake.is_file() else None
        if name:
            return port / name.replace("${CMAKE_CURRENT_LIST_DIR}", str(cmake.parent))
    return _esp32_partition_table(mpy, b.base_board or b.board)


def _esp32_board_cmake(mpy, folder):
    """An esp32 board's mpconfigboard.cmake with the files it includes inlined where they are
    included (MicroPython after v1.28.0 moved IDF_TARGET and SDKCONFIG_DEFAULTS into
    boards/mpconfigboard_<chip>_common.cmake, relative to ports/esp32)."""
    port = mpy / "ports" / "esp32"
    return re.sub(r"^include\((\S+\.cmake)\)", lambda m: (port / m.group(1)).read_text(),
                  (folder / "mpconfigboard.cmake").read_text(), flags=re.M)


def _esp32_partition_table(mpy, board):
    port = mpy / "ports" / "esp32"
    cmake = _esp32_board_cmake(mpy, port / "boards" / board)
    defaults = re.search(r"set\(SDKCONFIG_DEFAULTS(.*?)\)", cmake, re.S).group(1).split()
    table = None
    for d in defaults:
        for line in (port / d).read_text().splitlines():
            if line.startswith("CONFIG_PARTITION_TABLE_CUSTOM_FILENAME="):
                table = line.split("=", 1)[1].strip('"')
    return port / table


@needs_checkout
def test_board_json_matches_upstream():
    mpy = Path(MICROPY_DIR)
    common = (mpy / "ports/esp32/esp32_common.cmake").read_text()
    assert "set(MICROPY_CROSS_FLAGS -march=xtensawin)" in common
    assert "set(MICROPY_CROSS_FLAGS -march=rv32imc)" in common
    rp2_cmake = (mpy / "ports/rp2/CMakeLists.txt").read_text()
    rp2_flags = dict(
        re.findall(r'PICO_PLATFORM\}\s+STREQUAL\s+"([^"]+)"\)\s+set\(MICROPY_CROSS_FLAGS "([^"]+)"\)', rp2_cmake)
    )
    # pico-sdk's boards/include/boards/pico_w.h and pico2_w.h (the SDK is not in the checkout).
    flash = {"RPI_PICO_W": 2 * 1024 * 1024, "RPI_PICO2_W": 4 * 1024 * 1024}
    for b in B.load_boards():
        if b.port == "unix":
            assert (mpy / "ports/unix/variants" / b.variant / "manifest.py").is_file()
            continue
        if b.port == "qemu":
            mk = (b.board_dir(mpy) / "mpconfigboard.mk").read_text()
            from tools.targets.qemu_arm import machine_name
            assert re.search(r"^QEMU_MACHINE = %s$" % machine_name(b), mk, re.M)
            assert "MPY_CROSS_FLAGS += %s" % " ".join(b.mpy_cross_args) in mk
            assert "-mcpu=%s" % b.mcu.lower() in mk
            continue
        upstream = b.board_dir(mpy) if b.base_board is None else mpy / "ports" / b.port / "boards" / b.base_board
        meta = json.loads((upstream / "board.json").read_text())
        if b.port == "esp32":
            assert meta["mcu"] == b.chip
            assert int(meta["deploy_options"]["flash_offset"], 16) == int(b.flash_offset, 16)
            target = _cmake_set(_esp32_board_cmake(mpy, upstream), "IDF_TARGET") or "esp32"
            assert target == b.chip
            arch = "-march=rv32imc" if target in ("esp32c3", "esp32c6") else "-march=xtensawin"
            assert b.mpy_cross_args == [arch]
            rows = [
                [c.strip() for c in l.split(",")]
                for l in _kit_partition_table(mpy, b).read_text().splitlines()
                if l.strip() and not l.startswith("#")
            ]
            factory = [r for r in rows if r[1] == "app"]
            assert len(factory) == 1
            assert b.app_partition_size == int(factory[0][4], 16), b.name
            romfs = [int(r[4], 16) for r in rows if r[0] == "romfs" and r[2] == "0x8f"]
            if b.romfs_size is not None or b.board_dir_name is None:  # ESP32_C3_QEMU: docs/romfs.md
                assert b.romfs_size == (romfs[0] if romfs else None), b.name
        else:
            assert meta["mcu"] == b.mcu.lower()
            variant = upstream / "mpconfigvariant.cmake"
            platform = _cmake_set(variant.read_text(), "PICO_PLATFORM") if variant.is_file() else "rp2040"
            platform = {"rp2350": "rp2350-arm-s"}.get(platform, platform)
            assert b.mpy_cross_args == rp2_flags[platform].split()
            header = (upstream / "mpconfigboard.h").read_text()
            storage = re.search(r"MICROPY_HW_FLASH_STORAGE_BYTES\s+\((.*)\)\s*$", header, re.M).group(1)
            storage = storage.replace("PICO_FLASH_SIZE_BYTES", str(flash[b.name]))
            # the ROMFS area (MICROPY_HW_ROMFS_BYTES, tools/build/rp2.py) lies below the filesystem
            assert b.app_partition_size == flash[b.name] - eval(storage, {}) - (b.romfs_size or 0)


# -- extension selection ---------------------------------------------------------------------


def test_known_extensions_and_bundles():
    assert B.known_extensions() == [
        "auth", "cors", "csrf", "login", "multipart", "ota", "pubsub", "session", "sse", "static",
        "test_client", "utemplate", "websocket", "wifi",
    ]
    assert B.bundle_names() == ["full", "minimal"]


@pytest.mark.parametrize(
    "requested, expected",
    [
        (None, ["cors", "session", "sse", "websocket", "wifi"]),
        ("websocket sse", ["sse", "websocket"]),
        ("websocket,sse", ["sse", "websocket"]),
        (" sse ,  websocket\tcors ", ["cors", "sse", "websocket"]),
        (["sse", "websocket"], ["sse", "websocket"]),
        ("", []),
        ("none", []),
        ([], []),
        ("core", []),
        ("login", ["cors", "login", "session"]),  # login requires session, which requires cors
        ("minimal", ["wifi"]),
        ("sse sse", ["sse"]),
    ],
)
def test_resolve_extensions(requested, expected):
    assert B.resolve_extensions(B.load_board("ESP32_GENERIC"), requested) == expected


def test_full_bundle_is_every_extension():
    assert B.resolve_extensions("UNIX", "full") == B.known_extensions()
    assert B.resolve_extensions("UNIX", None) == B.known_extensions()


def test_unknown_extension_fails_with_the_valid_names():
    with pytest.raises(B.BoardError) as exc:
        B.resolve_extensions("RPI_PICO_W", "websocket jinja")
    assert str(exc.value) == (
        "Unknown extension 'jinja'. Valid extensions: %s. Bundles: full, minimal."
        % ", ".join(B.known_extensions())
    )


def test_unknown_default_in_board_json_names_the_file(tree):
    path = tree / "boards" / "RPI_PICO_W" / "board.json"
    data = json.loads(path.read_text())
    data["extensions"] = ["websockets"]
    path.write_text(json.dumps(data))
    with pytest.raises(B.BoardError, match=r"Unknown extension 'websockets'.*board 'RPI_PICO_W' \(board.json\)"):
        B.resolve_extensions(B.load_board("RPI_PICO_W", tree))


def test_dependencies_come_from_the_fragments(tree):
    # Take cors out of csrf's fragment in the fake tree: the selection follows the manifests.
    frag = tree / "manifests" / "csrf" / "manifest.py"
    frag.write_text(frag.read_text().replace('require("cors", library="microdot")\n', ""))
    assert B.resolve_extensions("ESP32_GENERIC", "csrf", tree) == ["csrf"]
    assert B.resolve_extensions("ESP32_GENERIC", "csrf", None) == ["cors", "csrf"]


# -- frozen_sources --------------------------------------------------------------------------


def test_frozen_sources_lists_core_then_extensions(tree):
    src = tree / "src"
    got = M.frozen_sources("ESP32_GENERIC", "login wifi", root=tree)
    core = [(src / "microdot" / f, "microdot/" + f) for f in CONTRACT["core"]]
    assert got == core + [
        (src / "microdot/cors.py", "microdot/cors.py"),
        (src / "microdot/login.py", "microdot/login.py"),
        (src / "microdot/session.py", "microdot/session.py"),
        (src / "kit/kitnet.py", "kitnet.py"),
        (src / "kit/kitportal.py", "kitportal.py"),
        (src / "kit/kitdns.py", "kitdns.py"),
        (src / "kit/kitstart.py", "kitstart.py"),
        (src / "kit/kitsafe.py", "kitsafe.py"),
        (src / "kit/kitlog.py", "kitlog.py"),
        (src / "kit/kitboot/boot.py", "boot.py"),
        (src / "kit/kitboot/main.py", "main.py"),
    ]


def test_an_app_frozen_with_its_main_replaces_the_kits_main(tree, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("print('mine')\n")
    (app / "helper.py").write_text("X = 1\n")
    got = M.frozen_sources("ESP32_GENERIC", "wifi", app=app, freeze_main=True, root=tree)
    mains = [s for s, t in got if t == "main.py"]
    assert [m.resolve() for m in mains] == [(app / "main.py").resolve()]  # the app's, not the kit's
    assert "boot.py" in [t for _, t in got]  # the kit's boot.py stays
    text = M.manifest_text("ESP32_GENERIC", "wifi", tmp_path / "m.py", app=app, freeze_main=True, root=tree)
    assert "app_main=True" in text.splitlines()[3]
    # Without FREEZE_MAIN the kit's main.py is frozen and the app's is not.
    got = M.frozen_sources("ESP32_GENERIC", "wifi", app=app, root=tree)
    assert [s for s, t in got if t == "main.py"] == [tree / "src" / "kit" / "kitboot" / "main.py"]
    assert "app_main" not in M.manifest_text("ESP32_GENERIC", "wifi", tmp_path / "m.py", app=app, root=tree)


def test_frozen_sources_utemplate_includes_the_package(tree):
    got = [t for _, t in M.frozen_sources("UNIX", "utemplate", root=tree)]
    assert got[len(CONTRACT["core"]):] == [
        "microdot/utemplate.py",
        "utemplate/__init__.py",
        "utemplate/compiled.py",
        "utemplate/recompile.py",
        "utemplate/source.py",
    ]


def test_missing_module_is_a_clear_error(tree):
    (tree / "src" / "microdot" / "sse.py").unlink()
    with pytest.raises(B.BoardError) as exc:
        M.frozen_sources("ESP32_GENERIC", "sse", root=tree)
    assert "Fragment 'sse' freezes" in str(exc.value) and "sse.py', which does not exist." in str(exc.value)
    assert "leave 'sse' out of EXTENSIONS" in str(exc.value)
    assert M.frozen_sources("ESP32_GENERIC", "websocket", root=tree)  # others still fine


def test_missing_vendored_utemplate_says_run_setup(tree):
    (tree / ".cache" / "vendor" / "utemplate" / "source.py").unlink()
    with pytest.raises(B.BoardError, match=r"utemplate/source.py', which does not exist. Run `make setup`"):
        M.frozen_sources("UNIX", "utemplate", root=tree)


def _app(tmp_path, files):
    app = tmp_path / "myapp"
    for name, text in files.items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text(text)
    return app


def test_app_modules_are_frozen_but_main_only_on_request(tree, tmp_path):
    app = _app(
        tmp_path,
        {"main.py": "import views\n", "views.py": "X = 1\n", "lib/__init__.py": "", "lib/db.py": "Y = 2\n",
         "static/index.html": "<p>hi</p>", "notes.txt": "x"},
    )
    got = [t for _, t in M.frozen_sources("ESP32_GENERIC", "none", app=app, root=tree)]
    assert got[len(CONTRACT["core"]):] == ["lib/__init__.py", "lib/db.py", "views.py"]
    got = [t for _, t in M.frozen_sources("ESP32_GENERIC", "none", app=app, freeze_main=True, root=tree)]
    assert got[len(CONTRACT["core"]):] == ["lib/__init__.py", "lib/db.py", "main.py", "views.py"]


def test_app_with_only_main_needs_freeze_main(tree, tmp_path):
    app = _app(tmp_path, {"main.py": "print(1)\n"})
    with pytest.raises(B.BoardError, match="pass FREEZE_MAIN=1"):
        M.frozen_sources("ESP32_GENERIC", "none", app=app, root=tree)
    got = M.frozen_sources("ESP32_GENERIC", "none", app=app, freeze_main=True, root=tree)
    assert got[-1] == (app / "main.py", "main.py")


def test_app_package_and_clash(tree, tmp_path):
    app = _app(tmp_path, {"__init__.py": "", "routes.py": "R = 1\n"})
    got = [t for _, t in M.frozen_sources("ESP32_GENERIC", "none", app=app, root=tree)]
    assert got[len(CONTRACT["core"]):] == ["myapp/__init__.py", "myapp/routes.py"]
    clash = _app(tmp_path / "other", {"kitnet.py": "X = 1\n"})
    with pytest.raises(B.BoardError, match="APP module 'kitnet.py' clashes with the kit's 'kitnet.py'"):
        M.frozen_sources("ESP32_GENERIC", "wifi", app=clash, root=tree)
    with pytest.raises(B.BoardError, match="does not exist"):
        M.frozen_sources("ESP32_GENERIC", "none", app=tmp_path / "nope", root=tree)


# -- write_manifest ----------------------------------------------------------------------------


def test_write_manifest_uses_relative_paths(tree, tmp_path):
    app = _app(tmp_path, {"main.py": "", "views.py": ""})
    dest = tree / "firmware" / "ESP32_GENERIC" / ".build" / "manifest.py"
    out = M.write_manifest("ESP32_GENERIC", "sse login", dest, app=app, freeze_main=True, root=tree)
    assert out == dest
    text = dest.read_text()
    assert 'include("../../../boards/ESP32_GENERIC/manifest.py", extensions=("cors", "login", "session", "sse",), app_main=True)' in text
    assert 'module("main.py", base_path="../../../../myapp")' in text
    assert 'module("views.py", base_path="../../../../myapp")' in text
    for path in re.findall(r'"([^"]*/[^"]*)"', text):
        assert not path.startswith("/"), path
    assert os.listdir(str(dest.parent)) == ["manifest.py"]  # no temp file left behind


def test_write_manifest_leaves_nothing_on_bad_input(tree):
    dest = tree / "firmware" / "X" / "manifest.py"
    with pytest.raises(B.BoardError):
        M.write_manifest("ESP32_GENERIC", "bogus", dest, root=tree)
    (tree / "src" / "microdot" / "cors.py").unlink()
    with pytest.raises(B.BoardError):
        M.write_manifest("ESP32_GENERIC", None, dest, root=tree)
    assert not dest.parent.exists()
    dest.parent.mkdir(parents=True)
    dest.write_text("old\n")
    with pytest.raises(B.BoardError):
        M.write_manifest("ESP32_GENERIC", "cors", dest, root=tree)
    assert dest.read_text() == "old\n"


def test_manifest_vars_point_into_the_checkout(tmp_path):
    v = M.manifest_vars("RPI_PICO2_W", tmp_path)
    assert v == {
        "MPY_DIR": str(tmp_path),
        "MPY_LIB_DIR": str(tmp_path / "lib" / "micropython-lib"),
        "PORT_DIR": str(tmp_path / "ports" / "rp2"),
        "BOARD_DIR": str(tmp_path / "ports" / "rp2" / "boards" / "RPI_PICO2_W"),
    }
    assert M.manifest_vars("UNIX", tmp_path)["BOARD_DIR"] == str(tmp_path / "ports/unix/variants/standard")
