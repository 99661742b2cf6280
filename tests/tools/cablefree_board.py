"""The virtual board for the cable-free tests (portal, OTA): a reset restarts it in place.

The device app (tests/tools/cablefree_device) runs on the MicroPython unix port through
tools.targets.virtual.VirtualBoard, with stand-ins for ``network``, ``machine`` and ``esp32`` in its
``host/`` folder. The ``machine.reset()`` stand-in ends the process with status 75; this board
then starts the same program again in the same folder, as a real board boots again with its
filesystem (and the file-backed flash partitions) intact. ``power_cycle()`` does the same for a
process that did not reset itself, and clears the stand-in's RTC memory as a power loss does.
The harness is also the board's watchdog: once the app started ``machine.WDT`` (the stand-in
writes ``.flash/wdt.json``), a feed missing for longer than its timeout kills the process and
boots it again with the reset cause WDT.
"""
import json
import socket
import subprocess
import threading
import time
from pathlib import Path

from tools.targets import virtual as V

HERE = Path(__file__).resolve().parent
DEVICE = HERE / "cablefree_device"
RESET_STATUS = 75


class CableFreeBoard(V.VirtualBoard):
    def __init__(self, radio, dns_port, extensions="wifi ota", env=None, files=None, **kwargs):
        self.radio = radio
        self.seed = dict(files or {})  # name -> text or bytes, written to the board's filesystem before it boots
        self.dns_port = dns_port
        self.boots = 0
        self.watchdog_resets = 0
        self._argv = self._env = None
        self._watch = None
        self._stopping = False
        extra = {"KIT_RADIO": str(radio), "KIT_DNS_PORT": str(dns_port)}
        extra.update(env or {})
        super().__init__("UNIX", app=DEVICE, netns="off", extensions=extensions, env=extra,
                         quiet=True, **kwargs)

    @property
    def files(self) -> Path:
        """The board's filesystem root (the staged app folder)."""
        return self.workdir / "app"

    def _start(self):
        real_popen = subprocess.Popen

        def remember(argv, **kw):
            if not kw.get("start_new_session"):  # not the board itself (version probes...)
                return real_popen(argv, **kw)
            self._argv, self._env = argv, kw
            if self.boots:
                return real_popen(argv, **kw)  # a restart while starting: the filesystem stays
            self.boots = 1
            for name, text in self.seed.items():
                (self.files / name).parent.mkdir(parents=True, exist_ok=True)
                data = text if isinstance(text, bytes) else text.encode()
                (self.files / name).write_bytes(data)
            return real_popen(argv, **kw)

        subprocess.Popen = remember
        try:
            super()._start()
        finally:
            subprocess.Popen = real_popen
        self._watch = threading.Thread(target=self._supervise, daemon=True)
        self._watch.start()

    @property
    def flash(self) -> Path:
        """The stand-ins' "chip" folder: partitions, RTC memory, reset cause, watchdog."""
        return self.files / ".flash"

    def _relaunch(self, cause=None):
        for name in ("wdt.json", "wdt.fed"):  # a reset stops the watchdog
            (self.flash / name).unlink(missing_ok=True)
        if cause:
            self.flash.mkdir(exist_ok=True)
            (self.flash / "reset_cause").write_text(cause)
        self.boots += 1
        self.proc = subprocess.Popen(self._argv, **self._env)

    def _starved(self):
        """True when the stand-in's watchdog runs and was not fed within its timeout."""
        try:
            timeout = json.loads((self.flash / "wdt.json").read_text())["timeout"] / 1000.0
            fed = (self.flash / "wdt.fed").stat().st_mtime
        except (OSError, ValueError, KeyError):
            return False
        return time.time() - fed > timeout

    def _bite(self):
        self.watchdog_resets += 1
        self.proc.kill()
        self.proc.wait(5)
        self._relaunch("wdt")

    def _supervise(self):
        while not self._stopping:
            proc = self.proc
            if proc is None:
                return
            code = proc.poll()
            if code == RESET_STATUS and not self._stopping:
                self._relaunch()
            elif code is not None:
                return
            elif self._starved() and not self._stopping:
                self._bite()
            time.sleep(0.05)

    def _wait_ready(self):
        """Wait until the board listens; a board that resets before that (an app failing at
        start) is started again, as on a real board."""
        deadline = time.monotonic() + self.timeout
        while self.proc.poll() is not None or not self._listening():
            if self.proc.poll() == RESET_STATUS and time.monotonic() < deadline:
                self._relaunch()
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                return super()._wait_ready()  # says why, with the board's output
            time.sleep(0.05)

    def _listening(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def power_cycle(self):
        """Kill the process (no clean shutdown) and boot again."""
        proc = self.proc
        self._stopping = True
        self._watch.join(5)
        proc.kill()
        proc.wait(5)
        self._stopping = False
        for name in ("rtc.bin", "reset_cause"):  # RTC memory is lost without power
            (self.flash / name).unlink(missing_ok=True)
        self._relaunch()
        self._watch = threading.Thread(target=self._supervise, daemon=True)
        self._watch.start()

    def wait_boots(self, n, timeout=30.0):
        """Wait until the board has booted ``n`` times in all and listens again."""
        deadline = time.monotonic() + timeout
        while self.boots < n:
            if time.monotonic() > deadline:
                raise AssertionError("the board booted %d time(s), not %d:\n%s" % (self.boots, n, self.output_tail()))
            time.sleep(0.05)
        self.wait_listening(deadline - time.monotonic())

    def wait_listening(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("the board does not listen again:\n%s" % self.output_tail())
                time.sleep(0.05)

    def stop(self):
        self._stopping = True
        if self._watch is not None:
            self._watch.join(5)
        super().stop()


def write_radio(path, networks, ap_ip="127.0.0.1", mac="0200000012ab"):
    path.write_text(json.dumps({"networks": networks, "ap_ip": ap_ip, "mac": mac}))
    return path
