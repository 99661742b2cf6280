"""Apps in the field: crash log, start counter and safe mode, app rollback, watchdog (src/kit/kitlog.py,
kitsafe.py, kitstart.run_main, kitota's app updates; tools/device/ota.py and logs.py on the PC).

On the virtual board (tests/tools/cablefree_board.py: the real MicroPython unix port, real HTTP on
loopback, the host stand-ins for ``machine``): the board's app is ``app.py``, run by
``kitstart.run_main()`` as the kit's frozen main.py runs /main.py. A restart is the process
ending with the stand-in's reset status and the virtual board starting it again in the same
folder; the virtual board is also the watchdog (it kills a board whose ``machine.WDT`` went unfed).
"""
import json
import time

import pytest
import requests

from tests.tools.cablefree_board import CableFreeBoard, write_radio
from tools.device import logs as L
from tools.device import ota as O
from tools.device import wifi as W
from tools.targets import virtual as V

MISSING = V.unavailable()
needs_board = pytest.mark.skipif(MISSING is not None, reason="virtual board unavailable: %s" % MISSING)

TOKEN = "field-token-0123456789"
HOME = [{"ssid": "Home", "password": "secret123", "rssi": -40, "ip": "127.0.0.1"}]
PROBATION = 8  # seconds a new app has to answer (the kit's default is 60)
SETTLE = 3  # an answer counts after this many seconds (default 5)

HEAD = "import asyncio, os, time\nfrom microdot import Microdot\nimport kitota\napp = Microdot()\n"
ROUTE = "@app.get('/')\nasync def index(request):\n    return 'app %s'\n"
RUN = "kitota.install(app)\napp.run(port=int(os.getenv('PORT')))\n"


def good_app(version):
    return HEAD + ROUTE % version + RUN


#: Broken apps: (source, what the rollback reason must contain)
BROKEN = {
    "import": ("import nosuch_sensor\n" + good_app("x"),
               "ImportError: no module named 'nosuch_sensor' (app.py line 1)"),
    "later": (HEAD + ROUTE % "x" + "kitota.install(app)\n"
              "async def main():\n"
              "    asyncio.create_task(app.start_server(port=int(os.getenv('PORT'))))\n"
              "    await asyncio.sleep(2)\n"
              "    raise RuntimeError('sensor gone')\n"
              "asyncio.run(main())\n",
              "RuntimeError: sensor gone (app.py line 12)"),
    "memory": (HEAD + "frames = bytearray(1 << 30)\n" + ROUTE % "x" + RUN,
               "MemoryError: memory allocation failed"),
    "silent": (HEAD + ROUTE % "x" + "@app.before_request\nasync def hang(request):\n"
               "    await asyncio.sleep(3600)\n" + RUN,
               "no answer within %d s of the start" % PROBATION),
}


def settings(**more):
    conf = {"ssid": "Home", "password": "secret123", "ota_token": TOKEN, "probation": PROBATION, "settle": SETTLE}
    conf.update(more)
    return json.dumps(conf)


def board(tmp_path, app=None, env=None, stored=None, **conf):
    radio = write_radio(tmp_path / "radio.json", HOME)
    files = {"wifi.json": stored or settings(**conf), "app.py": app or good_app("1")}
    extra = {"KIT_APP_MAIN": "app.py"}
    extra.update(env or {})
    return CableFreeBoard(radio, V.free_port(), files=files, env=extra)


def app_dir(tmp_path, name, source):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "app.py").write_text(source)
    return folder


def get(b, path="/"):
    return requests.get(b.url + path, timeout=10).text


def wait_text(b, text, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if get(b) == text:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the board never answered %r:\n%s" % (text, b.output_tail(60)))
        time.sleep(0.2)


def wait_output(b, text, timeout=30):
    """Wait until the board has printed ``text`` (a loaded machine is slow to get there)."""
    deadline = time.monotonic() + timeout
    while text not in b.output_tail(200):
        assert time.monotonic() < deadline, "the board never printed %r:\n%s" % (text, b.output_tail())
        time.sleep(0.1)


def read_log(b):
    dev = O.Device(b.url, TOKEN)
    try:
        return L.fetch(dev)
    finally:
        dev.close()


# --------------------------------------------------------------------------------------------
# Without a board


def test_the_pre_send_check_reads_the_code(tmp_path):
    assert O.installs_ota(good_app("1"))
    assert O.installs_ota("import kitota as k\nk.install(app)\n")
    assert O.installs_ota("from kitota import install as ota\nota(app)\n")
    assert not O.installs_ota("import kitota\n")  # imported, never installed
    assert not O.installs_ota("import kitota\nother.install(app)\n")
    assert not O.installs_ota("def install(app): pass\ninstall(app)\n")  # not kitota's
    assert not O.installs_ota("# kitota.install(app)\nprint('kitota.install(app)')\n")
    files = {"app.py": app_dir(tmp_path, "bad", "import kitota\nkitota.install(app\n") / "app.py"}
    with pytest.raises(O.OtaError, match=r"app.py line \d+ is not valid Python .*FORCE=1"):
        O.check_app("bad", files)


def test_make_wifi_stores_the_watchdog(capsys):
    assert json.loads(W.config_text("Home", "secret123", watchdog=30))["watchdog"] == 30
    assert "watchdog" not in json.loads(W.config_text("Home", "secret123"))
    assert W.main(["--ssid", "Home", "--password", "secret123", "--watchdog", "1", "--port", "/dev/nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: WATCHDOG=1: give the seconds") and err.count("\n") == 1


def test_logs_cli_errors_are_one_line(capsys, monkeypatch):
    monkeypatch.delenv("OTA_TOKEN", raising=False)
    assert L.main([]) == 1
    assert capsys.readouterr().err.startswith("error: No DEVICE: pass DEVICE=http://")
    assert L.main(["--device", "http://127.0.0.1:%d" % V.free_port()]) == 1
    assert "No OTA token" in capsys.readouterr().err
    assert L.main(["--device", "http://127.0.0.1:%d" % V.free_port(), "--token", TOKEN]) == 1
    err = capsys.readouterr().err
    assert "Lost the connection to the board" in err and err.count("\n") == 1


def test_describe_prints_every_entry_and_the_verdict():
    text = L.describe({"log": [{"kind": "crash", "text": "Traceback:\n  File \"app.py\", line 1\nValueError: x",
                                "cause": "soft", "boot": 2}],
                       "status": {"update": 4, "state": "rolled back", "why": "ValueError: x (app.py line 1)",
                                  "mode": "safe"}})
    assert "#1 crash, start 2 in a row without a good one, reset cause soft:" in text
    assert "    ValueError: x" in text
    assert "Last update: 4, rolled back (ValueError: x (app.py line 1))." in text and "safe mode" in text
    assert L.describe({"log": [], "status": {}}) == "The crash log is empty."


# --------------------------------------------------------------------------------------------
# On the virtual board


@needs_board
def test_make_ota_refuses_an_app_without_the_ota_routes(tmp_path, capsys):
    plain = app_dir(tmp_path, "plain", "import os\nfrom microdot import Microdot\napp = Microdot()\napp.run(port=int(os.getenv('PORT')))\n")
    with board(tmp_path) as b:
        before = (b.files / "app.py").read_text()
        assert O.main(["--device", b.url, "--app", str(plain), "--token", TOKEN]) == 1
        err = capsys.readouterr().err
        assert "never calls kitota.install(app)" in err and "FORCE=1" in err and err.count("\n") == 1
        assert (b.files / "app.py").read_text() == before and b.boots == 1
        assert not (b.files / ".ota").exists()  # nothing was sent: no upload was even begun
        # forced: it goes, but it cannot confirm itself (no kitota hook), so it is rolled back
        assert O.main(["--device", b.url, "--app", str(plain), "--token", TOKEN, "--force", "--wait", "40"]) == 1
        err = capsys.readouterr().err
        assert "rolled back: no answer within %d s of the start" % PROBATION in err
        wait_text(b, "app 1")
        assert (b.files / "app.py").read_text() == before


@needs_board
@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_app_is_rolled_back_and_the_log_says_why(tmp_path, capsys, kind):
    source, reason = BROKEN[kind]
    with board(tmp_path) as b:
        assert get(b) == "app 1"
        started = time.monotonic()
        assert O.main(["--device", b.url, "--app", str(app_dir(tmp_path, kind, source)), "--token", TOKEN,
                       "--wait", "40"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "rolled back: " + reason in err, err + b.output_tail(60)
        assert time.monotonic() - started < PROBATION + 20  # within the window (and the restarts)
        assert get(b) == "app 1" and (b.files / "app.py").read_text() == good_app("1")
        answer = read_log(b)
        assert answer["status"]["state"] == "rolled back" and reason in answer["status"]["why"]
        kinds = [e["kind"] for e in answer["log"]]
        assert kinds[-1] == "rollback" and reason in answer["log"][-1]["text"]
        if kind != "silent":  # a traceback, where it was raised included
            assert kinds[-2] == "crash" and 'File "app.py", line' in answer["log"][-2]["text"]
        assert reason in L.describe(answer)
        # the previous app is a good one: its first answer after the settle time clears the count
        time.sleep(SETTLE)
        get(b)
        assert read_log(b)["status"]["starts"] == 0


@needs_board
def test_a_good_update_is_confirmed_and_stays(tmp_path, capsys):
    with board(tmp_path) as b:
        assert O.main(["--device", b.url, "--app", str(app_dir(tmp_path, "v2", good_app("2"))), "--token", TOKEN,
                       "--wait", "40"]) == 0
        out = capsys.readouterr().out
        assert out.rstrip().splitlines()[-1] == "Update 1 confirmed: the new app answered at %s." % b.url
        assert get(b) == "app 2" and b.boots == 2
        assert not list((b.files / ".kit" / "prev").iterdir())  # confirmed: the backup is dropped
        b.power_cycle()  # a reset after the confirmation does not take it back
        b.wait_boots(3)
        time.sleep(PROBATION + 1)
        assert get(b) == "app 2" and read_log(b)["status"]["state"] == "confirmed"


@needs_board
def test_the_first_app_has_nothing_to_go_back_to(tmp_path, capsys):
    radio = write_radio(tmp_path / "radio.json", HOME)
    env = {"KIT_APP_MAIN": "app.py", "KIT_NO_RTC": "1"}  # the count in a file: it survives power cycles
    with CableFreeBoard(radio, V.free_port(), files={"wifi.json": settings()}, env=env) as b:
        for boots in (2, 3, 4, 5):  # waiting for a first app is no failed start: never safe mode
            b.power_cycle()
            b.wait_boots(boots)
        assert get(b).startswith("No app on this board yet")
        source, reason = BROKEN["import"]
        assert O.main(["--device", b.url, "--app", str(app_dir(tmp_path, "first", source)), "--token", TOKEN,
                       "--wait", "40"]) == 1
        assert "rolled back: " + reason in capsys.readouterr().err
        assert not (b.files / "app.py").exists()
        page = get(b)
        assert page.startswith("Safe mode: the first app failed and was taken off: " + reason), page
        assert O.main(["--device", b.url, "--app", str(app_dir(tmp_path, "fixed", good_app("2"))), "--token", TOKEN,
                       "--wait", "40"]) == 0
        assert get(b) == "app 2"


@pytest.mark.parametrize("rtc", ["rtc", "file"])
@needs_board
def test_failed_starts_lead_to_safe_mode_and_a_good_app_leaves_it(tmp_path, capsys, rtc):
    crash = "import kitota\nraise ValueError('bad pin')\n"
    env = {} if rtc == "rtc" else {"KIT_NO_RTC": "1"}
    with board(tmp_path, app=crash, env=env, safe_after=3) as b:
        b.wait_boots(4, timeout=60)  # three failed starts, then safe mode
        page = get(b)
        assert page.startswith("Safe mode: 3 starts failed in a row; the last: ValueError: bad pin (app.py line 2)"), page
        assert b.boots == 4
        assert (b.files / ".kit" / "starts").exists() == (rtc == "file")
        answer = read_log(b)
        assert [e["kind"] for e in answer["log"]] == ["crash"] * 3 and answer["status"]["mode"] == "safe"
        assert [e["cause"] for e in answer["log"]] == ["pwron", "soft", "soft"]
        time.sleep(1.5)
        assert b.boots == 4  # safe mode stays up
        assert O.main(["--device", b.url, "--app", str(app_dir(tmp_path, "v2", good_app("2"))), "--token", TOKEN,
                       "--wait", "40"]) == 0
        assert "Update 1 confirmed" in capsys.readouterr().out
        assert get(b) == "app 2"
        b.power_cycle()
        b.wait_boots(6)
        assert get(b) == "app 2"


@needs_board
def test_boots_without_a_network_are_no_failed_starts(tmp_path):
    radio = write_radio(tmp_path / "radio.json", [])  # the router is down: the set-up portal opens
    env = {"KIT_APP_MAIN": "app.py", "KIT_NO_RTC": "1"}  # the count in a file: it survives power cycles
    files = {"wifi.json": settings(), "app.py": good_app("1")}
    with CableFreeBoard(radio, V.free_port(), files=files, env=env) as b:
        for boots in (2, 3, 4, 5):
            wait_output(b, "kitportal")  # kitnet gives up joining, then the portal opens
            b.power_cycle()
            b.wait_boots(boots)
        write_radio(radio, HOME)  # the router is back
        b.power_cycle()
        b.wait_boots(6)
        assert get(b) == "app 1"  # the app runs: no safe mode


@needs_board
def test_the_watchdog_resets_a_blocked_loop_and_the_update_rolls_back(tmp_path, capsys):
    blocking = HEAD + ROUTE % "x" + "@app.before_request\nasync def hang(request):\n    time.sleep(3600)\n" + RUN
    stored = json.loads(W.config_text("Home", "secret123", ota_token=TOKEN, watchdog=2))  # as make wifi WATCHDOG=2
    stored.update(probation=PROBATION, settle=SETTLE)
    with board(tmp_path, stored=json.dumps(stored)) as b:
        time.sleep(3)
        assert get(b) == "app 1" and b.watchdog_resets == 0  # fed from the event loop
        assert O.main(["--device", b.url, "--app", str(app_dir(tmp_path, "blocks", blocking)), "--token", TOKEN,
                       "--wait", "40"]) == 1
        err = capsys.readouterr().err
        assert "rolled back: watchdog reset (the event loop was blocked)" in err, err + b.output_tail(60)
        assert b.watchdog_resets == 1
        assert get(b) == "app 1"
        kinds = [(e["kind"], e["cause"]) for e in read_log(b)["log"]]
        assert kinds[-2:] == [("watchdog", "wdt"), ("rollback", "wdt")]
