"""ROMFS areas of the stock boards (docs/romfs.md): ESP32_GENERIC (and its OTA build),
ESP32_GENERIC_C3/_S3/_C6 through the esp32 wrapper folder (tools/build/esp32.py: a partition
table with a "romfs" partition, MICROPY_VFS_ROM), RPI_PICO_W / RPI_PICO2_W through an rp2 wrapper
folder (tools/build/rp2.py: MICROPY_HW_ROMFS_BYTES), and the size the tools check images
against (board.json romfs_size / ota_romfs_size, tools/device/romfs.check_area).

The plans and wrapper folders need nothing; the cmake and C preprocessor runs skip without
cmake / gcc; the comparison with MicroPython's own files needs MICROPY_DIR (a v1.28.0 checkout);
the real ESP-IDF configure needs idf.py and KIT_IDF_MICROPY_DIR (docs/romfs.md, "Verified where").
"""
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.build import __main__ as CLI
from tools.build import esp32 as E32
from tools.build import plan as PL
from tools.build import rp2 as RP2
from tools.device import deploy as S
from tools.device import romfs as R
from tools.selection import boards as B

ROOT = Path(__file__).resolve().parents[2]
MICROPY_DIR = os.environ.get("MICROPY_DIR")
needs_checkout = pytest.mark.skipif(not MICROPY_DIR, reason="set MICROPY_DIR to a MicroPython v1.28.0 checkout")
needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason="needs cmake")
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc (C preprocessor)")

ESP32_STOCK = ("ESP32_GENERIC", "ESP32_GENERIC_C3", "ESP32_GENERIC_S3", "ESP32_GENERIC_C6")
RP2_STOCK = ("RPI_PICO_W", "RPI_PICO2_W")
#: pico-sdk's boards/include/boards/pico_w.h and pico2_w.h (PICO_FLASH_SIZE_BYTES).
RP2_FLASH = {"RPI_PICO_W": 2 * 1024 * 1024, "RPI_PICO2_W": 4 * 1024 * 1024}
MIB4 = 4 * 1024 * 1024


def board(name):
    return B.load_board(name)


def table_rows(path):
    """(name, type, subtype, offset, size) of a partition csv."""
    rows = []
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            c = [x.strip() for x in line.split(",")]
            rows.append((c[0], c[1], c[2], int(c[3], 16), int(c[4], 16)))
    return rows


def check_layout(rows, flash=MIB4):
    """Partitions in order, none overlapping, all inside the flash; the romfs one has subtype
    0x8f (what esp32_partition.c looks up by name and MicroPython's tables use)."""
    end = 0x9000  # after the bootloader and the partition table
    for name, _, _, offset, size in rows:
        assert offset >= end, name
        assert offset % 0x1000 == 0 and size % 0x1000 == 0, name
        end = offset + size
    assert end <= flash
    romfs = [r for r in rows if r[0] == "romfs"]
    assert len(romfs) == 1 and romfs[0][1:3] == ("data", "0x8f")
    return romfs[0]


# -- the facts ---------------------------------------------------------------------------------


def test_every_stock_board_has_a_romfs_area_and_the_app_room_left():
    for name in ESP32_STOCK:
        b = board(name)
        assert b.board_dir_name is None  # built from MicroPython's folder, through the wrapper
        # MicroPython's partitions-4MiB-romfs.csv: the 0x1F0000 app partition of
        # partitions-4MiBplus.csv split into 0x1D0000 of app and 128 KiB of ROMFS
        assert (b.app_partition_size, b.romfs_size) == (0x1D0000, 0x20000)
        assert b.app_partition_size + b.romfs_size == 0x1F0000
    for name in RP2_STOCK:
        b = board(name)
        assert b.romfs_size and b.romfs_size % 4096 == 0  # rp2_flash.c's static_assert
    assert (board("RPI_PICO_W").romfs_size, board("RPI_PICO2_W").romfs_size) == (128 * 1024, 256 * 1024)
    assert B.romfs_area(board("ESP32_GENERIC"), ota=True) == 256 * 1024
    assert B.romfs_area(board("ESP32_GENERIC_C3"), ota=True) is None  # no OTA variant
    assert B.romfs_area(board("ESP32_QEMU")) is None  # its own folder, MicroPython's table


def test_the_kits_ota_table_matches_board_json():
    b = board("ESP32_GENERIC")
    rows = table_rows(ROOT.joinpath("boards", *E32.OTA_ROMFS_TABLE))
    romfs = check_layout(rows)
    slots = [r for r in rows if r[1] == "app"]
    assert [r[2] for r in slots] == ["ota_0", "ota_1"]
    assert {r[4] for r in slots} == {b.ota_app_partition_size}
    assert any(r[1:3] == ("data", "ota") for r in rows)  # otadata: the bootloader's choice and rollback
    assert romfs[4] == b.ota_romfs_size
    assert romfs[3] == slots[-1][3] + slots[-1][4]  # right after ota_1


@needs_checkout
def test_the_ports_romfs_table_matches_board_json():
    """The default build's table is MicroPython's own; board.json follows it (and stays
    MicroPython's OTA table's slots plus the ROMFS area for the kit's OTA table)."""
    port = Path(MICROPY_DIR) / "ports" / "esp32"
    rows = table_rows(port / E32.ROMFS_TABLE)
    romfs = check_layout(rows)
    app = [r for r in rows if r[1] == "app"]
    for name in ESP32_STOCK:
        b = board(name)
        assert [r[4] for r in app] == [b.app_partition_size] and romfs[4] == b.romfs_size
    ota = table_rows(port / "partitions-4MiB-ota.csv")
    assert table_rows(ROOT.joinpath("boards", *E32.OTA_ROMFS_TABLE))[:len(ota)] == ota


# -- the esp32 wrapper folder ------------------------------------------------------------------


def kit_root(tmp_path):
    """A project root with the kit's files the wrapper names (boards/)."""
    root = tmp_path / "kit"
    shutil.copytree(str(ROOT / "boards"), str(root / "boards"))
    return root


def test_the_esp32_wrapper_names_the_romfs_table_and_turns_vfs_rom_on(tmp_path):
    root = kit_root(tmp_path)
    for name in ESP32_STOCK:
        files = E32.wrapper_files(board(name), root)
        assert "${CMAKE_SOURCE_DIR}/partitions-4MiB-romfs.csv" in files["mpconfigvariant.cmake"]
        assert "sdkconfig.kit_romfs" in files["mpconfigvariant.cmake"]
        assert files["mpconfigboard.h"].rstrip().endswith("#define MICROPY_VFS_ROM (1)")
    ota = E32.ota_board(board("ESP32_GENERIC"), None, "1.28.0")
    files = E32.wrapper_files(ota, root)
    variant = files["mpconfigvariant_OTA.cmake"]
    # MicroPython's OTA variant first (it names partitions-4MiB-ota.csv), the kit's table after it
    assert variant.index("mpconfigvariant_OTA.cmake)") < variant.index("partitions-4MiB-ota-romfs.csv")
    rel = re.search(r'"\$\{CMAKE_CURRENT_LIST_DIR\}/([^"]+)"', variant).group(1)
    assert (E32.wrapper_dir(ota, root) / rel).resolve() == root.joinpath("boards", *E32.OTA_ROMFS_TABLE).resolve()
    # another variant keeps MicroPython's table (D2WD has 2 MiB of flash): no area, no VFS_ROM
    spiram = E32.with_variant(board("ESP32_GENERIC"), "SPIRAM")
    files = E32.wrapper_files(spiram, root)
    assert "romfs" not in files["mpconfigvariant_SPIRAM.cmake"] and "VFS_ROM" not in files["mpconfigboard.h"]
    # a board without romfs_size gets the wrapper as before
    plain = dataclasses.replace(board("ESP32_GENERIC_S3"), romfs_size=None)
    assert "romfs" not in "".join(E32.wrapper_files(plain, root).values())


@needs_cmake
def test_the_esp32_wrapper_hands_esp_idf_the_table_last(tmp_path):
    """cmake reads the wrapper as ports/esp32/CMakeLists.txt does (board, then variant); the
    sdkconfig file it writes is the last of SDKCONFIG_DEFAULTS and names the table by an
    absolute path (so it wins over MicroPython's own and works in Docker too)."""
    root = kit_root(tmp_path)
    port = tmp_path / "mp" / "ports" / "esp32"
    up = port / "boards" / "ESP32_GENERIC"
    up.mkdir(parents=True)
    (up / "mpconfigboard.cmake").write_text("set(SDKCONFIG_DEFAULTS boards/sdkconfig.base)\n")
    (up / "mpconfigvariant_OTA.cmake").write_text(
        "set(SDKCONFIG_DEFAULTS ${SDKCONFIG_DEFAULTS} boards/ESP32_GENERIC/sdkconfig.ota)\n")
    build = tmp_path / "build"
    build.mkdir()
    driver = port / "driver.cmake"
    driver.write_text(
        "set(CMAKE_SOURCE_DIR %s)\nset(CMAKE_BINARY_DIR %s)\n"
        "include(${MICROPY_BOARD_DIR}/mpconfigboard.cmake)\n"
        "if(NOT MICROPY_BOARD_VARIANT)\n  include(${MICROPY_BOARD_DIR}/mpconfigvariant.cmake OPTIONAL)\n"
        "else()\n  include(${MICROPY_BOARD_DIR}/mpconfigvariant_${MICROPY_BOARD_VARIANT}.cmake)\nendif()\n"
        "list(GET SDKCONFIG_DEFAULTS -1 last)\nmessage(\"${last}\")\n" % (port.as_posix(), build.as_posix()))
    expected = {None: port / "partitions-4MiB-romfs.csv",
                "OTA": root.joinpath("boards", *E32.OTA_ROMFS_TABLE)}
    for variant, table in expected.items():
        b = board("ESP32_GENERIC") if variant is None else E32.ota_board(board("ESP32_GENERIC"), None, "1.28.0")
        folder = E32.write_wrapper(b, root)
        argv = ["cmake", "-DMICROPY_BOARD_DIR=%s" % folder] + (["-DMICROPY_BOARD_VARIANT=%s" % variant] if variant else [])
        out = subprocess.run(argv + ["-P", str(driver)], cwd=str(port), capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stderr.strip() == str(build / "sdkconfig.kit_romfs")
        conf = dict(l.split("=", 1) for l in (build / "sdkconfig.kit_romfs").read_text().splitlines())
        assert conf["CONFIG_PARTITION_TABLE_CUSTOM"] == "y"
        assert os.path.realpath(conf["CONFIG_PARTITION_TABLE_CUSTOM_FILENAME"].strip('"')) == os.path.realpath(str(table))


IDF_MICROPY_DIR = os.environ.get("KIT_IDF_MICROPY_DIR")


@pytest.mark.skipif(not (IDF_MICROPY_DIR and shutil.which("idf.py") and os.environ.get("IDF_PATH")),
                    reason="set KIT_IDF_MICROPY_DIR to a MicroPython checkout whose esp32 port configures "
                           "offline with the ESP-IDF on PATH (. env.sh of the emulation environment)")
def test_esp_idf_configures_the_wrapper_with_the_romfs_table(tmp_path):
    """A real ESP-IDF configure of ESP32_GENERIC through the wrapper (default and OTA build),
    then its partition table built and read back, and MICROPY_VFS_ROM as main.c sees it."""
    import json
    import shlex
    root = kit_root(tmp_path)
    port = Path(IDF_MICROPY_DIR) / "ports" / "esp32"
    expected = {
        None: [("factory", 0x10000, 0x1D0000), ("romfs", 0x1E0000, 0x20000)],
        "OTA": [("ota_0", 0x10000, 0x180000), ("ota_1", 0x190000, 0x180000), ("romfs", 0x310000, 0x40000)],
    }
    for variant, parts in expected.items():
        b = board("ESP32_GENERIC") if variant is None else E32.ota_board(board("ESP32_GENERIC"), None, "1.28.0")
        folder = E32.write_wrapper(b, root)
        build = tmp_path / ("build-%s" % (variant or "default"))
        argv = ["idf.py", "-C", str(port), "-B", str(build), "-D", "MICROPY_BOARD=ESP32_GENERIC",
                "-D", "MICROPY_BOARD_DIR=%s" % folder] + (["-D", "MICROPY_BOARD_VARIANT=%s" % variant] if variant else [])
        out = subprocess.run(argv + ["reconfigure"], capture_output=True, text=True)
        assert out.returncode == 0, (out.stdout + out.stderr)[-2000:]
        conf = dict(l.split("=", 1) for l in (build / "sdkconfig").read_text().splitlines() if l.startswith("CONFIG_"))
        assert conf["CONFIG_PARTITION_TABLE_CUSTOM"] == "y"
        table = port / E32.ROMFS_TABLE if variant is None else root.joinpath("boards", *E32.OTA_ROMFS_TABLE)
        assert os.path.realpath(conf["CONFIG_PARTITION_TABLE_CUSTOM_FILENAME"].strip('"')) == os.path.realpath(str(table))
        assert conf["CONFIG_LWIP_MAX_SOCKETS"] == "16"  # the kit's settings stay
        out = subprocess.run(["ninja", "-C", str(build), "partition_table_bin"], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout[-2000:]
        gen = Path(os.environ["IDF_PATH"]) / "components" / "partition_table" / "gen_esp32part.py"
        out = subprocess.run([sys.executable, str(gen), str(build / "partition_table" / "partition-table.bin")],
                             capture_output=True, text=True)
        rows = [l.split(",") for l in out.stdout.splitlines() if l and not l.startswith("#")]
        got = {r[0]: (int(r[3], 16), r[4]) for r in rows}
        for name, offset, size in parts:
            assert got[name] == (offset, "%dK" % (size // 1024)), name
        assert [r[2] for r in rows if r[0] == "romfs"] == ["143"]  # 0x8f
        # MICROPY_VFS_ROM with main.c's own flags
        cmd = next(c for c in json.loads((build / "compile_commands.json").read_text())
                   if c["file"].endswith("ports/esp32/main.c"))
        words, flags, skip = shlex.split(cmd["command"]), [], False
        for w in words:
            if skip or w in ("-o", "-c"):
                skip = not skip
                continue
            if not w.endswith("main.c"):
                flags.append(w)
        probe = tmp_path / "probe.c"
        probe.write_text('#include "py/mpconfig.h"\nKIT MICROPY_VFS_ROM MICROPY_VFS_ROM_IOCTL\n')
        out = subprocess.run(flags + ["-E", str(probe)], cwd=cmd["directory"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
        assert [l for l in out.stdout.splitlines() if l.startswith("KIT ")] == ["KIT (1) ((1))"]


def test_build_plans_pass_the_wrapper_and_a_changed_area_resets_the_build(tmp_path, capsys, monkeypatch):
    for name in ("MICROPY_DIR", "MICROPY_VERSION", "IDF_VERSION"):
        monkeypatch.delenv(name, raising=False)
    assert CLI.main(["--board", "ESP32_GENERIC", "--ota", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "BOARD_DIR=/project/firmware/.cache/esp32-boards/ESP32_GENERIC/ESP32_GENERIC BOARD_VARIANT=OTA" in out
    assert CLI.main(["--board", "RPI_PICO2_W", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "make -C /opt/micropython/ports/rp2 " in out
    assert "BOARD_DIR=/project/firmware/.cache/rp2-boards/RPI_PICO2_W/RPI_PICO2_W " in out
    native = PL.make_plan(board("RPI_PICO_W"), [], root=tmp_path, native=True, micropy_dir=tmp_path / "mp")
    assert "BOARD_DIR=%s" % RP2.wrapper_dir(board("RPI_PICO_W"), tmp_path).resolve() in native.steps[1].argv
    # the build folder's signature follows the area (esp32: whether there is one, the kit's table
    # file is hashed too; rp2: its size): another area, another configuration
    for name, size in (("ESP32_GENERIC", None), ("RPI_PICO_W", 2 * 128 * 1024)):
        b = board(name)
        other = dataclasses.replace(b, romfs_size=size)
        port = PL.PORTS[b.port]
        assert port.config_inputs(b) != port.config_inputs(other)
        assert PL.config_signature(PL.make_plan(b, [], root=ROOT)) != PL.config_signature(PL.make_plan(other, [], root=ROOT))


# -- the rp2 wrapper folder --------------------------------------------------------------------


def test_the_rp2_wrapper_reserves_romfs_bytes(tmp_path):
    for name in RP2_STOCK:
        b = board(name)
        folder = RP2.write_wrapper(b, tmp_path)
        assert folder == tmp_path / "firmware" / ".cache" / "rp2-boards" / name / b.board
        names = sorted(p.name for p in folder.iterdir())
        assert names == ["manifest.py", "mpconfigboard.cmake", "mpconfigboard.h", "mpconfigvariant.cmake"]
        header = (folder / "mpconfigboard.h").read_text()
        assert '#include "boards/%s/mpconfigboard.h"' % name in header
        assert "#define MICROPY_HW_ROMFS_BYTES (%d)" % b.romfs_size in header
        cmake = (folder / "mpconfigboard.cmake").read_text()
        assert "include(${MICROPY_PORT_DIR}/boards/%s/mpconfigboard.cmake)" % name in cmake
        assert "set(MICROPY_BOARD_PINS ${MICROPY_PORT_DIR}/boards/%s/pins.csv)" % name in cmake
        # the kit's board manifest includes $(BOARD_DIR)/manifest.py: MicroPython's, through the wrapper
        assert 'include("$(PORT_DIR)/boards/%s/manifest.py")' % name in (folder / "manifest.py").read_text()
        assert 'include("$(BOARD_DIR)/manifest.py")' in b.manifest.read_text()
    none = dataclasses.replace(board("RPI_PICO_W"), romfs_size=None)
    assert RP2.write_wrapper(none, tmp_path / "x") is None and RP2.kit_board_dir(none, tmp_path, None) is None
    assert RP2.write_wrapper(board("ESP32_GENERIC"), tmp_path) is None


@needs_gcc
def test_the_rp2_romfs_area_ends_where_the_filesystem_starts(tmp_path):
    """ports/rp2/rp2_flash.c puts ROMFS at FLASH_STORAGE_BASE - ROMFS_BYTES, the filesystem at
    PICO_FLASH_SIZE_BYTES - FLASH_STORAGE_BYTES: the firmware's room (board.json
    app_partition_size) is what lies before the ROMFS area. The board's header is MicroPython's
    (MICROPY_DIR) or a stand-in with v1.28.0's storage size."""
    stand_in = {"RPI_PICO_W": "(848 * 1024)", "RPI_PICO2_W": "(PICO_FLASH_SIZE_BYTES - 1536 * 1024)"}
    for name in RP2_STOCK:
        b = board(name)
        folder = RP2.write_wrapper(b, tmp_path)
        port = tmp_path / "port" / name
        (port / "boards" / name).mkdir(parents=True)
        if MICROPY_DIR:
            shutil.copy(str(Path(MICROPY_DIR) / "ports/rp2/boards" / name / "mpconfigboard.h"), str(port / "boards" / name))
        else:
            (port / "boards" / name / "mpconfigboard.h").write_text(
                "#define MICROPY_HW_FLASH_STORAGE_BYTES %s\n" % stand_in[name])
        probe = tmp_path / ("%s.c" % name)
        # what ports/rp2/mpconfigport.h and rp2_flash.c make of the board's header
        probe.write_text(
            "#include \"mpconfigboard.h\"\n#ifndef MICROPY_HW_ROMFS_BYTES\n#define MICROPY_HW_ROMFS_BYTES (0)\n#endif\n"
            "#define MICROPY_VFS_ROM (MICROPY_HW_ROMFS_BYTES > 0)\n"
            "#define MICROPY_HW_FLASH_STORAGE_BASE (PICO_FLASH_SIZE_BYTES - MICROPY_HW_FLASH_STORAGE_BYTES)\n"
            "#define MICROPY_HW_ROMFS_BASE (MICROPY_HW_FLASH_STORAGE_BASE - MICROPY_HW_ROMFS_BYTES)\n"
            "KIT MICROPY_HW_ROMFS_BASE, MICROPY_HW_ROMFS_BYTES, MICROPY_VFS_ROM\n")
        argv = ["gcc", "-E", "-P", "-DPICO_FLASH_SIZE_BYTES=%d" % RP2_FLASH[name], "-DCYW43_WL_GPIO_COUNT=3",
                "-I", str(folder), "-I", str(port), str(probe)]
        out = subprocess.run(argv, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        line = [l for l in out.stdout.splitlines() if l.startswith("KIT ")][0]
        base, size, vfs_rom = (eval(x, {}) for x in line[4:].split(", "))
        assert (base, size, bool(vfs_rom)) == (b.app_partition_size, b.romfs_size, True), name


# -- the size the tools check images against ----------------------------------------------------


def test_images_are_checked_against_board_json_area(tmp_path):
    assert R.check_area(128 * 1024, "ESP32_GENERIC") == 128 * 1024  # exactly full fits
    with pytest.raises(R.RomfsError) as err:
        R.check_area(128 * 1024 + 1, "ESP32_GENERIC")
    assert str(err.value).startswith("The ROMFS image is 131073 bytes but the ROMFS area of ESP32_GENERIC's "
                                     "build holds 131072 (over by 1): ")
    assert R.check_area(200 * 1024, "ESP32_GENERIC", ota=True) == 256 * 1024  # the OTA build's area is larger
    with pytest.raises(R.RomfsError) as err:
        R.check_area(200 * 1024, "RPI_PICO_W")
    assert "RPI_PICO_W's build holds 131072" in str(err.value)
    assert R.check_area(300 * 1024, "ESP32_QEMU") is None  # no fact: the board's own check applies
    with pytest.raises(R.RomfsError):
        R.check_area(1, "NO_SUCH_BOARD")


def test_romfs_cli_refuses_an_image_the_area_cannot_hold(tmp_path, capsys, monkeypatch):
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("import helpers\n")
    (app / "helpers.py").write_text("X = 1\n")
    out = tmp_path / "app.romfs"
    assert R.main(["--app", str(app), "--board", "RPI_PICO_W", "--out", str(out)]) == 0
    size = out.stat().st_size
    assert R.header_problem(out.read_bytes()) is None
    # the same image against an area one byte too small: refused in one line, nothing written
    small = dataclasses.replace(board("RPI_PICO_W"), romfs_size=size - 1)
    monkeypatch.setattr(B, "load_board", lambda name, root=None: small)
    out.unlink()
    capsys.readouterr()
    assert R.main(["--app", str(app), "--board", "RPI_PICO_W", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "over by 1" in err and not out.exists()


def test_make_deploy_passes_the_board_for_the_check():
    if shutil.which("make") is None:
        pytest.skip("needs make")
    argv = ["make", "-n", "-C", str(ROOT), "deploy", "ROMFS=1", "BOARD=ESP32_GENERIC", "OTA=1", "STAMP="]
    out = subprocess.run(argv, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    line = [l for l in out.stdout.splitlines() if "tools.device.deploy" in l][0]
    assert line.split()[-4:] == ["--romfs", "--board", "ESP32_GENERIC", "--ota"]
    out = subprocess.run(argv[:5] + ["STAMP="], capture_output=True, text=True)
    line = [l for l in out.stdout.splitlines() if "tools.device.deploy" in l][0]
    assert "--board" not in line  # BOARD's default is no statement about the board on the port


MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"


@pytest.mark.skipif(not MICROPYTHON.exists() or os.name != "posix", reason="needs .venv/bin/micropython and POSIX ptys")
def test_make_deploy_refuses_an_image_larger_than_the_boards_area(tmp_path, monkeypatch):
    """`make deploy ROMFS=1 BOARD=X`: the image is checked against X's board.json area before
    anything is written (a real mpremote session with the unix port on a pty)."""
    from serial_board import SerialBoard

    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("import helpers\n")
    (app / "helpers.py").write_text("".join("def f%d(x):\n    return x + %d\n" % (i, i) for i in range(40)))
    small = dataclasses.replace(board("RPI_PICO_W"), romfs_size=256)
    real = B.load_board
    monkeypatch.setattr(B, "load_board", lambda name, root=None: small if name == "RPI_PICO_W" else real(name, root))
    board_fs = tmp_path / "board"
    board_fs.mkdir()
    with SerialBoard(str(MICROPYTHON), board_fs) as sb:
        with pytest.raises(S.DeployError) as exc:
            S.deploy(str(app), sb.port, reset=False, romfs=True, board="RPI_PICO_W")
    assert "the ROMFS area of RPI_PICO_W's build holds 256 (over by " in str(exc.value)
    assert not any(board_fs.iterdir())  # nothing copied, no image written
