"""The Target interface (tools/targets/base.py): every implementation has all of it, the factory
(tools/targets/select.py) picks the right one, and each target that can run here answers through it -
the virtual board (real unix port), the bare-metal board (real qemu-system-arm, when its image is
built) and a live board on a serial port (the unix port behind a pty, driven by the real mpremote).
"""
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tools.device import deploy as D
from tools.targets import live, qemu_arm, qemu_esp32, select, virtual
from tools.targets.base import Facts, Target, TargetError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))
IMPLEMENTATIONS = [virtual.VirtualBoard, qemu_arm.BareMetalBoard, qemu_esp32.EmulatedBoard, live.LiveBoard]
MPS2_IMAGE = qemu_arm.firmware_path(qemu_arm.B.load_board("QEMU_MPS2_AN385"))


def get(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as r:
        return r.status, r.read().decode()


# -- the interface ----------------------------------------------------------------------------


def test_the_interface_is_what_the_issue_asks_for():
    assert Target.__abstractmethods__ == {"start", "stop", "url", "console_text", "console_run", "reset", "facts"}
    assert hasattr(Target, "__enter__") and hasattr(Target, "console") and issubclass(
        qemu_esp32.QemuError, TargetError)


@pytest.mark.parametrize("cls", IMPLEMENTATIONS, ids=lambda c: c.__name__)
def test_every_implementation_implements_every_abstract_member(cls):
    assert issubclass(cls, Target)
    assert not cls.__abstractmethods__
    for name in Target.__abstractmethods__:
        # its own code, not the abstract stub of Target
        owner = next(k for k in cls.__mro__ if name in vars(k))
        assert owner is not Target, "%s.%s is Target's abstract member" % (cls.__name__, name)
    assert issubclass(cls.error, TargetError) and cls.error is not TargetError
    assert cls.kind != Target.kind


def test_a_target_missing_a_member_cannot_be_made():
    class Half(Target):
        def start(self):
            return self

        def stop(self):
            pass

    with pytest.raises(TypeError, match="abstract"):
        Half()


def test_facts_describe_the_image_in_one_line():
    f = Facts(kind="virtual", board="UNIX", port="unix", micropython="1.29.0", modules_of="ESP32_GENERIC")
    assert f.describe() == "virtual board UNIX (unix port, MicroPython 1.29.0) with ESP32_GENERIC's modules"
    assert Facts(kind="live", board="RPI_PICO_W", port="rp2").describe() == "board RPI_PICO_W (rp2 port)"


# -- the factory --------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, cls", [
    ({}, virtual.VirtualBoard),
    ({"board": "UNIX"}, virtual.VirtualBoard),
    ({"board": "ESP32_GENERIC"}, virtual.VirtualBoard),
    ({"board": "QEMU_MPS2_AN385"}, qemu_arm.BareMetalBoard),
    ({"board": "ESP32_C3_QEMU"}, qemu_esp32.EmulatedBoard),
    ({"device": "http://192.168.1.50:5000"}, live.LiveBoard),
    ({"port": "/dev/ttyUSB0"}, live.LiveBoard),
    ({"board": "ESP32_C3_QEMU", "device": "http://127.0.0.1:8080"}, live.LiveBoard),
    ({"board": "ESP32_GENERIC", "port": "/dev/ttyUSB0"}, live.LiveBoard),
])
def test_the_factory_picks_the_implementation(kwargs, cls):
    assert select.target_class(**kwargs) is cls


def test_the_factory_opens_targets_without_starting_them(tmp_path):
    t = select.open_target(device="192.168.1.50:5000/")
    assert isinstance(t, live.LiveBoard) and t.url == "http://192.168.1.50:5000" and t.console.device is None
    t = select.open_target("QEMU_MPS2_AN385", firmware=tmp_path / "none.elf")
    assert isinstance(t, qemu_arm.BareMetalBoard) and t.url is None and t.proc is None
    with pytest.raises(TargetError, match="has no network or filesystem for an app"):
        select.open_target("QEMU_MPS2_AN385", app=ROOT / "examples" / "hello")
    with pytest.raises(TargetError, match="^Unknown board 'NOPE'. Known boards: "):
        select.open_target("NOPE")
    vb = select.open_target(app=ROOT / "examples" / "hello", quiet=True)
    assert isinstance(vb, virtual.VirtualBoard) and vb.proc is None and vb.board == "UNIX"


# -- the virtual board through the interface -----------------------------------------------------


def test_virtual_board_through_the_interface():
    with select.open_target("ESP32_GENERIC", app=ROOT / "examples" / "hello", netns="off", quiet=True) as t:
        status, body = get(t.url + "/")
        assert status == 200 and "Hello from Microdot!" in body
        facts = t.facts()
        assert (facts.kind, facts.board, facts.port, facts.modules_of) == ("virtual", "UNIX", "unix", "ESP32_GENERIC")
        assert facts.micropython and facts.micropython[0].isdigit()
        assert facts.extensions == ["cors", "session", "sse", "websocket", "wifi"]
        assert "with ESP32_GENERIC's modules" in facts.describe()
        # a snippet runs on the same image: the board's modules, not src/
        out = t.console.run("import microdot.sse, sys\nprint(6 * 7)\ntry:\n import microdot.multipart\n"
                            "except ImportError:\n print('no multipart')")
        assert out == "42\nno multipart\n"
        with pytest.raises(TargetError, match="ZeroDivisionError"):
            t.console.run("1 // 0")
        pid = t.proc.pid
        t.reset()
        assert t.proc.pid != pid and get(t.url + "/")[0] == 200
        assert "Starting async server" in t.console.read()
    with pytest.raises(TargetError, match="not running"):
        t.alive()


# -- the bare-metal board through the interface --------------------------------------------------


@pytest.mark.skipif(not MPS2_IMAGE.is_file() or qemu_arm.shutil.which(qemu_arm.QEMU) is None,
                    reason="needs %s (make BOARD=QEMU_MPS2_AN385 firmware NATIVE=1 MICROPY_DIR=...) and %s"
                    % (MPS2_IMAGE, qemu_arm.QEMU))
def test_bare_metal_board_through_the_interface():
    with select.open_target("QEMU_MPS2_AN385") as t:
        assert t.url is None and t.console.device.startswith("/dev/pts/")
        assert t.console.run("print(6 * 7)") == "42\n"
        facts = t.facts()
        assert (facts.kind, facts.board, facts.port) == ("qemu-arm", "QEMU_MPS2_AN385", "qemu")
        assert facts.micropython == "1.28.0"
        assert facts.extensions == (sorted(facts.build_info["extensions"]) if facts.build_info else None)
        t.console.run("x = 1")
        t.reset()
        assert t.console.run("print('x' in globals())") == "False\n"
        assert "42" in t.console.read()
        with pytest.raises(TargetError, match="has no network"):
            t.wait_http()
    assert t.proc is None


# -- a live board on a serial port ---------------------------------------------------------------


def test_live_board_commands():
    assert D.exec_argv("/dev/ttyUSB0", "print(1)")[3:] == ["connect", "/dev/ttyUSB0", "resume", "exec", "print(1)"]
    assert D.reset_argv("COM3")[3:] == ["connect", "COM3", "reset"]
    assert live.parse_probe("noise\nKIT-IP 192.168.1.50\n") == "192.168.1.50"
    assert live.parse_probe("KIT-IP \n") is None and live.parse_probe("Traceback ...\n") is None
    assert live.device_url("10.0.0.2:5000/") == "http://10.0.0.2:5000"
    with pytest.raises(TargetError, match="DEVICE=http://<ip>:5000 or PORT="):
        live.LiveBoard()


MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"


@pytest.mark.skipif(not MICROPYTHON.exists() or os.name != "posix",
                    reason="needs .venv/bin/micropython (make setup) and POSIX ptys")
def test_live_board_on_a_serial_port(tmp_path):
    from serial_board import SerialBoard

    with SerialBoard(str(MICROPYTHON), tmp_path) as board:
        t = select.open_target(port=board.port, echo=lambda line: None)
        assert isinstance(t, live.LiveBoard) and t.console.device == board.port and t.url is None
        assert t.console.run("print(6 * 7)").strip().endswith("42")
        facts = t.facts()
        assert facts.kind == "live" and virtual.micropython_version(str(MICROPYTHON)).startswith(facts.micropython)
        machine = subprocess.run([str(MICROPYTHON), "-c", "import sys; print(sys.implementation._machine)"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
        assert facts.board == machine and facts.port == "?"  # nobody named it: what the board says it is
        assert facts.describe() == "board %s (MicroPython %s)" % (machine, facts.micropython)
        named = select.open_target("ESP32_GENERIC", port=board.port).facts()
        assert (named.board, named.port, named.notes) == ("ESP32_GENERIC", "esp32", [machine])
        # the unix port has no network module: the board says it is on no network
        with pytest.raises(live.LiveError, match="is not on Wi-Fi"):
            t.start()


@pytest.mark.skipif(not MICROPYTHON.exists() or os.name != "posix",
                    reason="needs .venv/bin/micropython (make setup) and POSIX ptys")
def test_live_board_snippet_that_never_ends_times_out(tmp_path):
    from serial_board import SerialBoard

    with SerialBoard(str(MICROPYTHON), tmp_path) as board:
        t = select.open_target(port=board.port)
        with pytest.raises(live.LiveError, match="stopped answering mpremote for 3 s"):
            t.console.run("while True:\n    pass", timeout=3)
