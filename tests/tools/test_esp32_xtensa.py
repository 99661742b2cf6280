"""The emulated original ESP32 (board ESP32_QEMU, Xtensa LX6) and what differs from the C3.

Runs everywhere: the board folder and its facts (chip esp32, bootloader at 0x1000, xtensawin,
ESP32_GENERIC's OTA variant), the dry-run plans, the check of the MicroPython fix the board
needs (network.LAN(phy_type=PHY_OPENETH) on the original ESP32), the Wi-Fi-blob line of
ESP32_GENERIC, a native build against a stand-in port Makefile (real esptool merge-bin at
0x1000) and QEMU's command line for ``-M esp32``. What needs the emulator itself is in
test_esp32_qemu.py, test_esp32_qemu_ota.py and test_esp32_qemu_field.py, parametrised over
both emulated boards.
"""
import json
import os
import re
import sys

import pytest

from tests.tools import test_esp32_qemu as C3
from tools.build import base as BASE
from tools.build import esp32 as E32
from tools.build import matrix as MX
from tools.build import plan as PL
from tools.build import run as RUN
from tools.selection import boards as B
from tools.targets import qemu_esp32 as Q

BOARD = "ESP32_QEMU"
FOLDER = B.BOARDS_DIR / BOARD

# network_lan.c's shape around the internal-EMAC branch on the original ESP32, as MicroPython
# master has it (UNFIXED) and with the fix the board needs (FIXED); written for these tests.
UNFIXED = """\
    #if CONFIG_IDF_TARGET_ESP32 || CONFIG_IDF_TARGET_ESP32P4
    if (!IS_SPI_PHY(args[ARG_phy_type].u_int)) {
        if (self->mdc_pin == -1 || self->mdio_pin == -1) {
            mp_raise_ValueError(MP_ERROR_TEXT("mdc and mdio must be specified"));
        }
"""
FIXED = UNFIXED.replace(
    "u_int)) {\n", "u_int)\n        #if CONFIG_ETH_USE_OPENETH\n"
    "        && args[ARG_phy_type].u_int != PHY_OPENETH\n        #endif\n        ) {\n", 1)


def board():
    return B.load_board(BOARD)


def checkout(tmp_path, lan=FIXED):
    mp = C3.fake_checkout(tmp_path)
    if lan is not None:
        (mp / "ports" / "esp32" / "network_lan.c").write_text(lan)
    return mp


def fake_idf(tmp_path, blobs=False):
    """An ESP-IDF folder for the esp32 chip: Wi-Fi libraries or not, an eFuse image for QEMU."""
    idf = tmp_path / "idf"
    lib = idf / "components" / "esp_wifi" / "lib" / "esp32"
    lib.mkdir(parents=True)
    for name in E32.WIFI_BLOBS if blobs else ():
        (lib / name).write_bytes(b"!<arch>\n")
    actions = idf / "tools" / "idf_py_actions"
    actions.mkdir(parents=True)
    (actions / "__init__.py").write_text("")
    (actions / "qemu_ext.py").write_text(
        "class _T:\n    def __init__(self, b):\n        self.default_efuse = b\n\n"
        "QEMU_TARGETS = {'esp32': _T(b'LX6' * 41), 'esp32c3': _T(b'RV' * 64)}\n")
    return idf


# -- the board folder --------------------------------------------------------------------------


def test_board_facts_are_the_original_esp32s():
    b, generic = board(), B.load_board("ESP32_GENERIC")
    assert (b.port, b.chip, b.mcu, b.base_board, b.variant, b.noblobs_variant) == (
        "esp32", "esp32", "ESP32", "ESP32_GENERIC", "QEMU", "QEMU_NOBLOBS")
    # the chip's facts are ESP32_GENERIC's: bootloader at 0x1000, xtensawin bytecode; the app
    # partition is MicroPython's 0x1F0000 (ESP32_GENERIC's is 0x1D0000, before its ROMFS area)
    assert (b.flash_offset, b.mpy_cross_args) == (generic.flash_offset, generic.mpy_cross_args) == (
        "0x1000", ["-march=xtensawin"])
    assert (b.app_partition_size, generic.app_partition_size) == (2031616, 1900544)
    assert b.ota_app_partition_size == generic.ota_app_partition_size == 0x180000
    assert b.qemu == {"binary": "qemu-system-xtensa", "machine": "esp32", "nic": "open_eth",
                      "idf_tools_package": "qemu-xtensa", "memory": "4M", "rom": "esp32-v3-rom.bin"}
    assert b.micropython_fixes == ["openeth-without-emac", "lan-rx-after-netif-start"]
    assert set(b.micropython_fixes) <= set(E32.FIXES)
    assert B.load_board("ESP32_C3_QEMU").micropython_fixes is None
    assert Q.emulated(BOARD) and not Q.emulated("ESP32_GENERIC")


def test_board_folder_builds_on_esp32_generic_with_its_ota_variant():
    assert b"ESP32_GENERIC/mpconfigboard.cmake" in (FOLDER / "mpconfigboard.cmake").read_bytes()
    variants = E32.board_variants(board(), None)
    assert variants == ["QEMU", "QEMU_NOBLOBS", "QEMU_NOBLOBS_OTA", "QEMU_OTA"]
    for variant in variants:
        text = (FOLDER / ("mpconfigvariant_%s.cmake" % variant)).read_text()
        assert "${CMAKE_CURRENT_LIST_DIR}/sdkconfig.qemu" in text
        assert ("${CMAKE_CURRENT_LIST_DIR}/sdkconfig.noblobs" in text) == ("NOBLOBS" in variant)
        # OTA=1 takes ESP32_GENERIC's own OTA settings (two 1.5 MiB slots, size-optimised code)
        assert ("boards/ESP32_GENERIC/sdkconfig.ota" in text) == variant.endswith("OTA")
        assert ("MICROPY_PY_NETWORK_WLAN=0" in text) == ("NOBLOBS" in variant)
    assert "CONFIG_ETH_USE_OPENETH=y" in (FOLDER / "sdkconfig.qemu").read_text()
    # the blob-free settings are the C3's, line for line (no chip in them)
    assert (FOLDER / "sdkconfig.noblobs").read_text() == (B.BOARDS_DIR / "ESP32_C3_QEMU" / "sdkconfig.noblobs").read_text()


def test_plans_pass_the_board_folder_and_write_the_esp32_efuse_image(tmp_path):
    plan = PL.make_plan(board(), [], native=True, micropy_dir=tmp_path / "mp")
    assert [s.name for s in plan.steps] == ["mpy-cross", "firmware", "efuse"]
    make = plan.steps[1].argv
    assert "BOARD_DIR=%s" % FOLDER in make and "BOARD_VARIANT=QEMU" in make
    assert plan.build_dir.name == "build-ESP32_QEMU-QEMU"
    assert plan.steps[2].argv[-2:] == ["esp32", str(plan.build_dir / "qemu_efuse.bin")]
    docker = PL.make_plan(E32.with_variant(board(), "QEMU_NOBLOBS"), [])
    assert "BOARD_DIR=%s/boards/%s" % (PL.PROJECT_MOUNT, BOARD) in docker.steps[0].argv
    assert docker.steps[-1].argv[-1].endswith("/build-ESP32_QEMU-QEMU_NOBLOBS/qemu_efuse.bin")
    ota = E32.ota_board(board(), None, "v1.29.0")
    assert (ota.variant, ota.noblobs_variant, ota.app_partition_size) == ("QEMU_OTA", "QEMU_NOBLOBS_OTA", 0x180000)
    notes = []
    b = E32.esp32_board(ota, None, checkout(tmp_path), True, "v1.29.0", notes.append,
                        idf_path=str(fake_idf(tmp_path)))
    assert b.variant == "QEMU_NOBLOBS_OTA" and "building variant QEMU_NOBLOBS_OTA" in notes[0]


@pytest.fixture
def host_env(tmp_path, monkeypatch):
    """PATH with `idf.py` (a stand-in) and `python` (this interpreter), IDF_PATH an ESP-IDF without blobs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "idf.py").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "idf.py").chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", "%s:%s" % (bin_dir, os.environ.get("PATH", "")))
    monkeypatch.setenv("IDF_PATH", str(fake_idf(tmp_path)))
    return bin_dir


def test_dry_run_of_the_board(tmp_path, capsys, host_env):
    mp = checkout(tmp_path)
    from tools.build.__main__ import main

    rc = main(["--board", BOARD, "--native", "--micropy-dir", str(mp), "--dry-run"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "ESP32_QEMU (esp32) with the host toolchain" in out.out
    assert "no Wi-Fi blobs for esp32: building variant QEMU_NOBLOBS" in out.out
    assert "BOARD_DIR=%s" % FOLDER in out.out and "qemu_efuse.bin" in out.out
    assert "outputs: firmware.bin, flash_image.bin, micropython.bin, qemu_efuse.bin" in out.out


# -- the MicroPython fix the board needs -------------------------------------------------------


def test_the_openeth_fix_is_recognised():
    test = E32.FIXES["openeth-without-emac"][1]
    assert test(UNFIXED) is False and test(FIXED) is True
    assert test("/* no internal EMAC branch in this file */") is None


def test_a_checkout_without_the_fix_stops_in_one_line(tmp_path, host_env):
    mp = checkout(tmp_path, UNFIXED)
    with pytest.raises(BASE.BuildError) as exc:
        RUN.prepare(BOARD, micropy_dir=str(mp), native=True, echo=lambda line: None)
    msg = str(exc.value)
    assert msg.startswith("ESP32_QEMU needs the MicroPython fix openeth-without-emac, which %s lacks: "
                          % (mp.resolve() / "ports" / "esp32" / "network_lan.c")), msg
    assert "mdc and mdio must be specified" in msg and "esp32-qemu.sh" in msg and "\n" not in msg
    # Docker with the checkout is checked the same way.
    with pytest.raises(BASE.BuildError, match="needs the MicroPython fix"):
        RUN.prepare(BOARD, micropy_dir=str(mp), echo=lambda line: None)
    # The C3 does not need it: the C3's LAN takes no internal-EMAC path.
    RUN.prepare("ESP32_C3_QEMU", micropy_dir=str(mp), native=True, echo=lambda line: None)
    # With the fix (or without such a branch at all) the board plans.
    for lan in (FIXED, None):
        prep = RUN.prepare(BOARD, micropy_dir=str(checkout(tmp_path / str(lan is None), lan)), native=True,
                           echo=lambda line: None)
        assert prep.board.name == BOARD


def test_make_micropython_fixes_makes_the_fix_once(tmp_path, host_env, capsys):
    from tools.build import fixes
    mp = checkout(tmp_path, UNFIXED + "        esp32_config.smi_mdc_gpio_num = self->mdc_pin;\n")
    lan = mp / "ports" / "esp32" / "network_lan.c"
    assert fixes.main(["--board", BOARD, "--micropy-dir", str(mp)]) == 0
    text = lan.read_text()
    assert E32.FIXES["openeth-without-emac"][1](text) is True
    assert text.startswith(FIXED) and text.endswith("smi_mdc_gpio_num = self->mdc_pin;\n")
    assert "openeth-without-emac: made in" in capsys.readouterr().out
    # Once made, the build plans; a second run leaves the file alone.
    RUN.prepare(BOARD, micropy_dir=str(mp), native=True, echo=lambda line: None)
    assert fixes.main(["--board", BOARD, "--micropy-dir", str(mp)]) == 0
    assert lan.read_text() == text and "already there" in capsys.readouterr().out
    # A board that needs none, a folder that is no checkout, a shape the edit does not know.
    assert fixes.main(["--board", "ESP32_C3_QEMU", "--micropy-dir", str(mp)]) == 0
    assert "needs no MicroPython fix" in capsys.readouterr().out
    assert fixes.main(["--board", BOARD, "--micropy-dir", str(tmp_path / "nothing")]) == 1
    assert "is not a MicroPython checkout" in capsys.readouterr().err
    lan.write_text('if (!IS_SPI_PHY(x) || y) {\n  "mdc and mdio must be specified"\n')
    assert fixes.main(["--board", BOARD, "--micropy-dir", str(mp)]) == 1
    err = capsys.readouterr().err
    assert "cannot make the MicroPython fix openeth-without-emac" in err and err.count("\n") == 1


# The three places of network_lan.c the rx fix goes next to, in MicroPython master's shape
# (shortened; written for this test).
LAN_START = """\
static void set_mac_address(lan_if_obj_t *self, uint8_t *mac, size_t len) {
}

    if (esp_netif_attach(self->base.netif, esp_eth_new_netif_glue(self->eth_handle)) != ESP_OK) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("esp_netif_attach failed"));
    }

    uint8_t mac_addr[6];

        if (make_active && !self->base.active) {
            self->base.active = (esp_eth_start(self->eth_handle) == ESP_OK);
"""


def test_the_lan_rx_fix_drops_frames_until_the_netif_is_started():
    test, make = E32.FIXES["lan-rx-after-netif-start"][1:3]
    assert test(LAN_START) is False and test(UNFIXED) is None
    fixed = make(LAN_START)
    assert test(fixed) is True and make(fixed) is None  # once
    # the input path drops frames from before esp_eth_start() until a START handler registered
    # after the glue's (so run after it has added the netif to lwIP) gives it to the netif
    assert fixed.index("lan_drop_input, NULL") < fixed.index("(esp_eth_start(self->eth_handle)")
    glue, started = fixed.index("esp_eth_new_netif_glue"), fixed.index("ETHERNET_EVENT_START, &lan_netif_started, self")
    assert glue < started < fixed.index("uint8_t mac_addr")
    assert fixed.index("static void lan_netif_started") < fixed.index("static void set_mac_address")
    assert "lan_input_to_netif, self->base.netif" in fixed
    assert make(LAN_START.replace("static void set_mac_address(", "void set_mac(")) is None  # a new shape


def test_ci_makes_the_fixes_before_the_build():
    text = (B.BOARDS_DIR.parent / ".github" / "workflows" / "firmware.yml").read_text()
    job = text[text.index("\n  emulated:"):]
    fix = job.index('python3 -m tools.build.fixes --board "$BOARD" --micropy-dir micropython')
    assert job.index("MicroPython checkout") < fix < job.index('make BOARD="$BOARD" firmware NATIVE=1')


def test_an_unknown_fix_in_board_json_is_refused(tmp_path):
    kit = C3.make_kit(tmp_path)
    path = kit / "boards" / BOARD / "board.json"
    data = json.loads(path.read_text())
    data["micropython_fixes"] = ["no-such-fix"]
    path.write_text(json.dumps(data))
    with pytest.raises(BASE.BuildError) as exc:
        E32.check_fixes(B.load_board(BOARD, kit), checkout(tmp_path))
    assert "names the MicroPython fix 'no-such-fix', which the kit does not know (known: lan-rx-after-netif-start, openeth-without-emac)" in str(exc.value)
    notes = []
    E32.check_fixes(board(), None, notes.append)  # the image's clone: said, not checked
    assert len(notes) == len(board().micropython_fixes) and all("not checked" in n for n in notes)


# -- ESP32_GENERIC without the Wi-Fi blobs -------------------------------------------------------


def test_esp32_generic_without_blobs_names_them_and_the_emulated_esp32(tmp_path):
    idf = fake_idf(tmp_path)
    msg = E32.blobs_message(B.load_board("ESP32_GENERIC"), str(idf))
    assert msg.startswith("ESP32_GENERIC needs ESP-IDF's Wi-Fi blobs but components/esp_wifi/lib/esp32 lacks "
                          "libcore.a, libnet80211.a, libpp.a (espressif/esp32-wifi-lib)")
    assert msg.endswith(", or build BOARD=ESP32_QEMU, which does without them.") and "\n" not in msg
    # a chip no emulated board has: every emulated board is named
    s3 = E32.blobs_message(B.load_board("ESP32_GENERIC_S3"), str(idf))
    assert s3 is not None and "build BOARD=ESP32_C3_QEMU or BOARD=ESP32_QEMU, which" in s3
    assert E32.blobs_message(E32.with_variant(board(), "QEMU_NOBLOBS"), str(idf)) is None
    assert "BOARD_VARIANT=QEMU_NOBLOBS" in E32.blobs_message(board(), str(idf))


def test_esp32_generic_stops_before_the_port_build(tmp_path, host_env):
    kit, mp = C3.make_kit(tmp_path), checkout(tmp_path)
    lines = []
    with pytest.raises(BASE.BuildError) as exc:
        RUN.build("ESP32_GENERIC", "none", micropy_dir=str(mp), native=True, root=kit, echo=lines.append)
    assert "lib/esp32 lacks libcore.a" in str(exc.value) and "BOARD=ESP32_QEMU" in str(exc.value)
    assert any(l.startswith("==> [2/") and "mpy-cross" in l for l in lines)  # it got that far
    assert not any("board dir" in l for l in lines)  # the port's make never ran


# -- a native build against a stand-in port: the merged image at the ESP32's offsets ------------


def test_native_build_merges_the_image_with_the_bootloader_at_0x1000(tmp_path, host_env):
    kit, mp = C3.make_kit(tmp_path), checkout(tmp_path)
    makefile = C3.ESP32_MAKEFILE.replace("0x0 bootloader/bootloader.bin", "0x1000 bootloader/bootloader.bin")
    assert makefile != C3.ESP32_MAKEFILE
    (mp / "ports" / "esp32" / "Makefile").write_text(makefile)
    lines = []
    _, info = RUN.build(BOARD, "none", micropy_dir=str(mp), native=True, root=kit, echo=lines.append)
    out = kit / "firmware" / BOARD
    merged = (out / "flash_image.bin").read_bytes()
    assert len(merged) == 4 * 1024 * 1024 and merged[:0x1000] == b"\xff" * 0x1000
    assert merged[0x1000:0x1004] == b"BOOT" and merged[0x8000:0x8004] == b"PART"
    assert merged[0x10000:0x1000b] == b"APPLICATION"
    assert [s["offset"] for s in info["flash_image"]["segments"]] == ["0x1000", "0x8000", "0x10000"]
    assert (out / "qemu_efuse.bin").read_bytes() == b"LX6" * 41  # the esp32's, not the C3's
    assert info["variant"] == "QEMU_NOBLOBS"
    # A build that puts the bootloader at 0x0 contradicts board.json.
    (mp / "ports" / "esp32" / "Makefile").write_text(C3.ESP32_MAKEFILE)
    with pytest.raises(BASE.BuildError, match="bootloader at 0x0 but board.json of ESP32_QEMU says flash_offset 0x1000"):
        RUN.build(BOARD, "none", micropy_dir=str(mp), native=True, root=kit, echo=lines.append)


# -- QEMU -----------------------------------------------------------------------------------------


def test_qemu_command_line_for_the_esp32_machine(tmp_path, monkeypatch):
    argv = Q.qemu_argv(board(), "/q/qemu-system-xtensa", tmp_path / "f.bin", tmp_path / "e.bin", 18082)
    assert argv[:5] == ["/q/qemu-system-xtensa", "-M", "esp32", "-m", "4M"]
    assert "driver=nvram.esp32.efuse,property=drive,value=efuse" in argv
    assert "driver=timer.esp32.timg,property=wdt_disable,value=true" in argv
    assert "user,model=open_eth,restrict=on,hostfwd=tcp:127.0.0.1:18082-:5000" in argv
    c3 = Q.qemu_argv(B.load_board("ESP32_C3_QEMU"), "q", tmp_path / "f", tmp_path / "e", 1)
    assert "-m" not in c3  # the C3 machine gets no PSRAM
    monkeypatch.delenv("QEMU", raising=False)
    with pytest.raises(Q.QemuError) as exc:
        Q.find_qemu(board(), which=lambda name: None)
    msg = str(exc.value)
    assert msg.startswith("No qemu-system-xtensa found") and "idf_tools.py install qemu-xtensa" in msg
    assert "esp32-qemu.sh" in msg and "esp32c3-qemu.sh" not in msg
    with pytest.raises(Q.QemuError, match="make BOARD=ESP32_QEMU firmware"):
        Q.firmware_files(board(), tmp_path)


def test_the_rom_folder_is_found_by_the_machine_s_rom(tmp_path, monkeypatch):
    monkeypatch.delenv("QEMU_BIOS_DIR", raising=False)
    build = tmp_path / "build"
    (build / "pc-bios").mkdir(parents=True)
    (build / "qemu-system-xtensa").write_text("")
    assert Q.rom_name(board()) == "esp32-v3-rom.bin" and Q.rom_name(B.load_board("ESP32_C3_QEMU")) == "esp32c3-rom.bin"
    assert Q.bios_dir(str(build / "qemu-system-xtensa"), Q.rom_name(board())) is None
    (build / "pc-bios" / "esp32-v3-rom.bin").write_bytes(b"\0")
    assert Q.bios_dir(str(build / "qemu-system-xtensa"), Q.rom_name(board())) == build / "pc-bios"
    assert Q.bios_dir(str(build / "qemu-system-xtensa"), "esp32c3-rom.bin") is None


def test_ci_builds_it_in_the_idf_job_and_runs_it_under_qemu_xtensa():
    entry = [e for e in MX.ci_matrix()["idf"] if e["board"] == BOARD]
    assert len(entry) == 1 and entry[0]["qemu"] == "qemu-xtensa" and entry[0]["test_hw"] is True
    assert entry[0]["submodules_board"] == "ESP32_GENERIC"


def test_the_esp32_image_installs_the_qemu_of_every_emulated_board():
    dockerfile = (B.ROOT / "Dockerfile").read_text()
    installed = re.search(r'idf_tools\.py" install ([^\\\n]*)', dockerfile).group(1).split()
    wanted = [b.qemu["idf_tools_package"] for b in B.load_boards() if b.port == "esp32" and b.qemu]
    assert sorted(wanted) == ["qemu-riscv32", "qemu-xtensa"] and set(wanted) <= set(installed)


def test_bench_has_a_section_per_emulated_board():
    from tools.bench import emulated as E

    assert E.BOARDS == ("ESP32_C3_QEMU", BOARD) and E.result_key(BOARD) == "esp32_qemu"
    res = {"board": BOARD, "firmware": "MicroPython 1.29.0-preview", "requests": 50, "heap_total": 170000,
           "heap_free_boot": 160000, "heap_free_after_import": 152000, "heap_per_request": 1800, "heap_ota": 4000,
           "heap_portal": 4600, "latency_ms_keepalive_median": 3.0, "latency_ms_keepalive_p90": 4.0,
           "latency_ms_new_connection_median": 10.0}
    assert E.format_bench(res).splitlines()[0] == "ESP32 (QEMU): MicroPython 1.29.0-preview, 50 requests"
    assert E.format_bench(dict(res, board="ESP32_C3_QEMU")).startswith("ESP32-C3 (QEMU): ")
