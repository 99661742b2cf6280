"""tools/suite/smoke.py: the hardware suite run end to end against the virtual board, a broken route
that must make it fail, the report, and which target `make test-hw` names. (The live board's
serial commands are tested in test_targets.py.)"""
import os
from pathlib import Path

import pytest

from tools.suite import smoke as S

ROOT = Path(__file__).resolve().parents[2]
KIT_UNIX = ROOT / "firmware" / "UNIX" / "micropython"


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
    named = S.format_report(rows, {}, "virtual board UNIX (unix port)").splitlines()
    assert named[0] == "target: virtual board UNIX (unix port)" and named[1].split()[0] == "TEST"


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
    text = (tmp_path / "hw.txt").read_text()
    assert text.startswith("target: virtual board UNIX (unix port, MicroPython ")
    assert text.splitlines()[1].startswith("TEST")


def test_board_without_an_extension_skips_its_tests(tmp_path, capsys):
    # ESP32_GENERIC has no multipart: /upload answers 501 and the upload test skips
    report = tmp_path / "hw.xml"
    assert S.main(["--board", "ESP32_GENERIC", "--report", str(report), "--", "-k", "upload or expected"]) == 0
    rows, _ = _rows(report)
    assert rows["test_bodies::test_multipart_upload"]["result"] == "SKIP"
    assert rows["test_info::test_image_has_the_expected_extensions"]["result"] == "PASS"
    # the image is the unix port's: the board says so, and whose modules it holds
    _, props = _rows(report)
    assert props["board"] == "UNIX with ESP32_GENERIC's modules"
    assert (tmp_path / "hw.txt").read_text().startswith(
        "target: virtual board UNIX (unix port, MicroPython ")
    assert "with ESP32_GENERIC's modules" in (tmp_path / "hw.txt").read_text().splitlines()[0]


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


def _make_n(*args):
    import subprocess

    proc = subprocess.run(["make", "-n", *args], cwd=str(ROOT), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if "tools.suite.smoke" in l or "tools.targets" in l]
    assert len(lines) == 1, proc.stdout
    return lines[0].split()


@pytest.mark.parametrize("target", ["test-hw", "smoke", "run"])
def test_make_names_the_board_only_when_it_is_given(target):
    # The Makefile's BOARD defaults to ESP32_GENERIC for firmware builds; with no BOARD on the
    # command line the virtual board is UNIX, and must not be called ESP32_GENERIC.
    argv = _make_n(target)
    assert "ESP32_GENERIC" not in argv
    assert "--board" not in argv or argv[argv.index("--board") + 1] == "UNIX"
    argv = _make_n(target, "BOARD=ESP32_GENERIC")
    assert argv[argv.index("--board") + 1] == "ESP32_GENERIC"


def test_make_test_hw_without_a_board_reports_the_virtual_board(tmp_path, capsys):
    argv = _make_n("test-hw", "NETNS=0")
    args = argv[argv.index("tools.suite.smoke") + 1:]
    report = tmp_path / "hw.xml"
    assert S.main(args + ["--report", str(report), "--", "-k", "test_info_describes_the_board"]) == 0
    out = capsys.readouterr().out
    assert "== target: virtual board UNIX (unix port, MicroPython " in out
    assert "\ntarget: virtual board UNIX (unix port" in out  # the report's header
    assert "board UNIX (MicroPython " in out and "ESP32_GENERIC" not in out


def test_suite_against_a_device_url_goes_through_the_live_board(tmp_path, capsys):
    # DEVICE= only: the live board attaches to a board already running the smoke app (here the
    # virtual board started by hand) and the suite runs against it without starting anything.
    from tools.targets import virtual as V

    with V.VirtualBoard("UNIX", app=V.SMOKE_APP, netns="off", quiet=True) as vb:
        report = tmp_path / "hw.xml"
        code = S.main(["--device", vb.url + "/", "--board", "RPI_PICO_W", "--report", str(report),
                       "--", "-k", "test_json_round_trip"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "== target: board RPI_PICO_W (rp2 port) at %s" % vb.url in out
    assert (tmp_path / "hw.txt").read_text().startswith("target: board RPI_PICO_W (rp2 port)\n")
    assert "starting" not in out  # nothing was deployed or started
