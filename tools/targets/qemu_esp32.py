"""The emulated board: firmware/<BOARD>/ of an esp32 board under Espressif's QEMU
(``qemu-system-riscv32 -M esp32c3``, ``qemu-system-xtensa -M esp32``).

``EmulatedBoard`` is the :class:`tools.targets.base.Target` for an esp32 board whose board.json
has a ``qemu`` entry (ESP32_C3_QEMU, ESP32_QEMU); that entry says which QEMU binary and machine
run it, its NIC model, the ROM image the machine loads, its RAM (``-m``) and the ESP-IDF tools
package that installs that QEMU. ``start()`` boots the merged flash image the build wrote
(``flash_image.bin``, with ``qemu_efuse.bin``) on a scratch copy, so every run starts from the
image as built, and waits for the MicroPython prompt. Given an app, it then stores the network
set-up the way ``make wifi`` does (``/wifi.json`` + the kitnet block in ``/boot.py``: kitnet
brings up the emulated OpenCores Ethernet on this board), copies the app with ``make deploy``'s
code, soft-resets and waits until it answers at ``http://127.0.0.1:<HTTP_PORT>/`` (QEMU's
user-mode network forwards that host port to the board's port 5000).

``make run BOARD=ESP32_C3_QEMU`` (``python -m tools.targets --board ESP32_C3_QEMU``) serves an
app this way until Ctrl-C; ``make test-hw BOARD=ESP32_C3_QEMU`` runs the hardware suite against
it (tools/suite/smoke.py); ``make bench`` measures it (tools/bench/emulated.py). The same for
``BOARD=ESP32_QEMU``, the original ESP32 (Xtensa LX6): only board.json differs.

The console is a pty by default (mpremote, ``make deploy PORT=...`` and ``make monitor PORT=...``
use it while the board runs; ``firmware/<BOARD>/qemu/console`` links to it) or a TCP port on
127.0.0.1 (``serial="tcp"``, mpremote's ``socket://`` URL). The guest network is QEMU's
``-nic user`` with ``restrict=on``: the board reaches nothing but the host's forwarded port.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import List, Optional

from tools.selection import boards as B
from tools.targets.base import Facts, Target, TargetError
from tools.targets.process import free_port, port_free, read_build_info, stop_process_group

ROOT = B.ROOT
#: The port the kit's apps and the smoke app listen on, on the board.
DEVICE_PORT = 5000
DEFAULT_HTTP_PORT = 8080
#: Seconds from QEMU's start to the MicroPython prompt (the emulator is slower than a chip).
BOOT_TIMEOUT = 90
#: Seconds from the deploy's soft reset until the app answers HTTP.
APP_TIMEOUT = 120
PTY_LINE = re.compile(r"char device redirected to (/dev/pts/\d+)")
BANNER = re.compile(r"MicroPython v?(\S+?)(?:-\d+-g[0-9a-f]+)?(?: on |;)")
#: The network entry `make wifi` would store; kitnet ignores it where it brings up the LAN.
LAN_SSID = "qemu-openeth"
#: The script (../shared/tools/) that assembles the emulation environment, per chip.
SETUP_SCRIPTS = {"esp32c3": "esp32c3-qemu.sh", "esp32": "esp32-qemu.sh"}


class QemuError(TargetError):
    """The emulated board could not be started or driven."""


# --------------------------------------------------------------------------------------------
# Finding things (pure where possible)


def qemu_board(name: str) -> B.Board:
    """The board, which must say in board.json how QEMU runs it."""
    try:
        board = B.load_board(name)
    except B.BoardError as exc:
        raise QemuError(str(exc))
    if board.port != "esp32" or not board.qemu:
        emulated = [b.name for b in B.load_boards() if b.port == "esp32" and b.qemu]
        raise QemuError(
            "Board %s does not run under QEMU; use BOARD=%s." % (name, " or BOARD=".join(emulated) or "(none)")
        )
    return board


def emulated(name: str) -> bool:
    """True for an esp32 board that board.json says runs under QEMU (False for unknown names)."""
    try:
        board = B.load_board(name)
    except B.BoardError:
        return False
    return board.port == "esp32" and bool(board.qemu)


def find_qemu(board: B.Board, explicit: Optional[str] = None, which=shutil.which) -> str:
    """The QEMU binary: explicit (QEMU=), else board.json's name on PATH."""
    binary = board.qemu.get("binary", "qemu-system-riscv32")
    name = explicit or os.environ.get("QEMU") or binary
    path = name if os.sep in name else which(name)
    if not path or not Path(path).is_file():
        raise QemuError(
            "No %s found: install Espressif's QEMU (`python $IDF_PATH/tools/idf_tools.py install "
            "%s`, then `. $IDF_PATH/export.sh`; or `. <ROOT>/env.sh` from %s), or pass "
            "QEMU=/path/to/%s." % (name, board.qemu.get("idf_tools_package", "qemu-riscv32"),
                                   SETUP_SCRIPTS.get(board.chip, "esp32c3-qemu.sh"), binary)
        )
    return str(path)


def rom_name(board: B.Board) -> str:
    """The ROM image the board's QEMU machine loads (board.json qemu ``rom``)."""
    return board.qemu.get("rom") or "%s-rom.bin" % board.qemu.get("machine", board.chip)


def bios_dir(qemu: str, rom: str = "esp32c3-rom.bin") -> Optional[Path]:
    """A folder with the chip's ROM image (``rom``) when QEMU would not find it itself.

    An installed QEMU (idf_tools.py) finds them under ../share/qemu; a QEMU build folder keeps
    them in its source tree's pc-bios/, which QEMU_BIOS_DIR= (or ``-L``) names.
    """
    explicit = os.environ.get("QEMU_BIOS_DIR")
    if explicit:
        return Path(explicit)
    here = Path(qemu).resolve().parent
    for candidate in (here / "pc-bios", here.parent / "share" / "qemu", here / "qemu-bundle" / "usr" / "local" / "share" / "qemu"):
        if (candidate / rom).is_file():
            return candidate
    return None


def firmware_files(board: B.Board, root: Path = ROOT) -> tuple:
    """(flash image, eFuse image) of the last build, or a one-line error saying how to build."""
    out = Path(root) / "firmware" / board.name
    flash, efuse = out / "flash_image.bin", out / "qemu_efuse.bin"
    if not flash.is_file() or not efuse.is_file():
        raise QemuError(
            "No QEMU image for %s in %s (flash_image.bin + qemu_efuse.bin): run `make BOARD=%s "
            "firmware` first." % (board.name, out.relative_to(root) if out.is_relative_to(root) else out, board.name)
        )
    return flash, efuse


def qemu_argv(
    board: B.Board,
    qemu: str,
    flash: Path,
    efuse: Path,
    http_port: int,
    serial: str = "pty",
    device_port: int = DEVICE_PORT,
    bios: Optional[Path] = None,
    watchdog: bool = False,
) -> List[str]:
    """The QEMU command line: the board's machine, flash and eFuse images, OpenCores Ethernet
    behind user-mode networking (restricted; 127.0.0.1:http_port -> board:device_port), the
    console on ``serial`` ("pty" or "tcp:PORT"). The timer groups' watchdogs (ESP-IDF's task
    and interrupt watchdogs, ``machine.WDT``) run only with ``watchdog``."""
    machine = board.qemu.get("machine", board.chip)
    nic = board.qemu.get("nic", "open_eth")
    memory = board.qemu.get("memory")  # PSRAM `idf.py qemu` attaches (esp32: -m 4M)
    if serial == "pty":
        chardev = "pty"
    elif serial.startswith("tcp:") and serial[4:].isdigit():
        chardev = "tcp:127.0.0.1:%s,server=on,wait=off" % serial[4:]
    else:
        raise QemuError("Console '%s' is not 'pty' or 'tcp:PORT'; pass SERIAL=pty or SERIAL=tcp:4444." % serial)
    argv = [qemu, "-M", machine] + (["-m", memory] if memory else []) + ["-display", "none", "-monitor", "none"]
    if bios is not None:
        argv += ["-L", str(bios)]
    argv += [
        "-drive", "file=%s,if=mtd,format=raw" % flash,
        "-drive", "file=%s,if=none,format=raw,id=efuse" % efuse,
        "-global", "driver=nvram.%s.efuse,property=drive,value=efuse" % machine,
    ]
    if not watchdog:  # the emulated chip is slower than a real one: no watchdog resets while it boots
        argv += ["-global", "driver=timer.%s.timg,property=wdt_disable,value=true" % machine]
    argv += [
        "-nic", "user,model=%s,restrict=on,hostfwd=tcp:127.0.0.1:%d-:%d" % (nic, http_port, device_port),
        "-serial", chardev,
    ]
    return argv


# --------------------------------------------------------------------------------------------
# The emulated board


class EmulatedBoard(Target):
    """QEMU running firmware/<BOARD>/ on a scratch copy of the flash; always stopped on exit.

    ``with EmulatedBoard("ESP32_C3_QEMU", app="examples/hello") as eb:`` - then the app answers at
    ``eb.url``; without ``app`` it only boots (``eb.provision()``, ``eb.deploy(app)`` by hand).
    ``eb.console_device`` is the serial device (a pty path or socket:// URL). ``ota_token``
    (default $OTA_TOKEN) goes into the stored network set-up, as `make wifi OTA_TOKEN=...` does.
    """

    kind = "qemu-esp32"
    error = QemuError
    #: Seconds of console silence after which a boot that gives no prompt is interrupted.
    QUIET = 4.0

    def __init__(self, board: str, app: Optional[Path] = None, http_port: Optional[int] = None,
                 serial: str = "pty", qemu: Optional[str] = None, root: Path = ROOT, echo=print,
                 ota_token: Optional[str] = None, app_timeout: float = APP_TIMEOUT, watchdog: bool = False):
        self.board = qemu_board(board)
        self.root = Path(root)
        self.app = Path(app) if app is not None else None
        if self.app is not None and not (self.app / "main.py").is_file():
            raise QemuError("APP '%s' has no main.py; pass APP=examples/hello or your app folder." % app)
        self.qemu = find_qemu(self.board, qemu)
        self.flash, self.efuse = firmware_files(self.board, self.root)
        self.http_port = http_port or free_port()
        self.serial = serial
        self.echo = echo
        self.ota_token = ota_token if ota_token is not None else (os.environ.get("OTA_TOKEN") or None)
        self.app_timeout = app_timeout
        self.watchdog = watchdog  # machine.WDT resets the emulated chip (off by default)
        self.workdir = self.root / "firmware" / self.board.name / "qemu"
        self.proc: Optional[subprocess.Popen] = None
        self.console_device: Optional[str] = None
        self.banner = ""
        self.transcript = ""  # what the board printed that this object read
        self.boot_timeout = BOOT_TIMEOUT
        self.boot_seconds: Optional[float] = None

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.http_port

    def _say(self, msg: str) -> None:
        self.echo("== " + msg)

    def start(self) -> "EmulatedBoard":
        try:
            self._boot()
            if self.app is not None:
                self._say("storing the network set-up (/wifi.json%s, kitnet in /boot.py) over the console"
                          % (" with OTA_TOKEN" if self.ota_token else ""))
                self.provision(self.ota_token)
                self._say("deploying %s over the console" % self.app)
                self.deploy(self.app)
                self.wait_http("/", timeout=self.app_timeout)
        except BaseException:
            self.stop()  # no prompt, a failed set-up (or Ctrl-C): never leave QEMU running behind an error
            raise
        return self

    def _boot(self, keep_flash: bool = False) -> None:
        if not port_free(self.http_port):
            raise QemuError("Port %d on 127.0.0.1 is in use; pass HTTP_PORT= another one." % self.http_port)
        shown = self.flash.relative_to(self.root) if self.flash.is_relative_to(self.root) else self.flash
        self._say("booting %s under %s (%s)" % (shown, Path(self.qemu).name, self.board.qemu.get("machine")))
        t0 = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        flash, efuse = self.workdir / "flash.bin", self.workdir / "efuse.bin"
        if not keep_flash:
            shutil.copyfile(str(self.flash), str(flash))  # QEMU writes the filesystem into it
            shutil.copyfile(str(self.efuse), str(efuse))
        serial = self.serial
        if serial == "tcp":
            serial = "tcp:%d" % free_port()
        argv = qemu_argv(self.board, self.qemu, flash, efuse, self.http_port, serial,
                         bios=bios_dir(self.qemu, rom_name(self.board)), watchdog=self.watchdog)
        self.echo("$ " + " ".join(argv))
        log = open(str(self.workdir / "qemu.log"), "w")
        try:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=str(self.workdir), start_new_session=True)
        except OSError as exc:
            raise QemuError("Cannot run %s: %s." % (self.qemu, exc.strerror))
        finally:
            log.close()
        if serial == "pty":
            self.console_device = self._wait_pty()
            link = self.workdir / "console"
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(self.console_device)
        else:
            self.console_device = "socket://127.0.0.1:%s" % serial[4:]
        self.banner = self.wait_prompt(self.boot_timeout)
        self.boot_seconds = time.monotonic() - t0
        self._say("MicroPython prompt after %.1f s; console %s" % (self.boot_seconds, self.console_device))

    def _log_text(self) -> str:
        try:
            return (self.workdir / "qemu.log").read_text(errors="replace")
        except OSError:
            return ""

    def _wait_pty(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = PTY_LINE.search(self._log_text())
            if m:
                return m.group(1)
            self.alive()
            time.sleep(0.05)
        raise QemuError("QEMU did not open its console pty within 20 s; see %s." % (self.workdir / "qemu.log"))

    def alive(self) -> None:
        if self.proc is None:
            raise QemuError("QEMU is not running: start the board first.")
        if self.proc.poll() is not None:
            tail = self._log_text().strip().splitlines()[-1:] or ["no output"]
            raise QemuError("QEMU exited with status %d: %s" % (self.proc.returncode, tail[0]))

    def open_console(self, timeout: float = 0.2):
        import serial

        return serial.serial_for_url(self.console_device, baudrate=115200, timeout=timeout)

    def _keep(self, data: bytes) -> None:
        self.transcript = (self.transcript + data.decode("utf-8", "replace").replace("\r\n", "\n"))[-20000:]

    def wait_prompt(self, timeout: float = BOOT_TIMEOUT) -> str:
        """Wait for MicroPython's REPL prompt on the console; return what the board printed.

        A firmware whose boot keeps running (the frozen boot.py serving ``kitota.serve()`` on a
        board without main.py, a frozen main.py) is interrupted with Ctrl-C, as mpremote does,
        once its console has been quiet for QUIET seconds: never while it is still printing
        (the first boot formats the filesystem)."""
        data = b""
        start = time.monotonic()
        deadline = start + timeout
        try:
            with self.open_console() as link:
                link.write(b"\r\n")
                next_poke, last_output = start + 2, start
                while time.monotonic() < deadline:
                    self.alive()
                    chunk = link.read(4096)
                    now = time.monotonic()
                    if chunk:
                        data += chunk
                        last_output = now
                    if b">>> " in data:
                        return data.decode("utf-8", "replace")
                    if now > next_poke:  # the banner may have gone by before we listened
                        busy = now - start > 2 * self.QUIET and now - last_output > self.QUIET
                        link.write(b"\x03\r\n" if busy else b"\r\n")
                        next_poke = now + 2
        finally:
            self._keep(data)
        tail = data.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise QemuError("The board printed no MicroPython prompt within %d s (last output: %s); see %s."
                        % (timeout, " | ".join(tail) or "none", self.workdir / "qemu.log"))

    def provision(self, ota_token: Optional[str] = None) -> None:
        """What `make wifi [OTA_TOKEN=...]` stores: /wifi.json and the kitnet block in /boot.py
        (over the console)."""
        from tools.device import wifi

        try:
            wifi.store(LAN_SSID, "", port=self.console_device, ota_token=ota_token or None)
        except (wifi.WifiError, wifi.S.DeployError) as exc:
            raise QemuError("Storing the network set-up on the board failed: %s" % exc)

    def deploy(self, app: Path) -> None:
        """Copy the app with `make deploy`'s code and soft-reset so boot.py and main.py run."""
        from tools.device import deploy

        try:
            deploy.deploy(str(app), port=self.console_device, reset=True, follow=6.0)
        except deploy.DeployError as exc:
            raise QemuError("Deploying %s failed: %s" % (app, exc))

    # -- the Target interface beyond start/stop ---------------------------------------------

    def console_text(self, lines: int = 30) -> str:
        """What the board printed: the part this object read, plus what is waiting on the console."""
        if self.proc is not None and self.console_device:
            try:
                with self.open_console(timeout=0.3) as link:
                    self._keep(link.read(65536))
            except Exception:  # the console is busy (mpremote, make monitor): what was read so far
                pass
        return "\n".join(self.transcript.rstrip().splitlines()[-lines:])

    def console_run(self, code: str, timeout: float = 60.0) -> str:
        """Run ``code`` on the REPL with mpremote (the running app is interrupted; reset() starts it)."""
        from tools.device import deploy

        self.alive()
        try:
            return deploy.exec_code(self.console_device, code, timeout)
        except deploy.DeployError as exc:
            raise QemuError(str(exc))

    def reset(self) -> None:
        """Soft reset from the normal REPL: boot.py brings up the LAN, main.py starts the app."""
        from tools.device import deploy

        self.alive()
        try:
            self._keep(deploy.soft_reset(self.console_device, follow=2.0, echo=lambda line: None).encode())
        except deploy.DeployError as exc:
            raise QemuError(str(exc))
        if self.app is not None:
            self.wait_http("/", timeout=self.app_timeout)

    def power_cycle(self) -> None:
        """Power off and on: QEMU starts again on the same flash (what the board wrote stays).
        Unlike a chip's reset, it also drops QEMU's copy of the flash pages the cache had
        mapped (its esp32c3 cache model refreshes a page only when its MMU entry changes), so
        a ROMFS image written since is read from flash (docs/romfs.md)."""
        stop_process_group(self.proc)
        self.proc = None
        self._boot(keep_flash=True)  # its wait for the prompt interrupts main.py: start it again
        self.reset()

    def facts(self) -> Facts:
        info = read_build_info(self.flash)
        exts = info.get("extensions") if info else None
        m = BANNER.search(self.banner)
        return Facts(kind=self.kind, board=self.board.name, port="esp32", micropython=m.group(1) if m else None,
                     extensions=sorted(exts) if isinstance(exts, list) else None, build_info=info)

    def wait(self) -> None:
        """Leave the console to others (make deploy/monitor PORT=...) until Ctrl-C or QEMU exits."""
        while True:
            self.alive()
            time.sleep(0.5)

    def follow(self) -> None:
        """Echo the console until Ctrl-C (or QEMU exits); nothing else can use it meanwhile."""
        with self.open_console() as link:
            buf = b""
            while True:
                self.alive()
                buf += link.read(4096)
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    text = line.decode("utf-8", "replace").rstrip()
                    if text:
                        self.echo("  board: " + text)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_process_group(proc)


def available(board: str = "ESP32_C3_QEMU") -> Optional[str]:
    """None when the board can be emulated here, else why not (one line)."""
    try:
        b = qemu_board(board)
        find_qemu(b)
        firmware_files(b)
    except QemuError as exc:
        return str(exc)
    return None
