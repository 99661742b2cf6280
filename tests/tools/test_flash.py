"""tools.device.flash: esptool command lines and offsets per chip, chip checks, RP2 boot drives, errors."""
import json
import os
import pty
import shutil
from pathlib import Path

import pytest

from tools.selection import boards as B
from tools.device import deploy as S
from tools.device import flash as F

ROOT = Path(__file__).resolve().parents[2]


def board(name):
    return B.load_board(name)


@pytest.mark.parametrize(
    "name, chip, offset",
    [
        ("ESP32_GENERIC", "esp32", "0x1000"),
        ("ESP32_GENERIC_S3", "esp32s3", "0x0"),
        ("ESP32_GENERIC_C3", "esp32c3", "0x0"),
        ("ESP32_GENERIC_C6", "esp32c6", "0x0"),
    ],
)
def test_esptool_command_per_chip(name, chip, offset):
    plan = F.esp_plan(board(name), Path("firmware/%s/firmware.bin" % name), "/dev/ttyUSB0")
    assert plan.offset == int(offset, 16)
    assert F.esptool_argv(plan) == [
        "esptool", "--chip", chip, "--port", "/dev/ttyUSB0", "--baud", "460800",
        "write-flash", "-z", offset, "firmware/%s/firmware.bin" % name,
    ]  # fmt: skip


def test_esptool_command_with_erase_and_baud():
    plan = F.esp_plan(board("ESP32_GENERIC"), Path("fw.bin"), "COM3", baud=921600, erase=True)
    assert F.esptool_argv(plan) == [
        "esptool", "--chip", "esp32", "--port", "COM3", "--baud", "921600",
        "write-flash", "--erase-all", "-z", "0x1000", "fw.bin",
    ]  # fmt: skip
    assert F.erase_argv("esp32s3", "/dev/ttyACM0") == [
        "esptool", "--chip", "esp32s3", "--port", "/dev/ttyACM0", "--baud", "460800", "erase-flash",
    ]  # fmt: skip


def test_retry_bauds():
    assert F.baud_attempts(460800) == [460800, 115200]
    assert F.baud_attempts(115200) == [115200]
    assert F.baud_attempts(9600) == [9600]


def test_bad_offset_in_board_json():
    with pytest.raises(F.FlashError, match=r"Board 'X' has flash_offset 'ten' in board.json; write it as a hex string"):
        F.parse_offset("ten", "X")
    assert F.parse_offset("0x10000", "X") == 0x10000


def test_chip_mismatch_message_names_the_right_board():
    boards = B.load_boards()
    msg = F.chip_mismatch("/dev/ttyUSB0", "ESP32-S3", board("ESP32_GENERIC"), boards)
    assert msg == (
        "The board on '/dev/ttyUSB0' is an ESP32-S3 but BOARD=ESP32_GENERIC expects ESP32; pass BOARD=ESP32_GENERIC_S3."
    )
    assert F.chip_mismatch("/dev/ttyUSB0", "ESP32-S3", board("ESP32_GENERIC_S3"), boards) is None
    assert F.chip_mismatch("COM4", "ESP32-C6", board("ESP32_GENERIC_C3"), boards).endswith(
        "is an ESP32-C6 but BOARD=ESP32_GENERIC_C3 expects ESP32-C3; pass BOARD=ESP32_GENERIC_C6."
    )
    assert F.chip_mismatch("p", "ESP32-H2", board("ESP32_GENERIC"), boards).endswith(
        "no board in boards/ uses that chip; add one."
    )
    assert F.chip_key("ESP32-S3") == "esp32s3"


# --------------------------------------------------------------------------------------------
# Serial ports


def test_pick_port():
    ports = [S.SerialPort("/dev/ttyS0"), S.SerialPort("/dev/ttyUSB0", 0x10C4, 0xEA60, "CP2102")]
    assert S.pick_port(ports) == "/dev/ttyUSB0"
    with pytest.raises(S.DeployError) as err:
        S.pick_port([S.SerialPort("/dev/ttyS0")])
    assert str(err.value) == (
        "No board found on a USB serial port: plug it in with a data cable, or pass PORT=/dev/ttyUSB0 (Windows: PORT=COM3)."
    )
    two = ports + [S.SerialPort("/dev/ttyACM0", 0x303A, 0x1001)]
    with pytest.raises(S.DeployError, match=r"Several serial ports look like boards \(/dev/ttyUSB0, /dev/ttyACM0\): pass PORT="):
        S.pick_port(two)
    assert S.pick_port(two + [S.SerialPort("/dev/ttyACM1", 0x2E8A, 5)], vids=[0x2E8A]) == "/dev/ttyACM1"
    unknown = [S.SerialPort("/dev/ttyACM5", 0x1234, 1)]
    assert S.pick_port(unknown) == "/dev/ttyACM5"  # a USB serial port of unknown make still counts


# --------------------------------------------------------------------------------------------
# Errors through main() (real files, real serial ports)


def kit_with_firmware(tmp_path, name, payload=b"\xe9fake image"):
    kit = tmp_path / "kit"
    shutil.copytree(str(ROOT / "boards"), str(kit / "boards"))
    b = B.load_board(name, kit)
    out = kit / "firmware" / name
    out.mkdir(parents=True)
    (out / b.firmware).write_bytes(payload)
    return kit


def test_missing_firmware(tmp_path, capsys):
    kit = tmp_path / "kit"
    shutil.copytree(str(ROOT / "boards"), str(kit / "boards"))
    with pytest.raises(F.FlashError) as err:
        F.flash("ESP32_GENERIC_S3", "/dev/ttyUSB0", root=kit)
    assert str(err.value) == (
        "No firmware at 'firmware/ESP32_GENERIC_S3/firmware.bin': build it first with `make BOARD=ESP32_GENERIC_S3 firmware`."
    )
    with pytest.raises(F.FlashError, match=r"No firmware at 'firmware/RPI_PICO_W/firmware.uf2'"):
        F.flash("RPI_PICO_W", root=kit)


def test_main_reports_one_line(capsys):
    assert F.main(["--board", "NOPE"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown board 'NOPE'. Known boards:") and err.count("\n") == 1
    assert F.main(["--board", "UNIX"]) == 1
    assert capsys.readouterr().err == (
        "error: BOARD=UNIX is the virtual board (the unix port): there is nothing to flash; run it with `make run`.\n"
    )


def test_missing_serial_port(tmp_path):
    kit = kit_with_firmware(tmp_path, "ESP32_GENERIC")
    with pytest.raises(F.FlashError) as err:
        F.flash("ESP32_GENERIC", "/dev/ttyUSB99", root=kit)
    assert str(err.value) == (
        "Serial port '/dev/ttyUSB99' does not exist: check the cable and the name (list the ports with "
        "`python -m serial.tools.list_ports`)."
    )


def test_silent_port_fails_after_retrying_at_lower_baud(tmp_path):
    """A serial port with nothing behind it: esptool's real connect fails at both bauds."""
    kit = kit_with_firmware(tmp_path, "ESP32_GENERIC")
    master, slave = pty.openpty()
    try:
        port = os.ttyname(slave)
        b = B.load_board("ESP32_GENERIC", kit)
        plan = F.esp_plan(b, kit / "firmware" / "ESP32_GENERIC" / "firmware.bin", port)
        said = []
        with pytest.raises(F.FlashError) as err:
            F.flash_esp(plan, b, B.load_boards(kit), log=said.append, connect_attempts=1)
    finally:
        os.close(master)
        os.close(slave)
    assert said and said[0].startswith("Failed at 460800 baud (") and said[0].endswith("); retrying at 115200.")
    assert str(err.value).startswith("esptool could not flash the board on '%s': " % port)
    assert str(err.value).endswith("or try BAUD=115200.")


# --------------------------------------------------------------------------------------------
# RP2: boot drives


def boot_drive(folder, board_id):
    folder.mkdir(parents=True)
    (folder / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: %s\n" % board_id)
    return folder


def test_find_and_pick_boot_drive(tmp_path):
    media = tmp_path / "media"
    pico = boot_drive(media / "RPI-RP2", "RPI-RP2")
    (media / "USBSTICK").mkdir()
    drives = F.find_boot_drives([media, tmp_path / "absent"])
    assert [d for d, _ in drives] == [pico]
    assert drives[0][1]["Board-ID"] == "RPI-RP2"
    assert F.pick_boot_drive(board("RPI_PICO_W"), drives) == pico
    with pytest.raises(F.FlashError) as err:
        F.pick_boot_drive(board("RPI_PICO2_W"), drives)
    assert str(err.value) == (
        "The boot drive '%s' is an RP2040 but BOARD=RPI_PICO2_W expects RP2350; pass BOARD=RPI_PICO_W." % pico
    )
    assert F.pick_boot_drive(board("RPI_PICO_W"), []) is None


def test_uf2_is_copied_to_the_boot_drive(tmp_path):
    kit = kit_with_firmware(tmp_path, "RPI_PICO2_W", b"UF2\n" * 128)
    drive = boot_drive(tmp_path / "media" / "RP2350", "RP2350")
    result = F.flash_rp2(B.load_board("RPI_PICO2_W", kit), kit / "firmware" / "RPI_PICO2_W" / "firmware.uf2",
                         roots=[tmp_path / "media"], log=lambda line: None)  # fmt: skip
    assert result.startswith("copied to %s" % drive)
    assert (drive / "firmware.uf2").read_bytes() == b"UF2\n" * 128


def test_no_boot_drive_and_no_picotool(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no picotool
    kit = kit_with_firmware(tmp_path, "RPI_PICO_W")
    with pytest.raises(F.FlashError) as err:
        F.flash_rp2(B.load_board("RPI_PICO_W", kit), kit / "firmware" / "RPI_PICO_W" / "firmware.uf2",
                    roots=[tmp_path / "media"], ports=[], log=lambda line: None)  # fmt: skip
    assert str(err.value) == (
        "No RP2 boot drive found: hold BOOTSEL while plugging the RPI_PICO_W in (it mounts as RPI-RP2), "
        "then run `make flash BOARD=RPI_PICO_W` again."
    )
    with pytest.raises(F.FlashError, match=r"^Erasing RPI_PICO_W needs picotool"):
        F.flash_rp2(B.load_board("RPI_PICO_W", kit), None, erase=True, roots=[], ports=[])


def test_picotool_command():
    assert F.picotool_argv(Path("firmware/RPI_PICO_W/firmware.uf2")) == [
        "picotool", "load", "-x", "firmware/RPI_PICO_W/firmware.uf2",
    ]  # fmt: skip
    assert F.rp2_serial_port(None, [S.SerialPort("/dev/ttyACM0", 0x2E8A, 5), S.SerialPort("/dev/ttyUSB0", 0x10C4, 1)]) == "/dev/ttyACM0"
    assert F.rp2_serial_port(None, [S.SerialPort("/dev/ttyUSB0", 0x10C4, 1)]) is None
