"""The emulated ESP32-C3 (board ESP32_C3_QEMU) and the esp32 parts of the build.

The first part runs everywhere: the plan (BOARD_DIR=, variants, eFuse step), the version and
Wi-Fi-blob checks, a native esp32 build against a stand-in port Makefile (real esptool
merge-bin), QEMU's command line, kitnet's Ethernet path. The last part needs the emulation
environment (`. <ROOT>/env.sh` from esp32c3-qemu.sh and `make BOARD=ESP32_C3_QEMU firmware
NATIVE=1 MICROPY_DIR=...`) and skips with one line without it.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tools.selection import boards as B
from tools.build import base as BASE
from tools.build import checkout as CO
from tools.build import esp32 as E32
from tools.build import info as INF
from tools.build import plan as PL
from tools.build import run as RUN
from tools.bench import emulated as E
from tools.targets import qemu_esp32 as Q

ROOT = B.ROOT
BOARD = "ESP32_C3_QEMU"


def board():
    return B.load_board(BOARD)


def fake_idf(tmp_path, blobs=True):
    """An ESP-IDF folder with (or without) the Wi-Fi libraries and a qemu_ext with an eFuse image."""
    idf = tmp_path / "idf"
    lib = idf / "components" / "esp_wifi" / "lib" / "esp32c3"
    lib.mkdir(parents=True)
    if blobs:
        for name in E32.WIFI_BLOBS:
            (lib / name).write_bytes(b"!<arch>\n")
    actions = idf / "tools" / "idf_py_actions"
    actions.mkdir(parents=True)
    (actions / "__init__.py").write_text("")
    (actions / "qemu_ext.py").write_text(
        "class _T:\n    default_efuse = bytes(range(8)) * 16\n\nQEMU_TARGETS = {'esp32c3': _T()}\n"
    )
    return idf


def fake_checkout(tmp_path, version=(1, 29, 0, 1)):
    mp = tmp_path / "mp"
    (mp / "py").mkdir(parents=True)
    (mp / "py" / "mpconfig.h").write_text(
        "#define MICROPY_VERSION_MAJOR %d\n#define MICROPY_VERSION_MINOR %d\n"
        "#define MICROPY_VERSION_MICRO %d\n#define MICROPY_VERSION_PRERELEASE %d\n" % version
    )
    for sub in CO.SUBMODULES["esp32"]:
        (mp / sub).mkdir(parents=True)
        (mp / sub / "README").write_text("x")
    (mp / "mpy-cross").mkdir()
    (mp / "mpy-cross" / "Makefile").write_text("all:\n\t@echo mpy-cross is up to date\n")
    (mp / "ports" / "esp32").mkdir(parents=True)
    (mp / "ports" / "esp32" / "Makefile").write_text(ESP32_MAKEFILE)
    return mp


# A stand-in for ports/esp32/Makefile: what idf.py + makeimg.py leave in the build folder.
ESP32_MAKEFILE = """\
BOARD ?= $(notdir $(BOARD_DIR:/=))
BUILD ?= build-$(BOARD)$(if $(BOARD_VARIANT),-$(BOARD_VARIANT))
all:
\t@echo "board dir $(BOARD_DIR) variant $(BOARD_VARIANT) manifest $(FROZEN_MANIFEST)"
\t@test -f "$(BOARD_DIR)/mpconfigboard.cmake"
\t@test -f "$(BOARD_DIR)/mpconfigvariant_$(BOARD_VARIANT).cmake"
\t@mkdir -p $(BUILD)/genhdr $(BUILD)/bootloader $(BUILD)/partition_table
\t@printf '#define MICROPY_GIT_TAG "v1.29.0-preview-fake"\\n' > $(BUILD)/genhdr/mpversion.h
\t@printf 'BOOT' > $(BUILD)/bootloader/bootloader.bin
\t@printf 'PART' > $(BUILD)/partition_table/partition-table.bin
\t@printf 'APPLICATION' > $(BUILD)/micropython.bin
\t@printf 'firmware' > $(BUILD)/firmware.bin
\t@printf '{"git_revision": "v5.3.1"}' > $(BUILD)/project_description.json
\t@printf -- '--flash_mode dio --flash_freq 80m --flash_size 4MB\\n0x0 bootloader/bootloader.bin\\n0x10000 micropython.bin\\n0x8000 partition_table/partition-table.bin\\n' > $(BUILD)/flash_args
"""


def make_kit(tmp_path):
    kit = tmp_path / "kit"
    for name in ("boards", "manifests", "src"):
        shutil.copytree(str(ROOT / name), str(kit / name), ignore=shutil.ignore_patterns("__pycache__"))
    return kit


@pytest.fixture
def host_env(tmp_path, monkeypatch):
    """PATH with `idf.py` (a stand-in) and `python` (this interpreter), as export.sh gives."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "idf.py").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "idf.py").chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", "%s%s%s" % (bin_dir, os.pathsep, os.environ.get("PATH", "")))
    return bin_dir


# -- the board and the plan --------------------------------------------------------------------


def test_board_is_its_own_micropython_board_folder():
    b = board()
    assert (b.port, b.chip, b.base_board, b.variant, b.noblobs_variant) == (
        "esp32", "esp32c3", "ESP32_GENERIC_C3", "QEMU", "QEMU_NOBLOBS")
    folder = b.board_dir("/nowhere")
    assert folder == B.BOARDS_DIR / BOARD
    assert sorted(E32.board_variants(b, None)) == ["QEMU", "QEMU_NOBLOBS", "QEMU_NOBLOBS_OTA", "QEMU_OTA"]
    # The variants reach the sdkconfig through MicroPython's SDKCONFIG_DEFAULTS, from this folder.
    for variant in ("QEMU", "QEMU_NOBLOBS", "QEMU_OTA", "QEMU_NOBLOBS_OTA"):
        text = (folder / ("mpconfigvariant_%s.cmake" % variant)).read_text()
        assert "${CMAKE_CURRENT_LIST_DIR}/sdkconfig.qemu" in text
        assert ("sdkconfig.noblobs" in text) == ("NOBLOBS" in variant)
        # every variant has a ROMFS area; the OTA ones the kit's table with two app slots too
        assert "include(${CMAKE_CURRENT_LIST_DIR}/romfs.cmake)" in text
        table = "partitions-4MiB-ota-romfs.csv" if variant.endswith("OTA") else "partitions-4MiB-romfs.csv"
        assert "set(KIT_PARTITION_TABLE " in text and table in text
    assert "CONFIG_ETH_USE_OPENETH=y" in (folder / "sdkconfig.qemu").read_text()
    assert "CONFIG_APP_NO_BLOBS=y" in (folder / "sdkconfig.noblobs").read_text()
    assert "CONFIG_PARTITION_TABLE_CUSTOM_FILENAME" in (folder / "romfs.cmake").read_text()
    assert "#define MICROPY_VFS_ROM                     (1)" in (folder / "mpconfigboard.h").read_text()
    rows = [l.split(",") for l in (folder.parent / "partitions" / "partitions-4MiB-ota-romfs.csv").read_text().splitlines()
            if l.strip() and not l.startswith("#")]
    parts = {r[0].strip(): (r[2].strip(), int(r[3], 16), int(r[4], 16)) for r in rows}
    assert parts["ota_0"][2] == parts["ota_1"][2] == board().ota_app_partition_size
    assert parts["romfs"] == ("0x8f", 0x310000, 0x40000)
    assert max(off + size for _, off, size in parts.values()) <= 4 * 1024 * 1024
    assert "ESP32_GENERIC_C3/mpconfigboard.cmake" in (folder / "mpconfigboard.cmake").read_text()


def test_native_plan_passes_board_dir_variant_and_writes_the_efuse_image(tmp_path):
    plan = PL.make_plan(board(), [], native=True, micropy_dir=tmp_path / "mp")
    names = [s.name for s in plan.steps]
    assert names == ["mpy-cross", "firmware", "efuse"]
    make = plan.steps[1].argv
    assert "BOARD_DIR=%s" % (B.BOARDS_DIR / BOARD) in make and "BOARD_VARIANT=QEMU" in make
    assert not any(a.startswith("BOARD=") for a in make)
    assert plan.build_dir == (tmp_path / "mp").resolve() / "ports" / "esp32" / "build-ESP32_C3_QEMU-QEMU"
    efuse = plan.steps[2].argv
    assert efuse[0] == "python" and efuse[-2:] == ["esp32c3", str(plan.build_dir / "qemu_efuse.bin")]
    # The stamp follows the port's make line, not the last step.
    assert "BOARD_VARIANT=QEMU" in PL.config_signature(plan)


def test_docker_plan_uses_the_mounted_board_folder():
    plan = PL.make_plan(E32.with_variant(board(), "QEMU_NOBLOBS"), [])
    make = plan.steps[0].argv
    assert "BOARD_DIR=%s/boards/%s" % (PL.PROJECT_MOUNT, BOARD) in make
    assert "BOARD_VARIANT=QEMU_NOBLOBS" in make
    assert plan.steps[-1].argv[-1].endswith("/build-ESP32_C3_QEMU-QEMU_NOBLOBS/qemu_efuse.bin")
    # Stock boards build from the wrapper of MicroPython's folder and get no eFuse step.
    stock = PL.make_plan(B.load_board("ESP32_GENERIC_C3"), [])
    assert "BOARD_DIR=%s/firmware/.cache/esp32-boards/ESP32_GENERIC_C3/ESP32_GENERIC_C3" % PL.PROJECT_MOUNT \
        in stock.steps[0].argv and [s.name for s in stock.steps] == ["firmware"]


def test_variant_follows_the_wifi_blobs(tmp_path):
    notes = []
    without = fake_idf(tmp_path / "a", blobs=False)
    b = E32.esp32_board(board(), None, None, True, "v1.29.0", notes.append, idf_path=str(without))
    assert b.variant == "QEMU_NOBLOBS" and b.build_output == "build-ESP32_C3_QEMU-QEMU_NOBLOBS/firmware.bin"
    assert len(notes) == 1 and "no Wi-Fi blobs" in notes[0] and "BOARD_VARIANT=" in notes[0]
    with_blobs = fake_idf(tmp_path / "b", blobs=True)
    assert E32.esp32_board(board(), None, None, True, "v1.29.0", idf_path=str(with_blobs)).variant == "QEMU"
    # An explicit variant wins; an unknown one is refused with the list.
    assert E32.esp32_board(board(), "QEMU", None, True, "v1.29.0", idf_path=str(without)).variant == "QEMU"
    with pytest.raises(BASE.BuildError) as exc:
        E32.esp32_board(board(), "OTA", None, True, "v1.29.0")
    assert "has no variant 'OTA' (it has: QEMU, QEMU_NOBLOBS, QEMU_NOBLOBS_OTA, QEMU_OTA)" in str(exc.value)
    with pytest.raises(BASE.BuildError):
        E32.esp32_board(B.load_board("UNIX"), "QEMU", None, True, "v1.29.0")


def test_ota_build_has_two_slots_and_its_own_blob_free_variant(tmp_path):
    ota = E32.ota_board(board(), None, "v1.29.0")
    assert (ota.variant, ota.noblobs_variant) == ("QEMU_OTA", "QEMU_NOBLOBS_OTA")
    assert ota.build_output == "build-ESP32_C3_QEMU-QEMU_OTA/firmware.bin"
    # One slot of partitions-4MiB-ota-romfs.csv (0x180000), not the single app partition (0x1D0000).
    assert ota.app_partition_size == 0x180000 < board().app_partition_size
    with pytest.raises(BASE.BuildError) as exc:
        INF.size_check(ota, 0x180000 + 1)
    assert "its app partition holds 1572864 (over by 1)" in str(exc.value)
    notes = []
    without = fake_idf(tmp_path / "a", blobs=False)
    b = E32.esp32_board(ota, None, None, True, "v1.29.0", notes.append, idf_path=str(without))
    assert b.variant == "QEMU_NOBLOBS_OTA" and b.build_output == "build-ESP32_C3_QEMU-QEMU_NOBLOBS_OTA/firmware.bin"
    assert "building variant QEMU_NOBLOBS_OTA" in notes[0]
    assert E32.esp32_board(ota, None, None, True, "v1.29.0", idf_path=str(fake_idf(tmp_path / "b"))).variant == "QEMU_OTA"
    make = PL.make_plan(b, [], native=True, micropy_dir=tmp_path / "mp").steps[1].argv
    assert "BOARD_VARIANT=QEMU_NOBLOBS_OTA" in make
    # ESP32_GENERIC's OTA variant needs the blobs (no blob-free counterpart) and has 1.5 MiB slots too.
    generic = E32.ota_board(B.load_board("ESP32_GENERIC"), None, "v1.28.0")
    assert (generic.variant, generic.noblobs_variant, generic.app_partition_size) == ("OTA", None, 0x180000)


def test_min_micropython_is_checked_in_one_line(tmp_path):
    old = fake_checkout(tmp_path / "old", (1, 28, 0, 0))
    with pytest.raises(BASE.BuildError) as exc:
        CO.check_min_micropython(board(), old, "v1.28.0")
    msg = str(exc.value)
    assert "needs MicroPython 1.29.0-preview or newer" in msg and "is 1.28.0" in msg and "\n" not in msg
    CO.check_min_micropython(board(), fake_checkout(tmp_path / "new", (1, 29, 0, 1)), "v1.28.0")
    with pytest.raises(BASE.BuildError) as exc:
        CO.check_min_micropython(board(), None, "v1.28.0")  # the Docker image's clone
    assert "MICROPY_VERSION=" in str(exc.value)
    CO.check_min_micropython(board(), None, "master")  # a branch: nothing to compare
    CO.check_min_micropython(B.load_board("ESP32_GENERIC"), old, "v1.28.0")  # no minimum
    assert CO.parse_version("1.29.0-preview") < CO.parse_version("v1.29.0") < CO.parse_version("1.29.1")
    assert CO.parse_version("v1.28.0") < CO.parse_version("1.29.0-preview")


def test_missing_blobs_are_one_line_naming_them(tmp_path):
    idf = fake_idf(tmp_path, blobs=False)
    msg = E32.blobs_message(B.load_board("ESP32_GENERIC_C3"), str(idf))
    assert msg.startswith("ESP32_GENERIC_C3 needs ESP-IDF's Wi-Fi blobs but components/esp_wifi/lib/esp32c3 lacks ")
    for name in E32.WIFI_BLOBS:
        assert name in msg
    assert "espressif/esp32-wifi-lib" in msg and "BOARD=ESP32_C3_QEMU" in msg and "\n" not in msg
    assert "BOARD_VARIANT=QEMU_NOBLOBS" in E32.blobs_message(board(), str(idf))
    assert E32.blobs_message(E32.with_variant(board(), "QEMU_NOBLOBS"), str(idf)) is None
    assert E32.blobs_message(B.load_board("ESP32_GENERIC_C3"), str(fake_idf(tmp_path / "ok"))) is None
    # From a link error in the log, when the folder looked complete.
    log = "ld: cannot find -lnet80211: No such file or directory"
    assert E32.blobs_message(B.load_board("ESP32_GENERIC_C3"), None, log) is not None


# -- a native esp32 build against a stand-in port ---------------------------------------------


def test_native_build_writes_merged_image_efuse_and_build_info(tmp_path, host_env, monkeypatch):
    kit, mp = make_kit(tmp_path), fake_checkout(tmp_path)
    idf = fake_idf(tmp_path, blobs=False)
    monkeypatch.setenv("IDF_PATH", str(idf))
    lines = []
    path, info = RUN.build(BOARD, "none", micropy_dir=str(mp), native=True, root=kit, echo=lines.append)
    out = kit / "firmware" / BOARD
    assert sorted(p.name for p in out.iterdir()) == [
        "build-info.json", "build.log", "firmware.bin", "flash_image.bin", "micropython.bin", "qemu_efuse.bin"]
    log = "\n".join(lines)
    assert "board dir %s variant QEMU_NOBLOBS" % (kit / "boards" / BOARD).resolve() in log
    merged = (out / "flash_image.bin").read_bytes()
    assert len(merged) == 4 * 1024 * 1024
    assert merged[:4] == b"BOOT" and merged[0x8000:0x8004] == b"PART" and merged[0x10000:0x1000b] == b"APPLICATION"
    assert merged[0x20000:0x20010] == b"\xff" * 16
    assert (out / "qemu_efuse.bin").read_bytes() == bytes(range(8)) * 16
    saved = json.loads((out / "build-info.json").read_text())
    assert saved == info and info["variant"] == "QEMU_NOBLOBS" and info["idf_version"] == "v5.3.1"
    assert info["flash_image"]["bytes"] == len(merged) and info["flash_image"]["flash_size"] == "4MB"
    assert [s["offset"] for s in info["flash_image"]["segments"]] == ["0x0", "0x8000", "0x10000"]
    assert info["qemu_efuse"]["bytes"] == 128 and info["image_bytes"] == len(b"APPLICATION")
    # The app image alone, for `make ota FIRMWARE=1`.
    assert (out / "micropython.bin").read_bytes() == b"APPLICATION"
    assert info["app_image"] == {"file": "micropython.bin", "bytes": 11,
                                 "sha256": hashlib.sha256(b"APPLICATION").hexdigest()}
    assert not (out / ".build").exists()


def test_generic_c3_without_blobs_stops_before_the_port_build(tmp_path, host_env, monkeypatch):
    kit, mp = make_kit(tmp_path), fake_checkout(tmp_path)
    monkeypatch.setenv("IDF_PATH", str(fake_idf(tmp_path, blobs=False)))
    lines = []
    with pytest.raises(BASE.BuildError) as exc:
        RUN.build("ESP32_GENERIC_C3", "none", micropy_dir=str(mp), native=True, root=kit, echo=lines.append)
    assert "lacks libcore.a, libnet80211.a, libpp.a" in str(exc.value)
    assert not any("board dir" in l for l in lines)  # the port's make never ran
    assert sorted(p.name for p in (kit / "firmware" / "ESP32_GENERIC_C3").iterdir()) == ["build.log"]


def test_bootloader_offset_must_match_board_json(tmp_path):
    build = tmp_path / "b"
    build.mkdir()
    (build / "flash_args").write_text("--flash_mode dio\n0x1000 bootloader/bootloader.bin\n0x10000 micropython.bin\n")
    with pytest.raises(BASE.BuildError) as exc:
        E32.merge_argv(board(), build, tmp_path / "out.bin")
    assert "bootloader at 0x1000" in str(exc.value) and "flash_offset 0x0" in str(exc.value)


# -- QEMU's command line and the runner --------------------------------------------------------


def test_qemu_command_line(tmp_path):
    argv = Q.qemu_argv(board(), "/q/qemu-system-riscv32", tmp_path / "f.bin", tmp_path / "e.bin", 18080)
    text = " ".join(argv)
    assert argv[:3] == ["/q/qemu-system-riscv32", "-M", "esp32c3"]
    assert "user,model=open_eth,restrict=on,hostfwd=tcp:127.0.0.1:18080-:5000" in argv
    assert "driver=nvram.esp32c3.efuse,property=drive,value=efuse" in argv
    assert "file=%s,if=mtd,format=raw" % (tmp_path / "f.bin") in argv
    assert argv[-2:] == ["-serial", "pty"] and "-L" not in argv
    tcp = Q.qemu_argv(board(), "q", Path("f"), Path("e"), 1, serial="tcp:4444", bios=Path("/bios"))
    assert tcp[-1] == "tcp:127.0.0.1:4444,server=on,wait=off" and tcp[tcp.index("-L") + 1] == "/bios"
    assert "0.0.0.0" not in text
    with pytest.raises(Q.QemuError):
        Q.qemu_argv(board(), "q", Path("f"), Path("e"), 1, serial="/dev/ttyS0")


def test_runner_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("QEMU", raising=False)
    with pytest.raises(Q.QemuError) as exc:
        Q.find_qemu(board(), which=lambda name: None)
    assert "idf_tools.py install qemu-riscv32" in str(exc.value)
    with pytest.raises(Q.QemuError) as exc:
        Q.firmware_files(board(), tmp_path)
    assert "make BOARD=ESP32_C3_QEMU firmware" in str(exc.value)
    with pytest.raises(Q.QemuError) as exc:
        Q.EmulatedBoard("UNIX")
    assert str(exc.value) == "Board UNIX does not run under QEMU; use BOARD=ESP32_C3_QEMU or BOARD=ESP32_QEMU."
    assert Q.emulated(BOARD) and not Q.emulated("ESP32_GENERIC_C3") and not Q.emulated("NOPE")


def fake_emulator(tmp_path, prompt=False):
    """A stand-in "QEMU" that opens a pty and prints nothing (or, with prompt=True, answers whatever
    the console sends with the MicroPython banner and a prompt), and a kit root whose
    firmware/ESP32_C3_QEMU holds the two images."""
    fake = tmp_path / "qemu-system-riscv32"
    talk = ("while os.read(m, 1024):\n"
            "    os.write(m, b'MicroPython v1.29.0-preview on 2026-12-01; ESP32C3 module with ESP32C3\\r\\n>>> ')\n"
            if prompt else "")
    fake.write_text("#!%s\nimport os, pty, sys, time\nm, s = pty.openpty()\n"
                    "print('char device redirected to %%s (label serial0)' %% os.ttyname(s), flush=True)\n"
                    "%stime.sleep(600)\n" % (sys.executable, talk))
    fake.chmod(0o755)
    out = tmp_path / "firmware" / BOARD
    out.mkdir(parents=True)
    (out / "flash_image.bin").write_bytes(b"\xff" * 16)
    (out / "qemu_efuse.bin").write_bytes(b"\0" * 16)
    return fake


def test_the_suite_expects_the_extensions_the_image_was_built_with(tmp_path):
    from tools.suite import smoke

    eb = Q.EmulatedBoard(BOARD, qemu=str(fake_emulator(tmp_path)), root=tmp_path, echo=lambda line: None)
    facts = eb.facts()
    assert (facts.kind, facts.board, facts.port) == ("qemu-esp32", BOARD, "esp32")
    assert facts.extensions is None  # no build-info: nothing to expect
    (tmp_path / "firmware" / BOARD / "build-info.json").write_text(json.dumps({"extensions": ["ota", "cors", "wifi"]}))
    assert eb.facts().extensions == ["cors", "ota", "wifi"]
    argv = smoke.pytest_command("http://127.0.0.1:1", tmp_path / "r.xml", eb.facts().extensions)
    assert argv[argv.index("--hw-expect") + 1] == "cors,ota,wifi"
    (tmp_path / "firmware" / BOARD / "build-info.json").write_text("{not json")
    assert eb.facts().extensions is None


def test_start_stops_the_emulator_when_the_set_up_fails(tmp_path):
    # A board that boots (the stand-in prints a prompt) but whose deploy fails: start() must
    # stop QEMU before the error reaches the caller.
    events = []

    class Board(Q.EmulatedBoard):
        def provision(self, token=None):
            events.append("provision")

        def deploy(self, app):
            events.append("deploy")
            raise Q.QemuError("Deploying failed: the board stopped answering.")

    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("print(1)\n")
    eb = Board(BOARD, app=app, qemu=str(fake_emulator(tmp_path, prompt=True)), root=tmp_path,
               echo=lambda line: None)
    eb.boot_timeout = 20
    with pytest.raises(Q.QemuError, match="Deploying failed"):
        eb.start()
    assert events == ["provision", "deploy"]
    assert eb.proc is None
    assert "MicroPython v1.29.0-preview" in eb.banner and eb.facts().micropython == "1.29.0-preview"


# -- kitnet on the emulated board --------------------------------------------------------------

KITNET_LAN = r"""
import sys
sys.path.insert(0, sys.argv[1])

class LAN:
    polls = 0
    def __init__(self, phy_type, phy_addr):
        print("LAN", phy_type, phy_addr)
    def active(self, on):
        print("active", on)
    def isconnected(self):
        LAN.polls += 1
        return LAN.polls > 3
    def ipconfig(self, key):
        return ("10.0.2.15", "255.255.255.0")

class network:
    PHY_OPENETH = 9
    LAN = LAN
    def WLAN(*a):
        raise AssertionError("no Wi-Fi on the emulated board")

sys.modules["network"] = network
import kitnet
kitnet._sleep = lambda s: None
print("IP", kitnet.connect(), kitnet.ip())
kitnet.disconnect()
print("after", kitnet.ip())
"""


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_kitnet_brings_up_the_emulated_ethernet(tmp_path, runtime):
    exe = sys.executable if runtime == "cpython" else str(Path(sys.executable).parent / "micropython")
    if not Path(exe).is_file():
        pytest.skip("no micropython in the venv; run make setup")
    script = tmp_path / "lan.py"
    script.write_text(KITNET_LAN)
    out = subprocess.run([exe, str(script), str(ROOT / "src" / "kit")], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "LAN 9 1" and lines[1] == "active True"
    assert "kitnet: Ethernet (QEMU open_eth) up, IP 10.0.2.15" in lines
    assert "IP 10.0.2.15 10.0.2.15" in lines and lines[-2:] == ["active False", "after None"]


# -- the emulated board itself (needs the emulation environment) --------------------------------


#: The emulated boards (board.json ``qemu``): the ESP32-C3 and the original ESP32 (test_esp32_xtensa.py).
EMULATED = ("ESP32_C3_QEMU", "ESP32_QEMU")


def _emulation_missing(name=BOARD):
    b = B.load_board(name)
    binary = b.qemu["binary"]
    if shutil.which(binary) is None:
        return "%s not on PATH (`. <ROOT>/env.sh` from %s)" % (binary, Q.SETUP_SCRIPTS[b.chip])
    if not (ROOT / "firmware" / name / "flash_image.bin").is_file():
        return "no firmware/%s/flash_image.bin (make BOARD=%s firmware NATIVE=1 MICROPY_DIR=...)" % (name, name)
    return None


def each_emulated():
    """EMULATED as parameters, each skipping with its own one-line reason."""
    return [pytest.param(n, marks=pytest.mark.skipif(_emulation_missing(n) is not None,
                                                     reason=str(_emulation_missing(n)))) for n in EMULATED]


def test_emulated_boards_are_the_qemu_boards():
    assert sorted(EMULATED) == sorted(b.name for b in B.load_boards() if b.port == "esp32" and b.qemu)


@pytest.mark.parametrize("name", each_emulated())
def test_emulated_board_serves_hello_to_the_host(name):
    from tools.device import deploy
    from tools.targets.select import open_target

    lines = []
    with open_target(name, app=ROOT / "examples" / "hello", echo=lines.append) as eb:
        assert isinstance(eb, Q.EmulatedBoard) and "MicroPython" in eb.banner and "under QEMU" in eb.banner
        facts = eb.facts()
        assert facts.board == name and facts.port == "esp32" and facts.micropython
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(eb.url + "/", timeout=10) as r:
            body = r.read().decode()
        assert r.status == 200 and "Hello from Microdot!" in body
        # the console: a snippet on the REPL (it interrupts the app), then a reset starts it again
        assert eb.console.run("print(6 * 7)").strip().endswith("42")
        # the firmware's bytecode architecture is the one board.json compiles for (xtensawin, rv32imc)
        arch = int(eb.console.run("import sys; print(sys.implementation._mpy >> 10)").strip().splitlines()[-1])
        assert ["-march=%s" % deploy.MPY_ARCHS[arch]] == B.load_board(name).mpy_cross_args
        eb.reset()
        with opener.open(eb.url + "/", timeout=10) as r:
            assert r.status == 200
    assert eb.proc is None


# -- the bench app, on the MicroPython unix port ------------------------------------------------


def _run_bench_app(tmp_path, paths):
    """BENCH_APP on the unix port up to its server (the figures /__heap would give, printed)."""
    from tools.targets import virtual as V

    try:
        mp = V.find_micropython()
    except V.VirtualError as exc:
        pytest.skip("no micropython: %s" % exc)
    script = E.BENCH_APP.replace("app.run(port=5000)", "print('HEAP', OTA_HEAP, PORTAL_HEAP, IMPORT_FREE < BOOT_FREE)")
    assert script != E.BENCH_APP
    prelude = "import sys\nsys.path[:0] = %r\n" % [str(p) for p in paths]
    (tmp_path / "bench_app.py").write_text(prelude + script)
    out = subprocess.run([mp, str(tmp_path / "bench_app.py")], capture_output=True, text=True, timeout=60,
                         cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    line = [l for l in out.stdout.splitlines() if l.startswith("HEAP ")][-1].split()
    return [None if v == "None" else int(v) if v.isdigit() else v for v in line[1:]]


def test_bench_app_measures_what_the_ota_extension_and_the_portal_keep(tmp_path):
    host = ROOT / "tools" / "targets" / "virtual_host"  # stand-in network module
    ota, portal, imported = _run_bench_app(tmp_path, [ROOT / "src", ROOT / "src" / "kit", host])
    assert imported == "True"
    # Real figures, and of the size the modules suggest (kilobytes, not bytes or megabytes).
    assert 1000 < ota < 60000 and 1000 < portal < 80000
    # Without the modules in the image the rows say so instead of a number.
    only_core = tmp_path / "core"
    shutil.copytree(str(ROOT / "src" / "microdot"), str(only_core / "microdot"))
    ota, portal, _ = _run_bench_app(tmp_path, [only_core])
    assert ota is None and portal is None
    text = E.format_bench({"board": BOARD, "requests": 5, "heap_total": 1, "heap_free_boot": 1,
                           "heap_free_after_import": 1, "heap_per_request": 1, "heap_ota": None,
                           "heap_portal": 1234, "latency_ms_keepalive_median": 1.0,
                           "latency_ms_keepalive_p90": 1.0, "latency_ms_new_connection_median": 1.0})
    assert 'not in this image (EXTENSIONS="... ota")' in text and "1234 B" in text


def test_a_board_that_never_gives_a_prompt_is_stopped(tmp_path):
    # A stand-in "QEMU" that opens a pty and prints nothing: start() must time out in one line
    # and leave no process behind.
    eb = Q.EmulatedBoard(BOARD, qemu=str(fake_emulator(tmp_path)), root=tmp_path, echo=lambda line: None)
    eb.boot_timeout = 3
    try:
        with pytest.raises(Q.QemuError, match="printed no MicroPython prompt within 3 s"):
            eb.start()
        assert eb.proc is None
    finally:
        eb.stop()
