"""Boot firmware/<BOARD>/ of an esp32 board under Espressif's QEMU (``qemu-system-riscv32 -M esp32c3``).

``python -m tools.targets.qemu_esp32 run --board ESP32_C3_QEMU [--app examples/hello]`` (``make run
BOARD=ESP32_C3_QEMU``) boots the merged flash image the build wrote (``flash_image.bin``, with
``qemu_efuse.bin``) on a scratch copy, so every run starts from the image as built; stores the
network set-up the way ``make wifi`` does (``/wifi.json`` + the kitnet block in ``/boot.py``:
kitnet brings up the emulated OpenCores Ethernet on this board); copies the app with
``make deploy``'s code; soft-resets and serves it at ``http://127.0.0.1:<HTTP_PORT>/`` (QEMU's
user-mode network forwards that host port to the board's port 5000) until Ctrl-C, echoing the
board's console.

``python -m tools.targets.qemu_esp32 test-hw --board ESP32_C3_QEMU`` (``make test-hw`` / ``make smoke``
for this board) does the same with the smoke app (tests/hardware/device) and runs the hardware
suite against it through tools/suite/smoke.py. ``boot`` only boots and prints where the console is.

The console is a pty by default (mpremote, ``make deploy PORT=...`` and ``make monitor PORT=...``
use it while the board runs; ``firmware/<BOARD>/qemu/console`` links to it) or a TCP port on
127.0.0.1 (``--serial tcp``, mpremote's ``socket://`` URL). The guest network is QEMU's
``-nic user`` with ``restrict=on``: the board reaches nothing but the host's forwarded port.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

from tools.selection import boards as B

ROOT = B.ROOT
SMOKE_APP = ROOT / "tests" / "hardware" / "device"
DEFAULT_APP = ROOT / "examples" / "hello"
#: The port the kit's apps and the smoke app listen on, on the board.
DEVICE_PORT = 5000
DEFAULT_HTTP_PORT = 8080
#: Seconds from QEMU's start to the MicroPython prompt (the emulator is slower than a chip).
BOOT_TIMEOUT = 90
PTY_LINE = re.compile(r"char device redirected to (/dev/pts/\d+)")
#: The network entry `make wifi` would store; kitnet ignores it where it brings up the LAN.
LAN_SSID = "qemu-openeth"


class QemuError(Exception):
    """The emulated board could not be started or driven."""


def _say(msg: str) -> None:
    print("== " + msg, flush=True)


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
    name = explicit or os.environ.get("QEMU") or board.qemu.get("binary", "qemu-system-riscv32")
    path = name if os.sep in name else which(name)
    if not path or not Path(path).is_file():
        raise QemuError(
            "No %s found: install Espressif's QEMU (`python $IDF_PATH/tools/idf_tools.py install "
            "qemu-riscv32`, then `. $IDF_PATH/export.sh`; or `. <ROOT>/env.sh` from "
            "esp32c3-qemu.sh), or pass QEMU=/path/to/%s." % (name, board.qemu.get("binary", name))
        )
    return str(path)


def bios_dir(qemu: str) -> Optional[Path]:
    """A folder with the chip ROM images (esp32c3-rom.bin) when QEMU would not find it itself.

    An installed QEMU (idf_tools.py) finds them under ../share/qemu; a QEMU build folder keeps
    them in its source tree's pc-bios/, which QEMU_BIOS_DIR= (or ``-L``) names.
    """
    explicit = os.environ.get("QEMU_BIOS_DIR")
    if explicit:
        return Path(explicit)
    here = Path(qemu).resolve().parent
    for candidate in (here / "pc-bios", here.parent / "share" / "qemu", here / "qemu-bundle" / "usr" / "local" / "share" / "qemu"):
        if any(candidate.glob("esp32c3-rom.bin")):
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
) -> List[str]:
    """The QEMU command line: the board's machine, flash and eFuse images, OpenCores Ethernet
    behind user-mode networking (restricted; 127.0.0.1:http_port -> board:device_port), the
    console on ``serial`` ("pty" or "tcp:PORT")."""
    machine = board.qemu.get("machine", board.chip)
    nic = board.qemu.get("nic", "open_eth")
    if serial == "pty":
        chardev = "pty"
    elif serial.startswith("tcp:") and serial[4:].isdigit():
        chardev = "tcp:127.0.0.1:%s,server=on,wait=off" % serial[4:]
    else:
        raise QemuError("Console '%s' is not 'pty' or 'tcp:PORT'; pass SERIAL=pty or SERIAL=tcp:4444." % serial)
    argv = [qemu, "-M", machine, "-display", "none", "-monitor", "none"]
    if bios is not None:
        argv += ["-L", str(bios)]
    argv += [
        "-drive", "file=%s,if=mtd,format=raw" % flash,
        "-drive", "file=%s,if=none,format=raw,id=efuse" % efuse,
        "-global", "driver=nvram.%s.efuse,property=drive,value=efuse" % machine,
        # The emulated chip is slower than a real one: no watchdog resets while it boots.
        "-global", "driver=timer.%s.timg,property=wdt_disable,value=true" % machine,
        "-nic", "user,model=%s,restrict=on,hostfwd=tcp:127.0.0.1:%d-:%d" % (nic, http_port, device_port),
        "-serial", chardev,
    ]
    return argv


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# The emulated board


class EmulatedBoard:
    """QEMU running firmware/<BOARD>/ on a scratch copy of the flash; always stopped on exit.

    ``with EmulatedBoard("ESP32_C3_QEMU") as eb: eb.deploy("examples/hello")`` - then the app
    answers at ``eb.url``; ``eb.console`` is the serial device (a pty path or socket:// URL).
    """

    #: Seconds of console silence after which a boot that gives no prompt is interrupted.
    QUIET = 4.0

    def __init__(self, board: str, http_port: Optional[int] = None, serial: str = "pty",
                 qemu: Optional[str] = None, root: Path = ROOT, echo=print):
        self.board = qemu_board(board)
        self.root = Path(root)
        self.qemu = find_qemu(self.board, qemu)
        self.flash, self.efuse = firmware_files(self.board, self.root)
        self.http_port = http_port or free_port()
        self.serial = serial
        self.echo = echo
        self.workdir = self.root / "firmware" / self.board.name / "qemu"
        self.proc: Optional[subprocess.Popen] = None
        self.console: Optional[str] = None
        self.banner = ""
        self.boot_timeout = BOOT_TIMEOUT

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.http_port

    def start(self) -> "EmulatedBoard":
        if not port_free(self.http_port):
            raise QemuError("Port %d on 127.0.0.1 is in use; pass HTTP_PORT= another one." % self.http_port)
        self.workdir.mkdir(parents=True, exist_ok=True)
        flash, efuse = self.workdir / "flash.bin", self.workdir / "efuse.bin"
        shutil.copyfile(str(self.flash), str(flash))  # QEMU writes the filesystem into it
        shutil.copyfile(str(self.efuse), str(efuse))
        serial = self.serial
        if serial == "tcp":
            serial = "tcp:%d" % free_port()
        argv = qemu_argv(self.board, self.qemu, flash, efuse, self.http_port, serial,
                         bios=bios_dir(self.qemu))
        self.echo("$ " + " ".join(argv))
        log = open(str(self.workdir / "qemu.log"), "w")
        try:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=str(self.workdir), start_new_session=True)
        except OSError as exc:
            raise QemuError("Cannot run %s: %s." % (self.qemu, exc.strerror))
        finally:
            log.close()
        try:
            if serial == "pty":
                self.console = self._wait_pty()
                link = self.workdir / "console"
                if link.is_symlink() or link.exists():
                    link.unlink()
                link.symlink_to(self.console)
            else:
                self.console = "socket://127.0.0.1:%s" % serial[4:]
            self.banner = self.wait_prompt(self.boot_timeout)
        except BaseException:
            self.stop()  # no prompt (or Ctrl-C): never leave QEMU running behind an error
            raise
        return self

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
            self._check_alive()
            time.sleep(0.05)
        raise QemuError("QEMU did not open its console pty within 20 s; see %s." % (self.workdir / "qemu.log"))

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            tail = self._log_text().strip().splitlines()[-1:] or ["no output"]
            raise QemuError("QEMU exited with status %d: %s" % (self.proc.returncode, tail[0]))

    def open_console(self, timeout: float = 0.2):
        import serial

        return serial.serial_for_url(self.console, baudrate=115200, timeout=timeout)

    def wait_prompt(self, timeout: float = BOOT_TIMEOUT) -> str:
        """Wait for MicroPython's REPL prompt on the console; return what the board printed.

        A firmware whose boot keeps running (the frozen boot.py serving ``kitota.serve()`` on a
        board without main.py, a frozen main.py) is interrupted with Ctrl-C, as mpremote does,
        once its console has been quiet for QUIET seconds: never while it is still printing
        (the first boot formats the filesystem)."""
        data = b""
        start = time.monotonic()
        deadline = start + timeout
        with self.open_console() as link:
            link.write(b"\r\n")
            next_poke, last_output = start + 2, start
            while time.monotonic() < deadline:
                self._check_alive()
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
        tail = data.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise QemuError("The board printed no MicroPython prompt within %d s (last output: %s); see %s."
                        % (timeout, " | ".join(tail) or "none", self.workdir / "qemu.log"))

    def provision(self, ota_token: Optional[str] = None) -> None:
        """What `make wifi [OTA_TOKEN=...]` stores: /wifi.json and the kitnet block in /boot.py
        (over the console)."""
        from tools.device import wifi

        try:
            wifi.store(LAN_SSID, "", port=self.console, ota_token=ota_token or None)
        except (wifi.WifiError, wifi.S.DeployError) as exc:
            raise QemuError("Storing the network set-up on the board failed: %s" % exc)

    def deploy(self, app: Path) -> None:
        """Copy the app with `make deploy`'s code and soft-reset so boot.py and main.py run."""
        from tools.device import deploy

        try:
            deploy.deploy(str(app), port=self.console, reset=True, follow=6.0)
        except deploy.DeployError as exc:
            raise QemuError("Deploying %s failed: %s" % (app, exc))

    def wait_http(self, path: str = "/", timeout: float = 60) -> None:
        """Wait until the app answers HTTP on the forwarded port."""
        import urllib.error
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with opener.open(self.url + path, timeout=5) as r:
                    r.read()
                    return
            except urllib.error.HTTPError:
                return  # it answered
            except Exception as exc:  # not up yet
                last = exc
                time.sleep(0.5)
        raise QemuError("The app did not answer at %s within %d s (%s); watch the console with "
                        "`make monitor PORT=%s`." % (self.url + path, timeout, last, self.console))

    def wait(self) -> None:
        """Leave the console to others (make deploy/monitor PORT=...) until Ctrl-C or QEMU exits."""
        while True:
            self._check_alive()
            time.sleep(0.5)

    def follow(self) -> None:
        """Echo the console until Ctrl-C (or QEMU exits); nothing else can use it meanwhile."""
        with self.open_console() as link:
            buf = b""
            while True:
                self._check_alive()
                buf += link.read(4096)
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    text = line.decode("utf-8", "replace").rstrip()
                    if text:
                        self.echo("  board: " + text)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        from tools.targets.virtual import stop_process_group
        stop_process_group(proc)

    def __enter__(self) -> "EmulatedBoard":
        return self.start()

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False


# --------------------------------------------------------------------------------------------
# Commands


def boot(board: str, app: Optional[Path], http_port: Optional[int], serial: str, qemu: Optional[str]) -> EmulatedBoard:
    eb = EmulatedBoard(board, http_port=http_port, serial=serial, qemu=qemu)
    _say("booting %s under %s (%s)" % (eb.flash.relative_to(ROOT), Path(eb.qemu).name, eb.board.qemu.get("machine")))
    t0 = time.monotonic()
    try:
        eb.start()
        _say("MicroPython prompt after %.1f s; console %s" % (time.monotonic() - t0, eb.console))
        if app is not None:
            token = os.environ.get("OTA_TOKEN") or None
            _say("storing the network set-up (/wifi.json%s, kitnet in /boot.py) over the console"
                 % (" with OTA_TOKEN" if token else ""))
            eb.provision(token)
            _say("deploying %s over the console" % app)
            eb.deploy(app)
    except BaseException:
        eb.stop()  # the caller never gets the board: stop QEMU here
        raise
    return eb


def _hold(eb: EmulatedBoard, follow: bool) -> None:
    if follow:
        _say("echoing the console %s (FOLLOW=1)" % eb.console)
        eb.follow()
    link = eb.workdir / "console"
    port = link.relative_to(ROOT) if eb.console.startswith("/dev/") and link.is_relative_to(ROOT) else eb.console
    _say("console free for `make deploy PORT=%s`, `make wifi ... PORT=...`, `make monitor PORT=...`" % port)
    eb.wait()


def run(board: str, app: Path, http_port: Optional[int], serial: str, qemu: Optional[str],
        follow: bool = False) -> int:
    eb = None
    try:
        eb = boot(board, app, http_port or DEFAULT_HTTP_PORT, serial, qemu)
        eb.wait_http("/")
        _say("serving %s at %s/ (Ctrl-C stops the board)" % (app, eb.url))
        if os.environ.get("OTA_TOKEN"):
            _say("an app with kitota.install(app) updates with `make ota DEVICE=%s OTA_TOKEN=... APP=...` "
                 "(FIRMWARE=1 BOARD=%s: the firmware of an OTA=1 build)" % (eb.url, board))
        _hold(eb, follow)
    except KeyboardInterrupt:
        print()
        _say("stopped")
        return 0
    finally:
        if eb is not None:
            eb.stop()
    return 1


def test_hw(board: str, http_port: Optional[int], qemu: Optional[str], report: Optional[Path],
            pytest_args: Sequence[str] = ()) -> int:
    """Boot the board with the smoke app and run the hardware suite against it."""
    from tools.suite import smoke

    eb = boot(board, SMOKE_APP, http_port, "pty", qemu)
    try:
        smoke.wait_for(eb.url, timeout=120)
        from tools.targets.virtual import built_extensions  # the build-info.json beside the image

        code = smoke.run_suite(eb.url, report or smoke.REPORT, built_extensions(str(eb.flash)), pytest_args)
        if code != 0:
            print("error: the hardware suite failed against %s on %s (pytest exit status %d); see the "
                  "table above." % (eb.url, board, code), file=sys.stderr)
        return code
    except smoke.SmokeError as exc:
        raise QemuError(str(exc))
    finally:
        eb.stop()


#: The app `bench` deploys: heap free after boot (framework frozen, imported), and the routes
#: that bracket a window of requests with the collector off (heap allocated per request).
BENCH_APP = """\
import gc
gc.collect()
BOOT_FREE = gc.mem_free()
from microdot import Microdot
gc.collect()
IMPORT_FREE = gc.mem_free()
app = Microdot()


def kept(build):  # heap a part of the kit keeps once it is set up (None: not in this image)
    gc.collect()
    before = gc.mem_free()
    try:
        held = build()
    except ImportError:
        return None, None
    gc.collect()
    return before - gc.mem_free(), held


def ota_routes():
    import kitota
    return kitota.install(Microdot(), token='bench-token')


def portal_app():
    import network
    import kitdns  # noqa: F401  (the portal's DNS, imported when it starts)
    import kitportal
    return kitportal.make_app(network, 'microdot-BENCH', '192.168.4.1', '/bench-none.json')


OTA_HEAP, _ota = kept(ota_routes)
PORTAL_HEAP, _portal = kept(portal_app)


@app.route('/')
async def index(request):
    return 'Hello, World!'


@app.route('/__heap')
async def heap(request):
    return {'boot_free': BOOT_FREE, 'import_free': IMPORT_FREE, 'free': gc.mem_free(),
            'total': gc.mem_free() + gc.mem_alloc(), 'ota': OTA_HEAP, 'portal': PORTAL_HEAP}


@app.route('/__gc/off')
async def gc_off(request):
    gc.collect()
    gc.disable()
    return str(gc.mem_alloc())


@app.route('/__gc/on')
async def gc_on(request):
    used = gc.mem_alloc()
    gc.enable()
    gc.collect()
    return str(used)


app.run(port=5000)
"""


def _get(conn, path: str) -> bytes:
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise QemuError("GET %s answered %d on the emulated board." % (path, r.status))
    return body


def bench(board: str = "ESP32_C3_QEMU", requests: int = 50, qemu: Optional[str] = None, log=print) -> dict:
    """Boot the board with BENCH_APP; heap free after boot, heap per request, latency (ms)."""
    import http.client
    import json
    import statistics
    import tempfile

    with tempfile.TemporaryDirectory(prefix="qemu-bench-") as tmp:
        (Path(tmp) / "main.py").write_text(BENCH_APP, encoding="utf-8")
        eb = boot(board, Path(tmp), None, "pty", qemu)
    try:
        eb.wait_http("/", timeout=90)
        conn = http.client.HTTPConnection("127.0.0.1", eb.http_port, timeout=30)
        heap = json.loads(_get(conn, "/__heap"))
        for _ in range(5):  # warm-up
            _get(conn, "/")

        def window(k: int) -> int:
            start = int(_get(conn, "/__gc/off"))
            for _ in range(k):
                _get(conn, "/")
            return int(_get(conn, "/__gc/on")) - start

        small, large = 5, 25
        per_request = (window(large) - window(small)) / float(large - small)
        keep, fresh = [], []
        for _ in range(requests):
            t0 = time.perf_counter()
            _get(conn, "/")
            keep.append((time.perf_counter() - t0) * 1000)
        conn.close()
        for _ in range(max(5, requests // 5)):
            t0 = time.perf_counter()
            c = http.client.HTTPConnection("127.0.0.1", eb.http_port, timeout=30)
            _get(c, "/")
            c.close()
            fresh.append((time.perf_counter() - t0) * 1000)
        banner = [l for l in eb.banner.splitlines() if "MicroPython" in l]
        return {
            "board": board,
            "firmware": banner[-1].strip() if banner else None,
            "heap_total": heap["total"],
            "heap_free_boot": heap["boot_free"],
            "heap_free_after_import": heap["import_free"],
            "heap_per_request": round(per_request),
            "heap_ota": heap.get("ota"),
            "heap_portal": heap.get("portal"),
            "latency_ms_keepalive_median": round(statistics.median(keep), 2),
            "latency_ms_keepalive_p90": round(sorted(keep)[int(len(keep) * 0.9) - 1], 2),
            "latency_ms_new_connection_median": round(statistics.median(fresh), 2),
            "requests": requests,
        }
    finally:
        eb.stop()


def _bytes_or_absent(value: Optional[int], extension: str) -> str:
    return "%d B" % value if value is not None else "not in this image (EXTENSIONS=\"... %s\")" % extension


def format_bench(res: dict) -> str:
    rows = [
        ("heap (MicroPython, total)", "%d B" % res["heap_total"]),
        ("heap free after boot", "%d B" % res["heap_free_boot"]),
        ("heap free after import microdot (frozen)", "%d B" % res["heap_free_after_import"]),
        ("heap allocated per request (GET /, keep-alive)", "%d B" % res["heap_per_request"]),
        ("heap kept by the ota extension (kitota.install)", _bytes_or_absent(res.get("heap_ota"), "ota")),
        ("heap kept by the set-up portal (kitportal.make_app)", _bytes_or_absent(res.get("heap_portal"), "wifi")),
        ("latency, keep-alive (median / p90)", "%.1f / %.1f ms" % (
            res["latency_ms_keepalive_median"], res["latency_ms_keepalive_p90"])),
        ("latency, new connection per request (median)", "%.1f ms" % res["latency_ms_new_connection_median"]),
    ]
    width = max(len(r[0]) for r in rows)
    head = "ESP32-C3 (QEMU): %s, %d requests" % (res.get("firmware") or res["board"], res["requests"])
    return "\n".join([head] + ["  %s  %s" % (k.ljust(width), v) for k, v in rows])


def available(board: str = "ESP32_C3_QEMU") -> Optional[str]:
    """None when the board can be emulated here, else why not (one line)."""
    try:
        b = qemu_board(board)
        find_qemu(b)
        firmware_files(b)
    except QemuError as exc:
        return str(exc)
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.targets.qemu_esp32", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("run", "test-hw", "boot", "bench"),
                        help="run an app, run the hardware suite, just boot, or measure heap and latency")
    parser.add_argument("--board", default="ESP32_C3_QEMU", help="an esp32 board with a qemu entry in board.json")
    parser.add_argument("--app", type=Path, default=None, help="app folder for run (default examples/hello)")
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("HTTP_PORT") or 0) or None,
                        help="host port forwarded to the board's port 5000 (env HTTP_PORT; run: 8080)")
    parser.add_argument("--serial", default=os.environ.get("SERIAL") or "pty", help="console: pty (default), tcp (a free port) or tcp:PORT")
    parser.add_argument("--qemu", default=None, help="qemu-system-riscv32 binary (default: PATH; env QEMU)")
    parser.add_argument("--follow", action="store_true", default=bool(os.environ.get("FOLLOW")),
                        help="echo the board's console (env FOLLOW=1; it is then busy for mpremote)")
    parser.add_argument("--report", type=Path, default=None, help="test-hw: JUnit XML path")
    args, rest = parser.parse_known_args(argv)
    if rest and rest[0] == "--":
        rest = rest[1:]
    elif rest:
        parser.error("unrecognized arguments: %s (pytest arguments go after --)" % " ".join(rest))
    if rest and args.command != "test-hw":
        parser.error("only test-hw takes pytest arguments")
    args.pytest_args = rest

    def _term(signum, frame):  # `kill` stops QEMU too, as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (a background job)
    try:
        if args.command == "run":
            app = args.app or DEFAULT_APP
            if not (Path(app) / "main.py").is_file():
                raise QemuError("APP '%s' has no main.py; pass APP=examples/hello or your app folder." % app)
            return run(args.board, Path(app), args.http_port, args.serial, args.qemu, args.follow)
        if args.command == "test-hw":
            return test_hw(args.board, args.http_port, args.qemu, args.report, args.pytest_args)
        if args.command == "bench":
            print(format_bench(bench(args.board, qemu=args.qemu)))
            return 0
        eb = boot(args.board, args.app, args.http_port, args.serial, args.qemu)
        try:
            _say("board up; app port %s (Ctrl-C stops it)" % eb.url)
            _hold(eb, args.follow)
        except KeyboardInterrupt:
            return 0
        finally:
            eb.stop()
        return 0
    except QemuError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
