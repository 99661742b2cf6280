"""Stand-in for ``machine`` on the virtual board (tools/targets/virtual.py; a host stand-in,
never frozen or deployed: it is on the module path only when the virtual board runs).

``reset()`` ends the process with status 75; the virtual board starts it
again in the same folder, as a real reset restarts the firmware with its filesystem intact.
The board's "chip" lives in the folder $KIT_FLASH (default ``.flash``):

- ``reset_cause()`` reads ``reset_cause`` there (written by ``reset()`` and by the virtual board when
  its watchdog fires; no file: power-on), as the ESP32 port's constants;
- ``RTC().memory()`` is ``rtc.bin`` there: it survives ``reset()`` and watchdog resets, and the
  virtual board's ``power_cycle()`` clears it, as RTC memory does; with $KIT_NO_RTC there is no RTC;
- ``WDT(timeout=ms)`` writes ``wdt.json`` (the timeout) and each ``feed()`` rewrites ``wdt.fed``:
  the virtual board resets it (kills it, cause WDT) when no feed came within the timeout.
"""
import json
import os

RESET_STATUS = 75
PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
_DIR = os.getenv("KIT_FLASH") or ".flash"
_CAUSES = {"pwron": PWRON_RESET, "hard": HARD_RESET, "wdt": WDT_RESET, "soft": SOFT_RESET}
_cause = None


def _folder():
    try:
        os.mkdir(_DIR)
    except OSError:
        pass


def _write(name, data):
    _folder()
    with open(_DIR + "/" + name + ".new", "wb") as f:
        f.write(data)
    os.rename(_DIR + "/" + name + ".new", _DIR + "/" + name)


def reset():
    print("machine stand-in: reset")
    _write("reset_cause", b"soft")
    raise SystemExit(RESET_STATUS)


def reset_cause():
    global _cause
    if _cause is None:
        try:
            with open(_DIR + "/reset_cause") as f:
                _cause = _CAUSES.get(f.read().strip(), PWRON_RESET)
            os.remove(_DIR + "/reset_cause")
        except OSError:
            _cause = PWRON_RESET
    return _cause


def unique_id():
    return b"\x02\x00\x00\x00\xab\xcd"


class _RTC:
    def memory(self, data=None):
        if data is None:
            try:
                with open(_DIR + "/rtc.bin", "rb") as f:
                    return f.read()
            except OSError:
                return b""
        if len(data) > 2048:
            raise ValueError("data too large")
        _write("rtc.bin", bytes(data))


if not os.getenv("KIT_NO_RTC"):
    def RTC():
        return _RTC()


class WDT:
    def __init__(self, id=0, timeout=5000):
        if timeout < 1:
            raise ValueError("bad timeout")
        _write("wdt.json", json.dumps({"timeout": timeout}).encode())
        self._n = 0
        self.feed()
        print("machine stand-in: watchdog started, %d ms" % timeout)

    def feed(self):
        self._n += 1
        _write("wdt.fed", str(self._n).encode())
