"""A live board: a real board on a serial port (``PORT=``) and/or at an HTTP address (``DEVICE=``).

``LiveBoard`` is the :class:`tools.targets.base.Target` for hardware. What ``start()`` does
depends on what it was given:

- ``device`` only: nothing - the board already runs its app at that address;
- ``port`` (with or without ``device``): finds the board's address over serial when ``device``
  is not given (it prints its Wi-Fi address; ``kitnet.connect()`` joins the stored network if
  needed), copies ``app`` with ``make deploy``'s code when one is given, hard-resets the board so
  the app starts, and waits until it answers at ``http://<ip>:5000``.

The console is the serial port, through mpremote (tools.device.deploy's serial code):
``console.run(code)`` interrupts the running app (``reset()`` starts it again);
``console.read()`` returns what the board printed while this object listened.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from tools.device import deploy as D
from tools.selection import boards as B
from tools.targets.base import Facts, Target, TargetError

#: The port the kit's apps listen on, on the board.
DEVICE_PORT = 5000
#: Seconds from the reset until the app answers (a Wi-Fi join included).
APP_TIMEOUT = 60

#: Run on the board over serial: print its network address, joining the stored network if needed.
PROBE = """\
ip = ''
try:
    import network
    w = network.WLAN(network.STA_IF)
    if w.isconnected():
        ip = w.ifconfig()[0]
except ImportError:
    pass
if not ip:
    try:
        import kitnet
        ip = kitnet.connect() or ''
    except ImportError:
        pass
print('KIT-IP', ip)
"""


class LiveError(TargetError):
    """The live board could not be reached or driven."""


def parse_probe(output: str) -> Optional[str]:
    """The address PROBE printed, None when the board is on no network."""
    for line in output.splitlines():
        if line.startswith("KIT-IP"):
            ip = line[len("KIT-IP"):].strip()
            return ip or None
    return None


def device_url(device: str) -> str:
    """DEVICE= as a base URL: '192.168.1.50:5000' -> 'http://192.168.1.50:5000' (no trailing /)."""
    url = device.strip().rstrip("/")
    return url if "://" in url else "http://" + url


class LiveBoard(Target):
    """A real board: ``device`` (its app's base URL) and/or ``port`` (its serial port; "auto": the
    one USB board), ``app`` to deploy before the reset, ``board`` the name it was built for."""

    kind = "live"
    error = LiveError

    def __init__(self, board: Optional[str] = None, device: Optional[str] = None, port: Optional[str] = None,
                 app: Optional[Path] = None, echo=print, app_timeout: float = APP_TIMEOUT):
        if not device and not port:
            raise LiveError("A live board needs DEVICE=http://<ip>:5000 or PORT=/dev/ttyUSB0.")
        try:
            self.board = B.load_board(board).name if board else None
        except B.BoardError as exc:
            raise LiveError(str(exc))
        self.device = device_url(device) if device else None
        self.port = port
        self.app = Path(app) if app is not None else None
        self.echo = echo
        self.app_timeout = app_timeout
        self._url = self.device
        self.transcript = ""
        self._firmware: Optional[D.Firmware] = None
        self._started = False

    @property
    def console_device(self) -> Optional[str]:
        return self.port

    @property
    def url(self) -> Optional[str]:
        return self._url

    def _say(self, msg: str) -> None:
        self.echo("== " + msg)

    def _serial(self) -> str:
        """PORT=, else the one USB serial port that looks like a board."""
        try:
            return D.resolve_port(self.port)
        except D.DeployError as exc:
            raise LiveError(str(exc))

    def start(self) -> "LiveBoard":
        if self.port is None and self.app is None:
            return self  # DEVICE= only: the board already serves its app
        self._ask_firmware()  # now: once the app runs, asking over serial would interrupt it
        self._started = True
        if self.device is None:
            self._say("finding the board's address over serial (%s)" % (self.port or "auto"))
            ip = parse_probe(self.console_run(PROBE, timeout=60))
            if not ip:
                raise LiveError("The board on %s is not on Wi-Fi; store credentials with "
                                "'make wifi SSID=... PASSWORD=... PORT=%s' and try again."
                                % (self.port or "auto", self.port or "..."))
            self._url = "http://%s:%d" % (ip, DEVICE_PORT)
        if self.app is not None:
            self._say("deploying %s to the board on %s" % (self.app, self.port or "auto"))
            try:
                D.deploy(str(self.app), port=self.port, reset=False)  # the hard reset below starts it
            except D.DeployError as exc:
                raise LiveError("Deploying %s failed: %s" % (self.app, exc))
        self._say("resetting the board so the app starts")
        self.reset()
        return self

    def stop(self) -> None:
        """Nothing to stop: the board keeps running its app."""

    def console_text(self, lines: int = 30) -> str:
        """What the board printed on its serial console while this object listened (0.5 s now)."""
        if self.port:
            import serial

            try:
                with serial.serial_for_url(self._serial(), baudrate=115200, timeout=0.5) as link:
                    self.transcript += link.read(65536).decode("utf-8", "replace").replace("\r\n", "\n")
            except (serial.SerialException, OSError):
                pass  # busy (mpremote, a monitor): what was read so far
        return "\n".join(self.transcript.rstrip().splitlines()[-lines:])

    def console_run(self, code: str, timeout: float = 60.0) -> str:
        try:
            out = D.exec_code(self._serial(), code, timeout)
        except D.DeployError as exc:
            raise LiveError(str(exc))
        self.transcript = (self.transcript + out)[-20000:]
        return out

    def reset(self) -> None:
        """A hard reset over serial (mpremote reset); waits for the app when the board has an address."""
        try:
            D.hard_reset(self._serial())
        except D.DeployError as exc:
            raise LiveError(str(exc))
        if self._url:
            self.wait_http("/", timeout=self.app_timeout)

    def _ask_firmware(self) -> None:
        """The board's MicroPython version and machine, asked over serial (once)."""
        if self._firmware is None:
            try:
                self._firmware = D.parse_firmware(self.console_run(D.firmware_script([])))
            except D.DeployError as exc:
                raise LiveError(str(exc))

    def facts(self) -> Facts:
        """Asked over serial before the app was started (start() asks then); over HTTP alone
        only the name given as BOARD= is known."""
        if self.port and not self._started:
            self._ask_firmware()
        board = B.load_board(self.board) if self.board else None
        fw = self._firmware
        name = board.name if board else (fw.machine if fw else "(not named: pass BOARD=)")
        return Facts(kind=self.kind, board=name, port=board.port if board else "?",
                     micropython=fw.version if fw else None, notes=[fw.machine] if fw and board else [])
