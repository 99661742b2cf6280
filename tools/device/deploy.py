"""Copy an app to the board with mpremote: ``make deploy APP=examples/hello [PORT=...]``.

Only files whose SHA-256 differs from the board's copy are sent: one ``mpremote exec`` hashes
the app's files on the board, :func:`plan_copy` compares them with the local hashes, then one
chained mpremote call makes the missing folders and copies the changed files. Last comes a
soft reset from the normal REPL (Ctrl-B, Ctrl-D), which runs ``boot.py`` and ``main.py`` - a
soft reset inside mpremote's raw REPL would skip them - and the board's first output is shown.
``--monitor`` opens the board's REPL (``make monitor``).

The app folder maps onto the board's filesystem root (mpremote's working directory there after
its reset): ``examples/hello/main.py`` becomes ``main.py``, ``examples/hello/static/app.js``
becomes ``static/app.js``.

The app brings what it needs: :mod:`tools.selection.appdeps` reads which kit modules it imports, the same
``mpremote exec`` asks the board which of them its firmware holds (a board on stock MicroPython
holds none) and which ``.mpy`` version and architecture it loads, and every missing module is
compiled with ``mpy-cross`` for that board and copied to ``/lib`` (``lib/microdot/pubsub.mpy``)
before the app. When that cannot work (an old MicroPython, a CPython-only import) it stops with
one line saying what is missing.

The app's own modules other than ``main.py`` and ``boot.py`` are compiled the same way
(``helpers.py`` goes to the board as ``helpers.mpy``, and a ``helpers.py`` an earlier deploy left
there is removed, since it would be imported first): the board loads bytecode instead of
compiling the source in its own heap.

``ROMFS=1`` (``--romfs``): those modules and the missing kit modules go into one ROMFS image
(tools/device/romfs.py) instead, which ``mpremote romfs deploy`` writes to the board's ROMFS
area (esp32: the ``romfs`` partition; rp2: ``MICROPY_HW_ROMFS_BYTES``); the firmware mounts it
at ``/rom`` and imports from it execute in place. ``main.py``, ``boot.py`` and the other files
are copied as before; copies on the filesystem of what the image holds are removed (the
filesystem comes first on ``sys.path``). docs/romfs.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from tools.device import romfs as R
from tools.selection import appdeps
from tools.selection import boards

ROOT = Path(__file__).resolve().parents[2]
#: Where missing kit modules go on the board (on sys.path of every MicroPython port).
LIB = "lib"
#: sys.implementation._mpy >> 10, as MicroPython numbers the architectures (py/persistentcode.h).
MPY_ARCHS = (None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
             "xtensa", "xtensawin", "rv32imc", "rv64imc")
#: USB vendor ids of the serial bridges and chips on the kit's boards.
KNOWN_VIDS = {
    0x10C4: "Silicon Labs CP210x",
    0x1A86: "WCH CH340/CH9102",
    0x0403: "FTDI",
    0x303A: "Espressif USB",
    0x2E8A: "Raspberry Pi",
}
SKIP_NAMES = {"__pycache__", ".DS_Store", "Thumbs.db"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
#: Files `make deploy` never copies: they hold secrets or belong to `make wifi`.
RESERVED = {"wifi.json"}


class DeployError(Exception):
    """A deploy/serial problem, as one sentence saying what to do."""


# --------------------------------------------------------------------------------------------
# Serial ports (shared with tools.device.flash and tools.device.wifi)


@dataclass(frozen=True)
class SerialPort:
    device: str
    vid: Optional[int] = None
    pid: Optional[int] = None
    description: str = ""


def list_serial_ports() -> List[SerialPort]:
    from serial.tools import list_ports

    return [
        SerialPort(p.device, p.vid, p.pid, p.description or "")
        for p in sorted(list_ports.comports(), key=lambda p: p.device)
    ]


def pick_port(ports: Sequence[SerialPort], vids: Optional[Iterable[int]] = None) -> str:
    """The one USB serial port that looks like a board, or DeployError saying what to do."""
    usb = [p for p in ports if p.vid is not None]
    if vids is not None:
        wanted = set(vids)
        usb = [p for p in usb if p.vid in wanted] or usb
    known = [p for p in usb if p.vid in KNOWN_VIDS]
    candidates = known or usb
    if not candidates:
        raise DeployError(
            "No board found on a USB serial port: plug it in with a data cable, or pass "
            "PORT=/dev/ttyUSB0 (Windows: PORT=COM3)."
        )
    if len(candidates) > 1:
        raise DeployError(
            "Several serial ports look like boards (%s): pass PORT= to choose one."
            % ", ".join(p.device for p in candidates)
        )
    return candidates[0].device


def check_port(port: str) -> str:
    """A port given by the user: a device path must exist (URLs and COM names pass)."""
    if port.startswith("/") and not os.path.exists(port):
        raise DeployError(
            "Serial port '%s' does not exist: check the cable and the name (list the ports "
            "with `python -m serial.tools.list_ports`)." % port
        )
    return port


def resolve_port(port: Optional[str], vids: Optional[Iterable[int]] = None, ports=None) -> str:
    if port:
        return check_port(port)
    return pick_port(list_serial_ports() if ports is None else ports, vids)


def mpremote_base(port: str) -> List[str]:
    return [sys.executable, "-m", "mpremote", "connect", port]


# --------------------------------------------------------------------------------------------
# What to copy (pure)


def app_files(app: Path) -> Dict[str, Path]:
    """The app's files by board path ('main.py', 'static/app.js'), skipping caches and dotfiles."""
    out: Dict[str, Path] = {}
    for path in sorted(app.rglob("*")):
        rel = path.relative_to(app)
        if rel.parts[0] == "host" or any(part.startswith(".") or part in SKIP_NAMES for part in rel.parts):  # host/: virtual-board stand-ins
            continue
        if not path.is_file() or path.name.endswith(SKIP_SUFFIXES) or rel.as_posix() in RESERVED:
            continue
        out[rel.as_posix()] = path
    return out


def local_hashes(files: Dict[str, Path]) -> Dict[str, str]:
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()}


def remote_dirs(names: Iterable[str]) -> List[str]:
    """Every folder the files need on the board, parents first."""
    dirs = set()
    for name in names:
        parent = PurePosixPath(name).parent
        while str(parent) not in (".", ""):
            dirs.add(str(parent))
            parent = parent.parent
    return sorted(dirs, key=lambda d: (d.count("/"), d))


def plan_copy(
    local: Dict[str, str], remote_files: Dict[str, Optional[str]], remote_dirs_present: Dict[str, bool]
) -> Tuple[List[str], List[str]]:
    """(folders to make, files to copy): files missing on the board or with another hash."""
    changed = sorted(name for name, digest in local.items() if remote_files.get(name) != digest)
    make = [d for d in remote_dirs(changed) if not remote_dirs_present.get(d, False)]
    return make, changed


def hash_script(names: Sequence[str], dirs: Sequence[str]) -> str:
    """MicroPython code printing one JSON line: {"files": {name: sha256|null}, "dirs": {d: bool}}."""
    return (
        "import os,json,hashlib,binascii\n"
        "def h(p):\n"
        " try:\n"
        "  f=open(p,'rb')\n"
        " except OSError:\n"
        "  return None\n"
        " s=hashlib.sha256()\n"
        " while 1:\n"
        "  b=f.read(1024)\n"
        "  if not b:break\n"
        "  s.update(b)\n"
        " f.close()\n"
        " return binascii.hexlify(s.digest()).decode()\n"
        "def d(p):\n"
        " try:\n"
        "  return os.stat(p)[0]&0x4000!=0\n"
        " except OSError:\n"
        "  return False\n"
        "print('KIT'+json.dumps({'files':{n:h(n) for n in %s},'dirs':{n:d(n) for n in %s}}))\n"
        % (json.dumps(list(names)), json.dumps(list(dirs)))
    )


def firmware_script(modules: Sequence[str]) -> str:
    """MicroPython code printing ``KITFW{...}``: which of ``modules`` the firmware holds, the
    MicroPython version and the .mpy version/architecture it loads.

    Only the firmware's own modules count: the import runs with a sys.path without the
    filesystem root, /lib and the ROMFS image's /rom and /rom/lib (what earlier deploys put
    there is compared by hash or replaced).
    """
    return (
        "import sys,json\n"
        "_p=sys.path[:]\n"
        "sys.path[:]=[p for p in _p if p not in ('','.','/','/lib','lib','/rom','/rom/lib')]\n"
        "_h=[]\n"
        "for _n in %s:\n"
        " try:\n"
        "  __import__(_n);_h.append(_n)\n"
        " except ImportError:\n"
        "  pass\n"
        "sys.path[:]=_p\n"
        "_i=sys.implementation\n"
        "print('KITFW'+json.dumps({'has':_h,'mpy':getattr(_i,'_mpy',None),"
        "'version':'.'.join(str(v) for v in _i.version[:3]),'machine':getattr(_i,'_machine',sys.platform)}))\n"
        % json.dumps(list(modules))
    )


@dataclass
class Firmware:
    """What the board said about its firmware."""

    has: List[str]  # kit modules (dotted) the firmware holds
    mpy: Optional[int]  # sys.implementation._mpy
    version: str
    machine: str

    @property
    def mpy_version(self) -> Optional[Tuple[int, int]]:
        return None if self.mpy is None else (self.mpy & 0xFF, (self.mpy >> 8) & 3)

    @property
    def arch(self) -> Optional[str]:
        if self.mpy is None:
            return None
        index = self.mpy >> 10
        return MPY_ARCHS[index] if index < len(MPY_ARCHS) else None


def parse_firmware(output: str) -> Firmware:
    for line in output.splitlines():
        if line.startswith("KITFW{"):
            data = json.loads(line[5:])
            return Firmware(sorted(data["has"]), data.get("mpy"), data.get("version") or "?",
                            data.get("machine") or "?")
    raise DeployError(
        "The board did not say what its firmware holds (is it running MicroPython?): %s"
        % (output.strip().splitlines() or ["no output"])[-1]
    )


def parse_hashes(output: str) -> Tuple[Dict[str, Optional[str]], Dict[str, bool]]:
    for line in output.splitlines():
        if line.startswith("KIT{"):
            data = json.loads(line[3:])
            return data["files"], data["dirs"]
    raise DeployError(
        "The board did not answer the file check (is it running MicroPython with hashlib?): "
        "%s" % (output.strip().splitlines() or ["no output"])[-1]
    )


def copy_argv(port: str, app: Path, make_dirs: Sequence[str], files: Sequence[str],
              sources: Optional[Dict[str, Path]] = None, remove: Sequence[str] = ()) -> List[str]:
    """One chained mpremote call: remove ``remove``, mkdir the folders, then copy the files.

    ``sources`` maps board paths to local files where they are not ``app / name`` (the
    compiled modules)."""
    argv = mpremote_base(port)
    parts: List[List[str]] = [["fs", "rm", ":" + name] for name in remove]
    for d in make_dirs:
        parts.append(["fs", "mkdir", ":" + d])
    for name in files:
        local = (sources or {}).get(name, app / name)
        parts.append(["fs", "cp", "-f", str(local), ":" + name])
    for i, part in enumerate(parts):
        if i:
            argv.append("+")
        argv += part
    return argv


#: Ctrl-C twice (stop the program), Ctrl-B (normal REPL), Ctrl-D (soft reset: boot.py, main.py).
SOFT_RESET = b"\r\x03\x03\x02\x04"


# --------------------------------------------------------------------------------------------
# Running


def soft_reset(port: str, follow: float = 3.0, echo=print) -> str:
    """Soft-reset from the normal REPL so main.py starts; show what the board prints for a while."""
    import serial

    try:
        with serial.Serial(port, 115200, timeout=0.1) as link:
            link.write(SOFT_RESET)
            link.flush()
            data = b""
            end = time.time() + follow
            while time.time() < end:
                data += link.read(4096)
    except (serial.SerialException, OSError) as exc:
        raise DeployError("Cannot reset the board on '%s': %s." % (port, exc))
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    for line in text.splitlines():
        if line.strip() and line.strip() != ">>>":
            echo("  board: %s" % line.rstrip())
    return text


#: Seconds one mpremote call may take (a board that stopped answering would block forever).
MPREMOTE_TIMEOUT = 300


def run_mpremote(argv: List[str], capture: bool = False, timeout: Optional[float] = None) -> subprocess.CompletedProcess:
    """Run mpremote; a captured call gives up after ``timeout`` seconds (default MPREMOTE_TIMEOUT)."""
    limit = timeout or MPREMOTE_TIMEOUT
    try:
        return subprocess.run(
            argv,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
            timeout=limit if capture else None,
        )
    except subprocess.TimeoutExpired:
        raise DeployError(
            "The board on '%s' stopped answering mpremote for %d s: press its reset button and try "
            "again." % (argv[4] if len(argv) > 4 else "?", limit)
        )
    except OSError as exc:
        raise DeployError("Cannot run mpremote: %s; run `make setup`." % exc.strerror)


def mpremote_failure(port: str, output: str) -> DeployError:
    last = (output.strip().splitlines() or ["no output"])[-1]
    if "failed to access" in output or "could not enter raw repl" in output.lower():
        return DeployError(
            "mpremote cannot talk to the board on '%s' (%s): close other programs using the port "
            "(a serial monitor, Thonny) and press the board's reset button." % (port, last)
        )
    return DeployError("mpremote failed on '%s': %s." % (port, last.rstrip(".")))


def lib_path(target: str) -> str:
    """Board path of a kit module copied as .mpy: 'microdot/pubsub.py' -> 'lib/microdot/pubsub.mpy'."""
    return "%s/%s.mpy" % (LIB, target[:-3])


def check_loadable(fw: Firmware, emitted: Tuple[int, int], missing: Sequence[str], device: str) -> None:
    """Stop with one line when the board cannot load what mpy-cross writes."""
    if fw.mpy_version == emitted:
        return
    have = "no .mpy support" if fw.mpy is None else ".mpy v%d.%d" % fw.mpy_version
    raise DeployError(
        "The board on %s runs MicroPython %s (%s) and lacks %s, but mpy-cross writes .mpy v%d.%d: "
        "flash the kit's firmware (make BOARD=... firmware flash) or MicroPython 1.23 or newer."
        % (device, fw.version, have, ", ".join(missing), emitted[0], emitted[1])
    )


def compile_missing(missing: Sequence[Tuple[Path, str]], fw: Firmware, dest: Path) -> Dict[str, Path]:
    """Compile the missing kit modules for the board's architecture: {board path: local .mpy}."""
    from tools.manifest import check

    try:
        mpy_cross = check.find_mpy_cross()
    except check.CheckError as exc:
        raise DeployError(str(exc))
    args = ["-march=%s" % fw.arch] if fw.arch else []
    out: Dict[str, Path] = {}
    for source, target in missing:
        local = dest / (target[:-3] + ".mpy")
        local.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(check.mpy_cross_argv(mpy_cross, source, local, target, args),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            raise DeployError("mpy-cross cannot compile '%s' for the board: %s"
                              % (source, check.one_line(proc.stdout.decode("utf-8", "replace"))))
        out[lib_path(target)] = local
    return out


def compile_app(modules: Dict[str, Path], fw: Firmware, dest: Path) -> Dict[str, Path]:
    """The app's modules (other than main.py) compiled for the board: {board path: local .mpy}."""
    try:
        return R.compile_modules([(p, n, R.mpy_name(n)) for n, p in sorted(modules.items())], mpy_args(fw), dest)
    except R.RomfsError as exc:
        raise DeployError(str(exc))


def mpy_args(fw: Firmware) -> List[str]:
    return ["-march=%s" % fw.arch] if fw.arch else []


def shadows(paths: Iterable[str]) -> List[str]:
    """Board paths that would be imported instead of the .mpy files ``paths`` (a .py of the
    same module; for a ROMFS image also the .mpy itself on the filesystem)."""
    out = set()
    for p in paths:
        if p.endswith(".mpy"):
            out.add(p[:-4] + ".py")
    return sorted(out)


def romfs_deploy_argv(port: str, image: Path) -> List[str]:
    """mpremote's own ROMFS writer: it erases and writes the board's ROMFS partition 0."""
    return mpremote_base(port) + ["romfs", "deploy", str(image)]


def emitted_version() -> Tuple[int, int]:
    from tools.manifest import check

    try:
        return check.emitted_mpy_version(check.find_mpy_cross())
    except check.CheckError as exc:
        raise DeployError(str(exc))


def deploy(app: str, port: Optional[str] = None, reset: bool = True, follow: float = 3.0,
           romfs: bool = False, board: Optional[str] = None, ota: bool = False) -> Tuple[List[str], int]:
    """Copy the changed files of ``app`` and the kit modules its board lacks (``romfs``: the
    modules as one ROMFS image, checked against the ROMFS area of the kit's build of ``board``
    (``ota``: its OTA=1 build) when given); return (files copied, files unchanged)."""
    folder = Path(app)
    if not folder.is_dir():
        raise DeployError(
            "App folder '%s' not found: pass APP=examples/hello or your own folder with a main.py." % app
        )
    files = app_files(folder)
    if not files:
        raise DeployError("App folder '%s' has no files to copy; add a main.py." % app)
    if "main.py" not in files:
        print("warning: '%s' has no main.py; nothing will start after the reset." % app, file=sys.stderr)
    try:
        needs = appdeps.needs(folder)
        index = appdeps.module_index()
    except (appdeps.AppDepsError, boards.BoardError) as exc:
        raise DeployError(str(exc))
    candidates = sorted({appdeps.module_name(t) for _, t in appdeps.fragment_files(needs.fragments)})
    device = resolve_port(port)
    proc = run_mpremote(mpremote_base(device) + ["exec", firmware_script(candidates)], capture=True)
    output = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise mpremote_failure(device, output)
    fw = parse_firmware(output)
    kit = sorted({index[n].fragment for n in fw.has if n in index}, key=lambda f: (f != boards.CORE, f))
    if needs.fragments:
        print("Board on %s: MicroPython %s; of the kit parts %s needs, its firmware holds: %s." % (
            device, fw.version, app, ", ".join(kit) or "none (stock MicroPython)"))
    missing = appdeps.missing_files(needs, fw.has)
    modules, rest = R.split_app(files)
    sources: Dict[str, Path] = {}
    image: Optional[Path] = None
    gone: List[str] = []  # board paths that would shadow the compiled modules
    with tempfile.TemporaryDirectory(prefix="kit-deploy-") as tmp:
        lacking = sorted({appdeps.module_name(t) for _, t in missing})
        if missing or romfs:
            check_loadable(fw, emitted_version(), lacking or ["its app modules as .mpy"], device)
        elif modules and fw.mpy_version != emitted_version():
            modules = {}  # a board that cannot load this .mpy version gets the app's sources
            rest = files
        if missing:
            added = [f for f in needs.fragments if any(index[n].fragment == f for n in lacking)]
            print("%s needs %s, which the firmware lacks: %s %d module(s) %s as .mpy (%s)." % (
                app, ", ".join(added), "putting" if romfs else "copying", len(missing),
                "into the ROMFS image" if romfs else "to /" + LIB, "-march=%s" % fw.arch if fw.arch else "bytecode"))
        if romfs:
            try:
                tree = R.compile_modules(R.plan(modules, missing), mpy_args(fw), Path(tmp) / "rom")
                data = R.pack(tree)
                if board:
                    R.check_area(len(data), board, ota)
            except R.RomfsError as exc:
                raise DeployError(str(exc))
            image = Path(tmp) / "app.romfs"
            image.write_bytes(data)
            print("ROMFS image: %d bytes, %s." % (len(data), ", ".join("/rom/" + n for n in sorted(tree))))
            files = rest
            gone = sorted(set(tree) | set(shadows(tree)))
        else:
            if missing:
                sources = compile_missing(missing, fw, Path(tmp))
            compiled = compile_app(modules, fw, Path(tmp) / "app")
            sources.update(compiled)
            files = rest
            gone = shadows(compiled)
        local = local_hashes(files)
        local.update(local_hashes(sources))
        every = sorted(local)
        asked = sorted(set(every) | set(gone))
        proc = run_mpremote(mpremote_base(device) + ["exec", hash_script(asked, remote_dirs(every))],
                            capture=True)
        output = proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise mpremote_failure(device, output)
        remote_files, remote_present = parse_hashes(output)
        make, changed = plan_copy(local, remote_files, remote_present)
        remove = [n for n in gone if remote_files.get(n) is not None and n not in local]
        # kit modules first: the app must never start without them
        changed.sort(key=lambda n: (n not in sources, n))
        unchanged = len(local) - len(changed)
        if image is not None:
            print("Writing the ROMFS image to the board's ROMFS area (mpremote romfs deploy).")
            proc = run_mpremote(romfs_deploy_argv(device, image), capture=True)
            output = proc.stdout.decode("utf-8", "replace")
            if proc.returncode != 0 or "ROMFS image deployed" not in output:
                last = (output.strip().splitlines() or ["no output"])[-1]
                raise DeployError("mpremote could not write the ROMFS image on '%s' (%s): flash a kit firmware "
                                  "with a ROMFS area (docs/romfs.md), or deploy without ROMFS=1." % (device, last.rstrip(".")))
        if changed or remove:
            for name in remove:
                print("  removed :%s (the %s holds it)" % (name, "ROMFS image" if image is not None else ".mpy"))
            for name in changed:
                shown = sources[name].name if name in sources else files[name].as_posix()
                print("  %s -> :%s" % (shown, name))
            proc = run_mpremote(copy_argv(device, folder, make, changed, sources, remove), capture=True)
            output = proc.stdout.decode("utf-8", "replace")
            if proc.returncode != 0:
                raise mpremote_failure(device, output)
            print("Copied %d file(s) to %s (%d unchanged)." % (len(changed), device, unchanged))
        else:
            print("%s: all %d files are up to date on %s." % (app, len(local), device))
    if reset:
        print("Soft reset; the board starts main.py:")
        soft_reset(device, follow)
    return changed, unchanged


def put_cert(folder, port: Optional[str] = None) -> str:
    """Copy a `make cert` folder's cert.der and key.der to the board's /cert.der and /key.der
    over USB (the key never crosses a network); the kit then serves HTTPS. Returns the pin."""
    from tools.device import cert  # the one home of the certificate files and their names

    folder = Path(folder)
    try:
        cert.files(folder)
        pin = cert.read_pin(folder)
    except cert.CertError as exc:
        raise DeployError(str(exc))
    device = resolve_port(port)
    argv = mpremote_base(device) + ["fs", "cp", str(folder / cert.CERT), ":" + cert.BOARD_CERT, "+",
                                    "fs", "cp", str(folder / cert.KEY), ":" + cert.BOARD_KEY]
    proc = run_mpremote(argv, capture=True)
    if proc.returncode != 0:
        raise mpremote_failure(device, proc.stdout.decode("utf-8", "replace"))
    print("Copied %s's certificate and key to :/%s and :/%s on %s (pin %s): the kit serves HTTPS; "
          "pass CERT=%s to make ota / make logs / make test-hw." % (folder, cert.BOARD_CERT, cert.BOARD_KEY,
                                                                   device, pin, folder))
    return pin


def monitor_argv(port: str) -> List[str]:
    return mpremote_base(port) + ["repl"]


def exec_argv(port: str, code: str) -> List[str]:
    """mpremote argv that runs ``code`` on the board's raw REPL without a soft reset first
    (``resume``): a running program is interrupted, nothing else is cleared."""
    return mpremote_base(port) + ["resume", "exec", code]


def reset_argv(port: str) -> List[str]:
    """mpremote argv for a hard reset: boot.py joins the network, main.py starts the app."""
    return mpremote_base(port) + ["reset"]


def exec_code(port: str, code: str, timeout: Optional[float] = None) -> str:
    """Run ``code`` on the board on ``port``; what it printed, or DeployError with its last line."""
    proc = run_mpremote(exec_argv(port, code), capture=True, timeout=timeout)
    output = proc.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
    if proc.returncode != 0:
        raise mpremote_failure(port, output)
    return output


def hard_reset(port: str) -> None:
    proc = run_mpremote(reset_argv(port), capture=True)
    if proc.returncode != 0:
        raise mpremote_failure(port, proc.stdout.decode("utf-8", "replace"))


def monitor(port: Optional[str] = None) -> int:
    device = resolve_port(port)
    print("Serial REPL on %s (Ctrl-] or Ctrl-x to leave)." % device)
    return run_mpremote(monitor_argv(device)).returncode


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.device.deploy", description=__doc__.split("\n")[0])
    parser.add_argument("--app", default="examples/hello", help="app folder (default examples/hello)")
    parser.add_argument("--port", default=None, help="serial port (default: the one board found)")
    parser.add_argument("--no-reset", action="store_true", help="do not soft-reset after copying")
    parser.add_argument("--follow", type=float, default=3.0, help="seconds of board output to show after the reset")
    parser.add_argument("--monitor", action="store_true", help="open the board's REPL instead")
    parser.add_argument("--romfs", action="store_true", help="the app's modules and the kit modules it needs "
                        "as one ROMFS image in the board's ROMFS area (ROMFS=1)")
    parser.add_argument("--board", default=None, help="the kit board the firmware was built for: ROMFS=1 "
                        "checks the image against its ROMFS area (BOARD=)")
    parser.add_argument("--ota", action="store_true", help="with --board: the firmware is its OTA=1 build (OTA=1)")
    parser.add_argument("--cert", default=None, help="a `make cert` folder: its certificate and key go on "
                        "the board too (CERT=; the kit then serves HTTPS)")
    args = parser.parse_args(argv)
    try:
        if args.monitor:
            return monitor(args.port)
        if args.cert:
            put_cert(args.cert, args.port)
        deploy(args.app, args.port, reset=not args.no_reset, follow=args.follow, romfs=args.romfs,
               board=args.board, ota=args.ota)
    except DeployError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
