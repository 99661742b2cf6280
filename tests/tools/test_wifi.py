"""tools.device.wifi (credentials onto the board) and src/kit/kitnet.py (joining at boot).

kitnet runs under CPython and under MicroPython with a stand-in ``network`` module injected
through ``sys.modules`` (tests/tools/kitnet_scenarios.py); ``make wifi`` runs for real against
MicroPython's unix port on a serial pty (tests/tools/serial_board.py).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.device import wifi as W

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
sys.path.insert(0, str(HERE))
needs_micropython = pytest.mark.skipif(not MICROPYTHON.exists(), reason="no .venv/bin/micropython; run `make setup`")


# --------------------------------------------------------------------------------------------
# kitnet on both runtimes


def run_scenarios(runtime, tmp_path):
    exe = sys.executable if runtime == "cpython" else str(MICROPYTHON)
    if runtime == "micropython" and not MICROPYTHON.exists():
        pytest.skip("no .venv/bin/micropython; run `make setup`")
    proc = subprocess.run(
        [exe, str(HERE / "kitnet_scenarios.py"), str(ROOT / "src" / "kit"), str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
    )  # fmt: skip
    text = proc.stdout.decode()
    assert proc.returncode == 0, text
    return {r["name"]: r for r in (json.loads(line) for line in text.splitlines())}


@pytest.fixture(params=["cpython", "micropython"])
def scenarios(request, tmp_path):
    return run_scenarios(request.param, tmp_path)


def test_kitnet_retries_with_backoff_then_connects(scenarios):
    r = scenarios["retry"]
    assert r["result"] == "10.0.0.8"
    assert r["calls"] == ["hostname(kitboard)", "WLAN(0)", "active(True)", "connect(Home,secret123)",
                          "disconnect()", "connect(Home,secret123)"]  # fmt: skip
    assert r["sleeps"] == [0.25, 0.25, 1, 0.25, 0.25]  # two polls, back-off 1 s, two polls
    assert r["log"][-1] == "kitnet: connected to 'Home', IP 10.0.0.8"
    assert "kitnet: no connection (connect fail)" in r["log"]


def test_kitnet_stops_on_wrong_password(scenarios):
    r = scenarios["wrong_password"]
    assert r["result"] is None
    assert r["calls"].count("connect(Home,nope)") == 1
    assert "kitnet: no connection (wrong password)" in r["log"]


def test_kitnet_backoff_doubles_until_attempts_run_out(scenarios):
    r = scenarios["timeout"]
    assert r["result"] is None
    assert [s for s in r["sleeps"] if s != 0.25] == [1, 2]
    assert r["sleeps"].count(0.25) == 12  # 1 s timeout = 4 polls per attempt, 3 attempts
    assert "kitnet: no connection (no address after 1 s)" in r["log"]
    assert r["log"][-1].startswith("kitnet: could not join 'Home'")


def test_kitnet_connect_oserror_is_a_failed_attempt(scenarios):
    assert scenarios["oserror"]["result"] == "10.0.0.8"
    assert scenarios["oserror"]["log"][1].startswith("kitnet: connect failed: ")


def test_kitnet_without_credentials(scenarios):
    assert scenarios["missing"]["result"] is None
    assert scenarios["missing"]["log"][0].startswith("kitnet: no ") and "make wifi" in scenarios["missing"]["log"][0]
    assert scenarios["missing"]["calls"] == []  # did not touch the radio
    assert scenarios["bad_json"]["log"][0].endswith("bad.json is not valid JSON; run `make wifi SSID=... PASSWORD=...` again")
    assert "no ssid in" in scenarios["no_ssid"]["log"][0]


def test_kitnet_ip_follows_the_interface(scenarios):
    assert scenarios["ip_follows"]["result"] == ["10.0.0.7", "10.0.0.7", None, None, None, None]
    assert scenarios["ip_follows"]["calls"][-1] == "active(False)"


def test_kitnet_on_a_port_without_network(scenarios):
    assert scenarios["no_network"]["result"] == ["127.0.0.1", "127.0.0.1"]


def test_kitnet_load_and_delays(scenarios):
    assert scenarios["load"]["result"] == [{"ssid": "Home", "password": "secret123", "hostname": "kitboard"}, None]
    assert scenarios["delays"]["result"] == [[1, 2, 4, 4], [], [2, 4]]


def test_kitnet_follows_house_style():
    text = (ROOT / "src" / "kit" / "kitnet.py").read_text()
    assert 'f"' not in text and "f'" not in text
    assert "import network" not in text.split("def connect", 1)[0]  # imported lazily


# --------------------------------------------------------------------------------------------
# tools.device.wifi: pure parts


def test_validate():
    for ssid, password in [("Home", "secret123"), ("Café", ""), ("x" * 32, "p" * 63), ("Net", "ab" * 32)]:
        W.validate(ssid, password)
    cases = [
        ("", "secret123", 'SSID is empty: pass SSID="your network" PASSWORD="its password".'),
        ("x" * 33, "secret123", "is longer than 32 bytes"),
        ("Home", "short", "PASSWORD has 5 characters; WPA passwords have 8 to 63 (leave it empty for an open network)."),
        ("Home", "p" * 64, "PASSWORD has 64 characters"),
        ("Home", "pässwörd1", "outside printable ASCII"),
    ]
    for ssid, password, message in cases:
        with pytest.raises(W.WifiError) as err:
            W.validate(ssid, password)
        assert message in str(err.value)


def test_config_and_boot_block():
    assert json.loads(W.config_text("Home", "pw123456", "kit")) == {"ssid": "Home", "password": "pw123456", "hostname": "kit"}
    fresh = W.boot_with_kitnet(None)
    assert fresh.startswith(W.BEGIN) and "kitnet.connect()" in fresh
    kept = W.boot_with_kitnet("# This file is executed on every boot\nimport esp")
    assert kept.startswith("# This file is executed on every boot\nimport esp\n" + W.BEGIN)
    assert W.boot_with_kitnet(kept) is None  # already there: left alone
    compile(fresh, "boot.py", "exec")


def test_write_argv(tmp_path):
    argv = W.write_argv("/dev/ttyACM0", tmp_path / "wifi.json", tmp_path / "boot.py", connect=True)
    assert argv == [
        sys.executable, "-m", "mpremote", "connect", "/dev/ttyACM0",
        "fs", "cp", str(tmp_path / "wifi.json"), ":wifi.json", "+",
        "fs", "cp", str(tmp_path / "boot.py"), ":boot.py", "+",
        "exec", "import kitnet; kitnet.connect()",
    ]  # fmt: skip
    assert W.write_argv("p", tmp_path / "w", None, False)[-2:] == [str(tmp_path / "w"), ":wifi.json"]


@needs_micropython
def test_probe_runs_on_micropython(tmp_path):
    (tmp_path / "boot.py").write_text("# boot\n")
    env = dict(os.environ, MICROPYPATH=str(ROOT / "src" / "kit"))
    proc = subprocess.run([str(MICROPYTHON), "-c", W.PROBE], cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, timeout=60)
    assert W.parse_probe(proc.stdout.decode()) == ("# boot\n", True)
    proc = subprocess.run([str(MICROPYTHON), "-c", W.PROBE], cwd=str(tmp_path / ".."), stdout=subprocess.PIPE, timeout=60,
                          env=dict(os.environ, MICROPYPATH=str(tmp_path)))  # fmt: skip
    assert W.parse_probe(proc.stdout.decode()) == (None, False)


def test_errors(capsys):
    assert W.main(["--ssid", "", "--password", "x"]) == 1
    assert capsys.readouterr().err == 'error: SSID is empty: pass SSID="your network" PASSWORD="its password".\n'
    assert W.main(["--ssid", "Home", "--password", "secret123", "--port", "/dev/ttyUSB42"]) == 1
    assert capsys.readouterr().err.startswith("error: Serial port '/dev/ttyUSB42' does not exist")


# --------------------------------------------------------------------------------------------
# make wifi for real, against a board on a serial port


@needs_micropython
@pytest.mark.skipif(os.name != "posix", reason="the virtual serial board needs POSIX ptys")
def test_store_writes_credentials_on_the_board_only(tmp_path, capsys):
    from serial_board import SerialBoard

    board_fs = tmp_path / "board"
    board_fs.mkdir()
    (board_fs / "boot.py").write_text("# This file is executed on every boot\n")
    env = dict(os.environ, MICROPYPATH=str(ROOT / "src" / "kit"))  # kitnet "frozen" in
    before = {p for p in ROOT.rglob("wifi.json")}
    with SerialBoard(str(MICROPYTHON), board_fs, env=env) as board:
        W.store("Home Net", "correct horse", board.port, connect=True)
        assert json.loads((board_fs / "wifi.json").read_text()) == {"ssid": "Home Net", "password": "correct horse"}
        boot = (board_fs / "boot.py").read_text()
        assert boot.startswith("# This file is executed on every boot\n" + W.BEGIN)
        out = capsys.readouterr().out
        assert "kitnet: no network module on this port; the host network is up, IP 127.0.0.1" in out
        W.store("Other", "", board.port)
        assert json.loads((board_fs / "wifi.json").read_text())["ssid"] == "Other"
        assert (board_fs / "boot.py").read_text() == boot  # the block is not added twice
    assert {p for p in ROOT.rglob("wifi.json")} == before  # nothing written into the project
