"""The bare-metal board: a MicroPython image under qemu-system-arm, scripts run on its REPL.

``BareMetalBoard`` is the :class:`tools.targets.base.Target` for a ``qemu`` port board
(QEMU_MPS2_AN385: Cortex-M3, everything frozen, no filesystem and no network, so its ``url``
is None); ``console.run(code)`` runs code after a soft reset.

``python -m tools.targets.qemu_arm script.py`` boots ``firmware/QEMU_MPS2_AN385/firmware.elf`` (built with
``make BOARD=QEMU_MPS2_AN385 firmware NATIVE=1 MICROPY_DIR=...``), runs the script through the
raw REPL over qemu's serial pty and prints what it printed. ``-c CODE`` runs a line instead.
qemu is stopped afterwards whatever happened.

The serial link is mpremote's ``SerialTransport`` (mpremote is a kit dependency from PyPI), so
no MicroPython checkout is needed at run time. Each script starts after a soft reset, so
one script's heap never leaks into the next one's figures.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List, Optional, Sequence

from tools.selection import boards as B
from tools.targets.base import Facts, Target, TargetError
from tools.targets.process import read_build_info

ROOT = B.ROOT
DEFAULT_BOARD = "QEMU_MPS2_AN385"
QEMU = "qemu-system-arm"
PTY_LINE = re.compile(rb"char device redirected to (/dev/pts/\d+)")


class QemuError(TargetError):
    """qemu or the board's REPL failed, as one sentence saying what to do."""


def machine_name(board: B.Board) -> str:
    """qemu's -machine for an upstream qemu-port board: MPS2_AN385 -> mps2-an385 (its QEMU_MACHINE)."""
    return str(board.board).lower().replace("_", "-")


def qemu_argv(kernel: Path, machine: str = "mps2-an385", qemu: str = QEMU) -> List[str]:
    """The qemu command line: no display, no monitor, semihosting on, the UART on a fresh pty."""
    return [qemu, "-machine", machine, "-nographic", "-monitor", "null", "-semihosting",
            "-serial", "pty", "-kernel", str(kernel)]


def firmware_path(board: B.Board, root: Path = ROOT) -> Path:
    return Path(root) / "firmware" / board.name / board.firmware


def qemu_board(name: str, root: Path = ROOT) -> B.Board:
    """The board, which must be a qemu port board."""
    try:
        board = B.load_board(name, root)
    except B.BoardError as exc:
        raise QemuError(str(exc))
    if board.port != "qemu":
        raise QemuError("BOARD=%s is not a qemu board: use one of %s." % (
            board.name, ", ".join(b.name for b in B.load_boards(root) if b.port == "qemu")))
    return board


class BareMetalBoard(Target):
    """One running qemu with the board's REPL on a pty; use as a context manager.

    ``firmware`` overrides the image (default firmware/<BOARD>/firmware.elf), e.g. a bench image.
    """

    kind = "qemu-arm"
    error = QemuError

    def __init__(self, board: str = DEFAULT_BOARD, firmware: Optional[Path] = None, qemu: str = QEMU,
                 boot_timeout: float = 20.0, root: Path = ROOT):
        self.board = qemu_board(board, root)
        self.kernel = Path(firmware) if firmware else firmware_path(self.board, root)
        self.machine = machine_name(self.board)
        self.qemu = qemu
        self.boot_timeout = boot_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.transport = None
        self.output: List[bytes] = []  # what qemu itself printed (not the board's serial)
        self.transcript = ""  # what the board printed on its serial console, run after run
        self._version: Optional[str] = None

    @property
    def url(self) -> Optional[str]:
        return None  # no network on this board

    def start(self) -> "BareMetalBoard":
        if not self.kernel.is_file():
            raise QemuError(
                "No firmware at '%s': build it with `make BOARD=%s firmware NATIVE=1 "
                "MICROPY_DIR=/path/to/micropython`." % (self.kernel, self.board.name))
        if shutil.which(self.qemu) is None:
            raise QemuError("`%s` is not on PATH: install it (Debian: apt-get install qemu-system-arm)." % self.qemu)
        try:
            from mpremote.transport_serial import SerialTransport
        except ImportError:
            raise QemuError("mpremote is not installed: run `make setup`.")
        self.proc = subprocess.Popen(qemu_argv(self.kernel, self.machine, self.qemu),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        found = []
        ready = threading.Event()

        def drain():
            for line in iter(self.proc.stdout.readline, b""):
                self.output.append(line)
                m = PTY_LINE.search(line)
                if m and not found:
                    found.append(m.group(1).decode())
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        try:
            ready.wait(self.boot_timeout)
            if not found:
                raise QemuError("qemu did not open its serial pty (it said: %s); check that '%s' "
                                "is a %s image." % (self.said() or "nothing", self.kernel, self.machine))
            try:
                self.transport = SerialTransport(found[0], timeout=1)
            except Exception as exc:  # mpremote raises its own TransportError or OSError
                raise QemuError("Cannot open qemu's serial pty %s: %s." % (found[0], exc))
            self.console_device = found[0]
        except BaseException:
            self.stop()
            raise
        return self

    def said(self) -> str:
        return b" ".join(line.strip() for line in self.output).decode("utf-8", "replace")[-300:]

    def run(self, script: str, timeout: float = 60.0) -> str:
        """Run ``script`` after a soft reset; return its output. Raises QemuError on an exception."""
        if self.transport is None:
            raise QemuError("qemu is not running: call start() first.")
        t = self.transport
        try:
            t.enter_raw_repl(soft_reset=True, timeout_overall=self.boot_timeout)
            out, err = t.exec_raw(script, timeout=timeout)
            t.exit_raw_repl()
        except Exception as exc:
            if self.proc is not None and self.proc.poll() is not None:
                raise QemuError("qemu exited (code %s) while running the script: %s"
                                % (self.proc.returncode, self.said() or "no output"))
            raise QemuError("The board's REPL did not answer (%s): rebuild the firmware and try again." % exc)
        text = out.decode("utf-8", "replace").replace("\r\n", "\n")
        self.transcript = (self.transcript + text + err.decode("utf-8", "replace"))[-20000:]
        if err:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            raise QemuError("The script failed on the board: %s (output so far: %r)"
                            % (lines[-1] if lines else "error", text[-200:]))
        return text

    # -- the Target interface beyond start/stop ---------------------------------------------

    def alive(self) -> None:
        if self.proc is None:
            raise QemuError("qemu is not running: call start() first.")
        if self.proc.poll() is not None:
            raise QemuError("qemu exited (code %s): %s" % (self.proc.returncode, self.said() or "no output"))

    def console_text(self, lines: int = 30) -> str:
        return "\n".join(self.transcript.rstrip().splitlines()[-lines:])

    def console_run(self, code: str, timeout: float = 60.0) -> str:
        return self.run(code, timeout)

    def reset(self) -> None:
        """A soft reset (the heap starts empty again; this board has no app to restart)."""
        if self.transport is None:
            raise QemuError("qemu is not running: call start() first.")
        try:
            self.transport.enter_raw_repl(soft_reset=True, timeout_overall=self.boot_timeout)
            self.transport.exit_raw_repl()
        except Exception as exc:
            raise QemuError("The board's REPL did not answer the reset (%s): rebuild the firmware and "
                            "try again." % exc)

    def facts(self) -> Facts:
        if self._version is None and self.transport is not None:
            self._version = self.run(VERSION_CODE).strip() or None
        info = read_build_info(self.kernel)
        exts = info.get("extensions") if info else None
        return Facts(kind=self.kind, board=self.board.name, port="qemu", micropython=self._version,
                     extensions=sorted(exts) if isinstance(exts, list) else None, build_info=info)

    def stop(self) -> None:
        if self.transport is not None:
            try:
                self.transport.close()
            except Exception:  # a dead pty; qemu is killed next anyway
                pass
            self.transport = None
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()
        self.console_device = None


#: Prints the MicroPython version of the image ('1.28.0').
VERSION_CODE = ("import sys;v=sys.implementation.version;"
                "print('.'.join(str(x) for x in v[:3])+('-'+v[3] if len(v)>3 and v[3] else ''))")


def run_scripts(scripts: Sequence[str], board_name: str = DEFAULT_BOARD,
                firmware: Optional[Path] = None, timeout: float = 60.0,
                root: Path = ROOT) -> List[str]:
    """Boot the board once and run each script after its own soft reset; return the outputs."""
    with BareMetalBoard(board_name, firmware, root=root) as q:
        return [q.run(s, timeout) for s in scripts]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.targets.qemu_arm", description=__doc__.split("\n")[0])
    parser.add_argument("scripts", nargs="*", help="MicroPython scripts to run, one after the other")
    parser.add_argument("-c", dest="code", action="append", default=[], help="run this code (repeatable)")
    parser.add_argument("--board", default=DEFAULT_BOARD, help="a qemu board under boards/")
    parser.add_argument("--firmware", default=None, help="the image (default: firmware/<BOARD>/firmware.elf)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds of silence before giving up")
    args = parser.parse_args(argv)
    texts = list(args.code)
    for name in args.scripts:
        try:
            texts.append(Path(name).read_text(encoding="utf-8"))
        except OSError as exc:
            print("error: cannot read '%s': %s." % (name, exc.strerror), file=sys.stderr)
            return 2
    if not texts:
        print("error: nothing to run: pass a script file or -c CODE.", file=sys.stderr)
        return 2
    try:
        t0 = time.time()
        for out in run_scripts(texts, args.board, args.firmware, args.timeout):
            sys.stdout.write(out)
        sys.stdout.flush()
        print("(ran %d script%s under qemu in %.1f s)" % (len(texts), "" if len(texts) == 1 else "s",
                                                         time.time() - t0), file=sys.stderr)
    except QemuError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted (qemu was stopped).", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
