"""Apps in the field on the emulated ESP32-C3 and ESP32: rollback, safe mode and the watchdog with real resets.

What tests/tools/test_field.py shows on the virtual board (host stand-ins for ``machine``),
shown here on the esp32 port itself under QEMU: every restart is the firmware's own
``machine.reset()`` (the chip resets, the ROM and the bootloader run again), the start counter
lives in the chip's RTC memory, and the apps arrive with ``make ota``'s code
(tools/device/ota.py) and the crash log is read with ``make logs``' (tools/device/logs.py).
On one board, in order: a good first app is confirmed; broken updates (ImportError at import,
an exception 2 s after the start, MemoryError at start, a server that never answers) each come
back to the previous app within the probation window, with the reason in ota.py's outcome line
and in the log; three failed starts give the safe-mode page, and a good app sent with ota.py
leaves it; with ``watchdog`` set, a handler that blocks the loop is reset by the chip's watchdog
(the board runs with QEMU's timer-group watchdogs on: ``EmulatedBoard(watchdog=True)``) and the
update rolls back. The time from an update's commit to the previous app answering again is
printed (``-s`` shows it). About 2.5 minutes on the C3; far longer on the ESP32 (SLOW below).

Needs what tests/tools/test_esp32_qemu_ota.py needs (its boards, skip reasons and helpers are
used here): per board (ESP32_C3_QEMU, ESP32_QEMU), its QEMU on PATH and an OTA build with ota and
wifi in firmware/<BOARD>/; a board that is not here skips with one line.
"""
import http.client
import json
import threading
import time

import pytest

from tests.tools import test_esp32_qemu_ota as QO
from tools.device import deploy as S
from tools.device import logs as L
from tools.device import ota as O
from tools.targets import qemu_esp32 as Q


def _missing(name=QO.BOARD):
    why = QO._missing(name)
    if why is None:
        info = json.loads((QO.out(name) / "build-info.json").read_text())
        if "wifi" not in info.get("extensions", []):
            why = 'firmware/%s has no wifi extension (EXTENSIONS="... wifi ota")' % name
    return why

TOKEN = QO.TOKEN
PROBATION = 20  # seconds a new app has to answer (the emulator is slower than a chip)

#: Where a board's timing differs from the C3's. The emulated original ESP32 reads its
#: filesystem slowly (0.4 s per os.stat, 0.35 s per open+read of /wifi.json; the CPU itself is
#: not slow: measured 2026-12-04), so imports and the kit's start take long: an app took 21 s
#: from its start to listening on port 5000. So: the kit's default probation window (the C3's
#: 20 s rolled every good app back), a watchdog longer than an app's start (kitsafe starts it
#: before main.py runs), every wait 3 times as long and 120 s for each answer to ota.py (a
#: commit that backs up the previous app took 41 s; one timed out is sent again and answered
#: 409 no update in progress) (docs/emulation.md).
SLOW = {"ESP32_QEMU": {"probation": 60, "watchdog": 40, "waits": 3, "answer": 120}}


def slower(eb):
    return SLOW.get(eb.board.name, {}).get("waits", 1)


def probation(eb):
    return SLOW.get(eb.board.name, {}).get("probation", PROBATION)


def watchdog(eb):
    return SLOW.get(eb.board.name, {}).get("watchdog", WATCHDOG)


SETTLE = 5  # the kit's default: an app crashing 2 s after its start is caught
SAFE_AFTER = 3

HEAD = "import asyncio, binascii, os, time\nfrom microdot import Microdot\nimport kitota\napp = Microdot()\n"
# Each start of an app answers with its own id: QEMU's port forwarding accepts the host's
# connection while the chip restarts and hands it on once the app listens, so from the host
# a restart is no refused connection, only a new id.
ROUTE = ("START = binascii.hexlify(os.urandom(4)).decode()\n"
         "@app.get('/')\nasync def index(request):\n    return 'app %s ' + START\n")
RUN = "kitota.install(app)\napp.run(port=5000)\n"


def good_app(version):
    return HEAD + ROUTE % version + RUN


LATER = (HEAD + ROUTE % "x" + "kitota.install(app)\n"
         "async def main():\n"
         "    asyncio.create_task(app.start_server(port=5000))\n"
         "    await asyncio.sleep(2)\n"
         "    raise RuntimeError('sensor gone')\n"
         "asyncio.run(main())\n")

#: Broken updates: (main.py, what the rollback reason must contain)
BROKEN = {
    "import": ("import nosuch_sensor\n" + good_app("x"),
               "ImportError: no module named 'nosuch_sensor' (main.py line 1)"),
    "later": (LATER, "RuntimeError: sensor gone (main.py line %d)" % (LATER.splitlines().index(
        "    raise RuntimeError('sensor gone')") + 1)),
    "memory": (HEAD + "frames = bytearray(1 << 30)\n" + ROUTE % "x" + RUN,
               "MemoryError: memory allocation failed"),
    "silent": (HEAD + ROUTE % "x" + "@app.before_request\nasync def hang(request):\n"
               "    await asyncio.sleep(3600)\n" + RUN,
               "no answer within %d s of the start"),  # % the probation window
}
BLOCKS = HEAD + ROUTE % "x" + "@app.before_request\nasync def hang(request):\n    time.sleep(3600)\n" + RUN
WATCHDOG = 3  # seconds, as `make wifi WATCHDOG=3` stores it
#: Seconds from an update's commit to the previous app answering again, per case.
TIMES = {}


def configure(eb, **conf):
    """Add kitsafe's settings to the stored /wifi.json (over the console; the app is stopped)."""
    eb.console_run("import json\nc = json.load(open('wifi.json'))\nc.update(%s)\n"
                   "f = open('wifi.json', 'w')\nf.write(json.dumps(c))\nf.close()\n" % json.dumps(conf))


def reset(eb):
    """A real reset (mpremote's machine.reset()): RTC memory is kept, the bootloader runs."""
    S.hard_reset(eb.console_device)


def wait_body(eb, body, timeout=90.0):
    deadline = time.monotonic() + timeout * slower(eb)
    last = None
    while time.monotonic() < deadline:
        last = answer(eb)
        if last is not None and last[1].startswith(body):
            return last
        time.sleep(0.2)
    raise AssertionError("the board never answered %r (last: %r):\n%s" % (body, last, eb.console_text(40)))


def app_dir(tmp_path, name, source):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "main.py").write_text(source)
    return str(folder)


def read_log(eb):
    dev = O.Device(eb.url, TOKEN, timeout=30)
    try:
        return L.fetch(dev)
    finally:
        dev.close()


def send(eb, folder, marks, wait=120):
    """ota.py's main() as `make ota` runs it; ``marks["commit"]``: when the board took the commit."""
    expect = O.Device.expect

    def noting(self, method, path, body=None, query=""):
        answer = expect(self, method, path, body, query)
        if path == "/commit":
            marks["commit"] = time.monotonic()
            marks["done"] = answer
        return answer

    init = O.Device.__init__

    def patient(self, url, token, timeout=15.0, pin=None):
        init(self, url, token, SLOW.get(eb.board.name, {}).get("answer", timeout), pin)

    O.Device.expect = noting  # only notes the time; every call goes to the board
    O.Device.__init__ = patient
    try:
        marks["rc"] = O.main(["--device", eb.url, "--app", folder, "--token", TOKEN, "--wait", str(wait * slower(eb))])
    finally:
        O.Device.expect = expect
        O.Device.__init__ = init
    return marks["rc"]


def answer(eb, timeout=2.0):
    """GET / as (status, body), or None while the board restarts or does not answer. The short
    timeout keeps the measured times close: a request an app holds (or the port forwarding
    holds while the chip restarts) is given up and asked again."""
    try:
        with QO._opener.open(eb.url + "/", timeout=timeout) as r:
            return r.status, r.read()
    except (OSError, http.client.HTTPException):
        return None


def back_after_commit(eb, marks, sender, before, body=b"app 1 ", timeout=150.0):
    """Seconds from the commit until a new start of the previous app (``body``, another id
    than ``before``) answers at /: what a browser on the old app sees."""
    deadline = time.monotonic() + timeout * slower(eb)
    while "commit" not in marks:
        assert sender.is_alive() and time.monotonic() < deadline, "the update was not committed"
        time.sleep(0.05)
    while time.monotonic() < deadline:
        got = answer(eb)
        if got is not None and got[0] == 200 and got[1].startswith(body) and got[1] != before:
            return time.monotonic() - marks["commit"]
        time.sleep(0.2)
    raise AssertionError("the previous app never answered again:\n%s" % eb.console_text(40))


@pytest.mark.parametrize("name", QO.BOARDS)
def test_the_emulator_runs_the_watchdog_only_when_asked(name):
    board = Q.qemu_board(name)
    off = Q.qemu_argv(board, "q", QO.out(name) / "f", QO.out(name) / "e", 1)
    on = Q.qemu_argv(board, "q", QO.out(name) / "f", QO.out(name) / "e", 1, watchdog=True)
    assert "driver=timer.%s.timg,property=wdt_disable,value=true" % board.qemu["machine"] in off
    assert not [a for a in on if "wdt_disable" in a] and len(on) == len(off) - 2


#: Known on the original ESP32 under QEMU only (docs/emulation.md): its filesystem is slow under
#: QEMU (0.4 s per os.stat), and with the waits above the field tests have not yet passed there;
#: they run and report XFAIL/XPASS, never hidden. (The panic after a real reset that they met
#: first is fixed: board.json's MicroPython fix lan-rx-after-netif-start.)
SLOW_FLASH = "ESP32 (QEMU): the emulated flash is too slow for these timings so far (docs/emulation.md)"


def _field_boards():
    out = []
    for p in QO.each_board(_missing):
        if p.values[0] == "ESP32_QEMU":
            p = pytest.param(*p.values, marks=list(p.marks) + [pytest.mark.xfail(reason=SLOW_FLASH, strict=False)])
        out.append(p)
    return out


@pytest.fixture(scope="module", params=_field_boards())
def eb(request):
    lines = []
    # the timer groups' watchdogs on (machine.WDT resets the chip), as on a real one
    with Q.EmulatedBoard(request.param, echo=lines.append, watchdog=True) as board:
        yield board


def test_a_good_first_app_is_confirmed(eb, tmp_path, capsys):
    eb.provision(ota_token=TOKEN)
    configure(eb, probation=probation(eb), settle=SETTLE, safe_after=SAFE_AFTER)
    reset(eb)
    assert wait_body(eb, b"No app on this board yet")[0] == 200
    rc = send(eb, app_dir(tmp_path, "v1", good_app("1")), {})
    out = capsys.readouterr()
    assert rc == 0, out.err + eb.console_text(40)
    assert out.out.rstrip().splitlines()[-1] == "Update 1 confirmed: the new app answered at %s." % eb.url, (
        out.out + eb.console_text(60))
    assert answer(eb)[1].startswith(b"app 1 ")
    status = read_log(eb)["status"]
    assert status["state"] == "confirmed" and status["starts"] == 0


@pytest.mark.parametrize("kind", ["import", "later", "memory", "silent"])
def test_a_broken_update_rolls_back_and_the_log_says_why(eb, tmp_path, capsys, kind):
    source, reason = BROKEN[kind]
    reason = reason % probation(eb) if "%d" in reason else reason
    status, before = answer(eb)
    assert status == 200 and before.startswith(b"app 1 ")
    marks = {}
    sender = threading.Thread(target=send, args=(eb, app_dir(tmp_path, kind, source), marks))
    sender.start()
    try:
        TIMES[kind] = back_after_commit(eb, marks, sender, before)
    finally:
        sender.join()
    err = capsys.readouterr().err
    print("rollback (%s, %s): %.1f s from the commit to the previous app answering" % (eb.board.name, kind, TIMES[kind]))
    assert marks["rc"] == 1 and err.count("\n") == 1, err
    assert "rolled back: " + reason in err, err + eb.console_text(40)
    assert TIMES[kind] < probation(eb) + 60 * slower(eb)  # within the window, and the emulator's restarts
    assert answer(eb)[1].startswith(b"app 1 ")
    log = read_log(eb)
    assert log["status"]["state"] == "rolled back" and reason in log["status"]["why"]
    kinds = [e["kind"] for e in log["log"]]
    assert kinds[-1] == "rollback" and reason in log["log"][-1]["text"]
    if kind != "silent":  # a traceback, where it was raised included
        assert kinds[-2] == "crash" and 'File "main.py", line' in log["log"][-2]["text"]
    assert reason in L.describe(log)
    # the previous app is a good one: its answers after the settle time clear the count
    time.sleep(SETTLE)
    answer(eb)
    assert read_log(eb)["status"]["starts"] == 0


def test_failed_starts_lead_to_safe_mode_and_a_good_app_leaves_it(eb, tmp_path, capsys):
    crash = "import kitota\nraise ValueError('bad pin')\n"
    eb.console_run("f = open('main.py', 'w')\nf.write(%r)\nf.close()\n" % crash)  # as `make deploy` would
    reset(eb)  # each start counts in RTC memory, crashes and resets the chip; the fourth is safe mode
    status, page = wait_body(eb, b"Safe mode: ")
    assert status == 200 and page.decode().startswith(
        "Safe mode: %d starts failed in a row; the last: ValueError: bad pin (main.py line 2)" % SAFE_AFTER), page
    log = read_log(eb)
    assert [e["kind"] for e in log["log"]][-SAFE_AFTER:] == ["crash"] * SAFE_AFTER
    assert [e["boot"] for e in log["log"]][-SAFE_AFTER:] == list(range(1, SAFE_AFTER + 1))  # the count survived the resets
    assert log["status"]["mode"] == "safe" and log["status"]["starts"] == SAFE_AFTER
    time.sleep(2)
    assert answer(eb)[1].startswith(b"Safe mode: ")  # safe mode stays up
    rc = send(eb, app_dir(tmp_path, "v2", good_app("2")), {})
    out = capsys.readouterr()
    assert rc == 0 and "confirmed: the new app answered" in out.out, out.err + eb.console_text(40)
    assert answer(eb)[1].startswith(b"app 2 ")
    assert read_log(eb)["status"]["starts"] == 0
    reset(eb)  # a reset after the confirmation keeps the new app
    assert wait_body(eb, b"app 2 ")[0] == 200


def test_the_watchdog_resets_a_blocked_loop_and_the_update_rolls_back(eb, tmp_path, capsys):
    configure(eb, watchdog=watchdog(eb))
    reset(eb)
    status, before = wait_body(eb, b"app 2 ")
    time.sleep(watchdog(eb) + 2)
    assert answer(eb) == (status, before)  # fed from the event loop: the same start still answers
    marks = {}
    sender = threading.Thread(target=send, args=(eb, app_dir(tmp_path, "blocks", BLOCKS), marks))
    sender.start()
    try:
        TIMES["watchdog"] = back_after_commit(eb, marks, sender, before, body=b"app 2 ")
    finally:
        sender.join()
    err = capsys.readouterr().err
    print("rollback (%s, watchdog): %.1f s from the commit to the previous app answering" % (eb.board.name, TIMES["watchdog"]))
    assert marks["rc"] == 1 and "rolled back: watchdog reset (the event loop was blocked)" in err, (
        err + eb.console_text(40))
    kinds = [(e["kind"], e["cause"]) for e in read_log(eb)["log"]]
    assert kinds[-2:] == [("watchdog", "wdt"), ("rollback", "wdt")], kinds
