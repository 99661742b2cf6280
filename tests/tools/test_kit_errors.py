"""The kit's failure modes, through the real CLIs: one `error:` line that says what to do,
a non-zero exit, and nothing (half-)written under firmware/.

Each test runs ``python -m tools.<x>`` as a subprocess inside a throw-away copy of the kit
(tools/, boards/, manifests/, src/, firmware/README.md), so broken manifests and fake firmware
files never touch the real tree.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.selection import boards as B
from tools.device import flash as F

ROOT = B.ROOT


def _copy_kit(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("tools", "boards", "manifests", "src"):
        shutil.copytree(str(ROOT / name), str(dest / name), ignore=ignore)
    (dest / "firmware").mkdir()
    shutil.copy(str(ROOT / "firmware" / "README.md"), str(dest / "firmware" / "README.md"))
    vendor = ROOT / ".cache" / "vendor"
    if vendor.is_dir():
        shutil.copytree(str(vendor), str(dest / ".cache" / "vendor"), ignore=ignore)
    return dest


@pytest.fixture
def kit(tmp_path):
    return _copy_kit(tmp_path / "kit")


def snapshot(kit: Path):
    """Every file and folder under firmware/ with its size and mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(str(kit / "firmware")):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            out[str(path.relative_to(kit))] = (st.st_size, st.st_mtime_ns)
    return out


def run_tool(kit: Path, *args: str, timeout: float = 120):
    """Run ``python -m tools.<args>`` in ``kit``; return (exit status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MICROPY_DIR", "PORT", "BOARD")}
    proc = subprocess.run([sys.executable, "-m", *args], cwd=str(kit), env=env, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def assert_one_line_error(kit: Path, args, *phrases, timeout: float = 120):
    """The command fails with one `error:` line (the last line) holding ``phrases``, and
    leaves firmware/ as it was."""
    before = snapshot(kit)
    code, out, err = run_tool(kit, *args, timeout=timeout)
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert code != 0, (args, out[-500:], err[-500:])
    assert len(errors) == 1, (args, err[-1000:])
    assert lines[-1] == errors[0], (args, err[-1000:])
    message = errors[0]
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    assert "Traceback" not in err and "Traceback" not in out, err[-1000:]
    assert snapshot(kit) == before, "firmware/ changed: %s" % sorted(set(snapshot(kit)) ^ set(before))
    return message


# -- unknown board / extension -------------------------------------------------------------

@pytest.mark.parametrize("tool", [
    ["tools.manifest.check", "--board", "NOPE"],
    ["tools.build", "--board", "NOPE"],
    ["tools.device.flash", "--board", "NOPE", "--port", "/dev/null"],
    ["tools.targets", "--board", "NOPE"],
])
def test_unknown_board(kit, tool):
    msg = assert_one_line_error(kit, tool, "Unknown board 'NOPE'", "Known boards:", "ESP32_GENERIC")
    assert msg.rstrip().endswith(".")


@pytest.mark.parametrize("tool", [
    ["tools.manifest.check", "--board", "ESP32_GENERIC", "--extensions", "websocket bogus"],
    ["tools.build", "--board", "ESP32_GENERIC", "--extensions", "bogus"],
    ["tools.build", "--board", "RPI_PICO_W", "--extensions", "sse,bogus"],
])
def test_unknown_extension(kit, tool):
    assert_one_line_error(kit, tool, "Unknown extension 'bogus'", "Valid extensions:", "websocket")


# -- manifest errors -------------------------------------------------------------------------

@pytest.mark.parametrize("tool", ["tools.manifest.check", "tools.build"])
def test_fragment_with_a_syntax_error(kit, tool):
    with open(str(kit / "manifests" / "sse" / "manifest.py"), "a") as f:
        f.write("metadata(\n")
    assert_one_line_error(kit, [tool, "--board", "ESP32_GENERIC"], "manifests/sse/manifest.py",
                          "SyntaxError")


@pytest.mark.parametrize("tool", ["tools.manifest.check", "tools.build"])
def test_fragment_naming_a_missing_module(kit, tool):
    (kit / "src" / "microdot" / "sse.py").unlink()
    assert_one_line_error(kit, [tool, "--board", "ESP32_GENERIC"], "'sse'", "src/microdot/sse.py",
                          "does not exist", "EXTENSIONS")


@pytest.mark.parametrize("tool", [["tools.manifest.check", "--board", "ESP32_GENERIC"], ["tools.selection.boards"]])
def test_broken_board_json(kit, tool):
    (kit / "boards" / "ESP32_GENERIC" / "board.json").write_text('{"name": "ESP32_GENERIC",\n')
    assert_one_line_error(kit, tool, "boards/ESP32_GENERIC/board.json", "Fix the JSON")


def test_app_with_a_syntax_error(kit):
    app = kit / "apps" / "bad"
    app.mkdir(parents=True)
    (app / "main.py").write_text("import lib\n")
    (app / "lib.py").write_text("def broken(:\n    pass\n")
    assert_one_line_error(kit, ["tools.manifest.check", "--board", "ESP32_GENERIC", "--app", "apps/bad"],
                          "lib.py", "SyntaxError", "line 1")


def test_missing_app_folder(kit):
    assert_one_line_error(kit, ["tools.build", "--board", "ESP32_GENERIC", "--app", "apps/nothere"],
                          "apps/nothere", "does not exist")


# -- flashing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("board,make", [("ESP32_GENERIC_C6", "make BOARD=ESP32_GENERIC_C6 firmware"),
                                        ("RPI_PICO_W", "make BOARD=RPI_PICO_W firmware")])
def test_flash_without_firmware(kit, board, make):
    assert_one_line_error(kit, ["tools.device.flash", "--board", board, "--port", "/dev/null"],
                          "No firmware", "firmware/%s/" % board, make)


def test_flash_the_virtual_board(kit):
    assert_one_line_error(kit, ["tools.device.flash", "--board", "UNIX"], "nothing to flash", "make run")


def _fake_firmware(kit: Path, board: str) -> Path:
    out = kit / "firmware" / board
    out.mkdir(parents=True)
    path = out / B.load_board(board).firmware
    path.write_bytes(b"\xe9" + os.urandom(4095))
    return path


def test_flash_to_a_port_that_does_not_exist(kit):
    _fake_firmware(kit, "ESP32_GENERIC")
    assert_one_line_error(kit, ["tools.device.flash", "--board", "ESP32_GENERIC", "--port", "/dev/ttyNOPE0"],
                          "'/dev/ttyNOPE0'", "does not exist", "check the cable")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal (os.openpty)")
def test_flash_to_a_board_that_does_not_answer(kit):
    # a pseudo-terminal is a serial port where nothing ever answers: esptool gives up
    fw = _fake_firmware(kit, "ESP32_GENERIC")
    master, slave = os.openpty()
    try:
        port = os.ttyname(slave)
        msg = assert_one_line_error(kit, ["tools.device.flash", "--board", "ESP32_GENERIC", "--port", port],
                                    "could not flash", port, "Check the cable", "BAUD=115200",
                                    timeout=180)
    finally:
        os.close(master)
        os.close(slave)
    assert fw.is_file()  # the image is left as it was (snapshot() compared it too)
    assert "No serial data" in msg or "Failed to connect" in msg


# -- wrong chip ----------------------------------------------------------------------------------

def test_wrong_chip_names_the_board_to_use():
    boards = [B.load_board(name) for name in B.board_names()]
    esp32 = B.load_board("ESP32_GENERIC")
    msg = F.chip_mismatch("/dev/ttyUSB0", "ESP32-S3", esp32, boards)
    assert msg is not None and "\n" not in msg
    assert "'/dev/ttyUSB0'" in msg and "ESP32-S3" in msg and "BOARD=ESP32_GENERIC" in msg
    assert msg.endswith("pass BOARD=ESP32_GENERIC_S3.")
    assert F.chip_mismatch("/dev/ttyUSB0", "ESP32", esp32, boards) is None
    c3 = B.load_board("ESP32_GENERIC_C3")
    assert F.chip_mismatch("/dev/ttyUSB0", "ESP32-C3", c3, boards) is None
    msg = F.chip_mismatch("/dev/ttyUSB0", "ESP32-H2", c3, boards)
    assert "no board in boards/ uses that chip" in msg and "\n" not in msg
