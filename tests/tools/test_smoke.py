"""tools/suite/smoke.py: the hardware suite run end to end against the virtual board, a broken route
that must make it fail, the report, and the commands used for real boards."""
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tools.suite import smoke as S

ROOT = Path(__file__).resolve().parents[2]
KIT_UNIX = ROOT / "firmware" / "UNIX" / "micropython"


def test_probe_command_does_not_soft_reset_first():
    argv = S.probe_command("mpremote", "/dev/ttyUSB0")
    assert argv[:5] == ["mpremote", "connect", "/dev/ttyUSB0", "resume", "exec"]
    assert "SMOKE-IP" in argv[5]
    assert S.probe_command("mpremote", None)[1:3] == ["connect", "auto"]


def test_parse_probe():
    assert S.parse_probe("noise\nSMOKE-IP 192.168.1.50\n") == "192.168.1.50"
    assert S.parse_probe("SMOKE-IP \n") is None
    assert S.parse_probe("Traceback ...\n") is None


def test_copy_command_copies_the_smoke_app():
    argv = S.copy_command("mpremote", "COM3", S.APP)
    assert argv[:3] == ["mpremote", "connect", "COM3"]
    assert ["cp", "main.py", ":main.py"] == argv[argv.index("main.py") - 1:argv.index("main.py") + 2]
    assert ":static/smoke.txt.gz" in argv
    assert argv.index(":static/smoke.txt.gz") > argv.index("exec")  # folder made first
    assert S.reset_command("mpremote", "COM3") == ["mpremote", "connect", "COM3", "reset"]


def test_deploy_uses_the_kits_deploy_tool():
    argv = S.deploy_command("/dev/ttyACM0", S.APP)
    assert argv[1:3] == ["-m", "tools.device.deploy"]
    assert argv[argv.index("--app") + 1] == str(S.APP)
    assert argv[argv.index("--port") + 1] == "/dev/ttyACM0"
    assert "--no-reset" in argv  # the hard reset that follows starts the smoke app


def test_pytest_command():
    argv = S.pytest_command("http://10.0.0.2:5000", Path("/r/hw.xml"), ["sse", "websocket"], ["-k", "json"])
    assert argv[1:4] == ["-m", "pytest", "tests/hardware"]
    assert argv[argv.index("--device") + 1] == "http://10.0.0.2:5000"
    assert argv[argv.index("--junitxml") + 1] == "/r/hw.xml"
    assert argv[argv.index("--hw-expect") + 1] == "sse,websocket"
    assert argv[-2:] == ["-k", "json"]
    assert "--hw-expect" not in S.pytest_command("http://x", Path("r.xml"))
    assert S.pytest_command("http://x", Path("r.xml"), [])[-1] == "none"


def test_format_report():
    rows = [{"test": "test_a::one", "result": "PASS", "latency_ms": "2.5", "message": ""},
            {"test": "test_a::two", "result": "FAIL", "latency_ms": "10.0", "message": "assert 1 == 2"}]
    text = S.format_report(rows, {"heap_free_before": "1000", "heap_free_after": "900", "board": "X",
                                  "micropython": "1.28.0", "device": "http://b:5000"})
    lines = text.splitlines()
    assert lines[0].split() == ["TEST", "RESULT", "LATENCY", "ms"]
    assert lines[1].split() == ["test_a::one", "PASS", "2.5"]
    assert "FAIL (assert 1 == 2)" in lines[2] and lines[2].endswith("10.0")
    assert "2 tests: 1 fail, 1 pass; 12 ms" in text
    assert "free heap 1000 -> 900 bytes (-100)" in text


def _rows(report):
    rows, props = S.parse_junit(report)
    return {r["test"]: r for r in rows}, props


def test_suite_passes_on_the_virtual_board(tmp_path, capsys):
    report = tmp_path / "hw.xml"
    code = S.main(["--board", "UNIX", "--report", str(report), "--", "-k", "json or info or upload"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows, props = _rows(report)
    assert rows["test_bodies::test_json_round_trip"]["result"] == "PASS"
    assert rows["test_bodies::test_multipart_upload"]["result"] == "PASS"
    assert all(float(r["latency_ms"]) >= 0 for r in rows.values())
    assert int(props["heap_free_before"]) > 0 and int(props["heap_free_after"]) > 0
    assert props["board"] == "UNIX"
    assert "test_bodies::test_json_round_trip" in out and "free heap" in out
    assert (tmp_path / "hw.txt").read_text().startswith("TEST")


def test_board_without_an_extension_skips_its_tests(tmp_path, capsys):
    # ESP32_GENERIC has no multipart: /upload answers 501 and the upload test skips
    report = tmp_path / "hw.xml"
    assert S.main(["--board", "ESP32_GENERIC", "--report", str(report), "--", "-k", "upload or expected"]) == 0
    rows, _ = _rows(report)
    assert rows["test_bodies::test_multipart_upload"]["result"] == "SKIP"
    assert rows["test_info::test_image_has_the_expected_extensions"]["result"] == "PASS"


def test_broken_route_makes_the_suite_fail(tmp_path, capsys):
    report = tmp_path / "hw.xml"
    code = S.main(["--board", "UNIX", "--break", "json", "--report", str(report), "--", "-k", "json"])
    captured = capsys.readouterr()
    assert code == 1
    assert "error: the hardware suite failed" in captured.err
    rows, _ = _rows(report)
    assert rows["test_bodies::test_json_round_trip"]["result"] == "FAIL"
    assert rows["test_bodies::test_json_list"]["result"] == "FAIL"
    assert rows["test_bodies::test_broken_json_is_400"]["result"] == "PASS"  # only the route broke


def test_unreachable_device_fails(tmp_path, capsys):
    # a port on loopback that nobody listens on: the suite must error out, not pass or skip
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = S.main(["--device", "http://127.0.0.1:%d" % port, "--report", str(tmp_path / "hw.xml"),
                   "--", "-k", "test_index"])
    assert code != 0


def test_break_needs_the_virtual_board(capsys):
    assert S.main(["--device", "http://127.0.0.1:1", "--break", "json"]) == 1
    assert "--break only applies to the virtual board" in capsys.readouterr().err


@pytest.mark.skipif(not (os.environ.get("MICROPY_DIR") and KIT_UNIX.is_file()),
                    reason="needs MICROPY_DIR and firmware/UNIX/micropython (make BOARD=UNIX firmware NATIVE=1)")
def test_suite_passes_on_the_kit_built_unix_firmware(tmp_path, capsys):
    report = tmp_path / "hw.xml"
    code = S.main(["--board", "UNIX", "--micropython", str(KIT_UNIX), "--report", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "frozen framework" in out
    rows, _ = _rows(report)
    assert rows["test_info::test_framework_is_compiled_or_frozen_not_source"]["result"] == "PASS"
    assert sum(r["result"] == "PASS" for r in rows.values()) >= 40


def test_device_where_nothing_answers_fails_in_one_line(capsys):
    import socket

    with socket.socket() as s:  # a port of ours that refuses connections
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert S.main(["--board", "ESP32_GENERIC", "--device", "http://127.0.0.1:%d" % port]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Nothing answers at http://127.0.0.1:%d (" % port)
    assert "PORT=" in lines[0] and "DEVICE=" in lines[0]


def test_make_test_hw_against_a_closed_port_is_short_and_fails():
    import subprocess

    proc = subprocess.run(["make", "-s", "test-hw", "DEVICE=http://127.0.0.1:9"], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = [l for l in (proc.stdout + proc.stderr).splitlines() if l.strip()]
    assert 1 <= len(lines) <= 3, lines
    assert any("Nothing answers at http://127.0.0.1:9" in l for l in lines)


def test_device_that_is_not_the_smoke_app(capsys):
    from tools.targets import virtual as V

    hello = ROOT / "examples" / "hello"
    with V.VirtualBoard("UNIX", app=hello, netns="off", quiet=True) as vb:
        assert S.main(["--device", vb.url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not the smoke app (404 for /__smoke/info)" in err
    assert "make smoke PORT=" in err
