"""`make run OTA_TOKEN=...`: the virtual board as a board in the field (tools/targets/virtual.py with
an OTA token; the kit's start-up from tools/targets/virtual_host/kitboard.py).

Real parts: the MicroPython unix port, real HTTP on loopback, the real CLIs (python -m tools.targets,
tools/device/ota.py, tools/device/logs.py). Without a token the board is what it was: the app's
main.py, no stand-ins, no OTA routes.
"""
import os
import subprocess
import sys
import time

import pytest
import requests

from tools.device import logs as L
from tools.device import ota as O
from tools.targets import virtual as V
from tools.targets.select import open_target

ROOT = V.ROOT
MISSING = V.unavailable()
pytestmark = pytest.mark.skipif(MISSING is not None, reason="virtual board unavailable: %s" % MISSING)

TOKEN = "virtual-field-token-42"
APP = ("import os\nfrom microdot import Microdot\nimport kitota\napp = Microdot()\n"
       "@app.get('/')\nasync def index(request):\n    return 'app %s'\n"
       "kitota.install(app)\napp.run(port=int(os.getenv('PORT')))\n")


def app_dir(tmp_path, name, source):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "main.py").write_text(source)
    return folder


def wait_for(url, timeout=40.0, text=None):
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = requests.get(url, timeout=5)
            if text is None or r.text == text:
                return r
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("no %s from %s" % (repr(text) if text else "answer", url))
        time.sleep(0.2)


def test_make_run_with_a_token_serves_ota_and_restarts_into_the_update(tmp_path, capsys):
    port = V.free_port()
    url = "http://127.0.0.1:%d" % port
    out = open(tmp_path / "run.log", "wb")
    cli = subprocess.Popen([sys.executable, "-m", "tools.targets", "--ota-token", TOKEN, "--netns", "off",
                            "--port", str(port)], cwd=str(ROOT), stdout=out, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        nonce = wait_for(url + "/ota/nonce").json()  # no app yet: the board waits for make ota
        assert len(nonce["nonce"]) >= 16
        assert O.main(["--device", url, "--app", str(app_dir(tmp_path, "v2", APP % "2")), "--token", TOKEN,
                       "--wait", "40"]) == 0, capsys.readouterr().err
        assert wait_for(url + "/", text="app 2").text == "app 2"
        log = (tmp_path / "run.log").read_text()
        assert "no app on the board yet" in log and "make logs DEVICE=%s" % url in log
        assert "machine.reset() - starting again" in log, log  # the process ended and came back
        assert cli.poll() is None  # make run still serves
        # a wrong token is refused
        assert O.main(["--device", url, "--app", str(app_dir(tmp_path, "v3", APP % "3")),
                       "--token", "not-the-token", "--wait", "10"]) == 1
        assert requests.get(url + "/", timeout=5).text == "app 2"
    finally:
        os.killpg(cli.pid, 15)
        cli.wait(20)
        out.close()
    assert cli.returncode == 0


def test_a_broken_update_rolls_back_and_logs_say_why(tmp_path, capsys):
    first = app_dir(tmp_path, "first", APP % "1")
    broken = app_dir(tmp_path, "broken", "import nosuch_sensor\n" + APP % "x")
    with open_target("UNIX", app=first, netns="off", ota_token=TOKEN, quiet=True) as board:
        assert requests.get(board.url + "/", timeout=5).text == "app 1"  # APP: the first app on the board
        assert O.main(["--device", board.url, "--app", str(broken), "--token", TOKEN, "--wait", "40"]) == 1
        err = capsys.readouterr().err
        assert "rolled back: ImportError: no module named 'nosuch_sensor'" in err, err + board.output_tail(60)
        assert wait_for(board.url + "/", text="app 1").text == "app 1"
        assert board.boots >= 2 and (board.files / "main.py").read_text() == APP % "1"
        assert L.main(["--device", board.url, "--token", TOKEN]) == 0
        out = capsys.readouterr().out
        assert "rolled back" in out and "nosuch_sensor" in out


def test_without_a_token_nothing_changes(tmp_path):
    with V.VirtualBoard("UNIX", app=ROOT / "examples" / "hello", netns="off", quiet=True) as board:
        assert not board.standins and board.ota_token is None
        assert board._argv[-1] == str(board.files / "main.py")
        assert str(V.STANDINS) not in board._popen["env"]["MICROPYPATH"]
        assert not (board.files / "wifi.json").exists()
        assert requests.get(board.url + "/ota/nonce", timeout=5).status_code == 404
        board.reset()
        assert board.boots == 1  # a plain restart, not a stand-in's boot


def test_a_token_needs_the_kit_firmware():
    with pytest.raises(V.VirtualError, match="OTA_TOKEN needs the kit's firmware"):
        V.VirtualBoard("UNIX", app=ROOT / "examples" / "hello", firmware="stock", ota_token=TOKEN)


def test_the_readme_commands_reach_the_tools():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("Without the emulator, the virtual board"):]
    block = section[section.index("```sh") + 5:]
    cmds = [ln.split("#", 1)[0].split() for ln in block[:block.index("```")].splitlines() if ln.strip()]
    assert [c[1] for c in cmds] == ["run", "ota", "logs"]
    for cmd in cmds:
        out = subprocess.run(["make", "-n"] + cmd[1:], cwd=str(ROOT), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert ('--ota-token "x"' if cmd[1] == "run" else '--token "x"') in out.stdout, out.stdout
