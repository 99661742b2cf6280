"""One interface for every board the kit runs apps on: :class:`Target`.

A target is started and stopped (also as a context manager), has a ``url`` where its app
answers (None when it has no network), a ``console`` (what it printed; a snippet run on its
REPL where it has one), ``reset()``, and ``facts()`` about its image (:class:`Facts`).

The implementations, each in its own module, and how :func:`tools.targets.select.open_target`
picks one:

===================  =========================================  ==================================
module               the board                                  picked for
===================  =========================================  ==================================
``virtual``          MicroPython's unix port with a board's     any board without a better target
                     modules (``VirtualBoard``)                  (UNIX by default)
``qemu_arm``         bare-metal Cortex-M3 under qemu-system-arm  a ``qemu`` port board
                     (``BareMetalBoard``; no network)            (QEMU_MPS2_AN385)
``qemu_esp32``       the esp32 port on an emulated ESP32-C3      an esp32 board with a ``qemu``
                     (``EmulatedBoard``; Ethernet)               entry in board.json
``live``             a real board on a serial port and/or at    DEVICE=http://... or PORT=...
                     an HTTP address (``LiveBoard``)
===================  =========================================  ==================================

Every implementation raises its own subclass of :class:`TargetError`; callers catch
TargetError. Shared host helpers (process groups, free ports, waiting for HTTP) are in
:mod:`tools.targets.process`, below this module.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import List, Optional

from tools.targets import process


class TargetError(Exception):
    """A target could not be started or driven, as one sentence saying what to do."""


@dataclass
class Facts:
    """What a target's image is."""

    kind: str                         # "virtual", "qemu-arm", "qemu-esp32", "live"
    board: str                        # the board the image is for (UNIX for the virtual board)
    port: str                         # MicroPython's port: unix, qemu, esp32, rp2 ("?" unknown)
    micropython: Optional[str] = None  # version, e.g. "1.28.0" (None: not asked / unknown)
    extensions: Optional[List[str]] = None  # the kit extensions it holds (None: unknown)
    build_info: Optional[dict] = None  # build-info.json of the image, where there is one
    modules_of: Optional[str] = None   # virtual board: the board whose modules it holds
    notes: List[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line: 'virtual board UNIX (unix port, MicroPython 1.29.0) with ESP32_GENERIC's modules'."""
        names = {"virtual": "virtual board", "qemu-arm": "bare-metal board under qemu-system-arm",
                 "qemu-esp32": "emulated board under QEMU", "live": "board"}
        about = (["%s port" % self.port] if self.port != "?" else []) + (
            ["MicroPython %s" % self.micropython] if self.micropython else [])
        text = "%s %s" % (names.get(self.kind, self.kind), self.board) + (" (%s)" % ", ".join(about) if about else "")
        if self.modules_of and self.modules_of != self.board:
            text += " with %s's modules" % self.modules_of
        return text


class Console:
    """A target's console: ``device`` (serial device or URL, None without one), ``read()`` what
    the board printed, ``run(code)`` a snippet on its REPL (TargetError where it has none)."""

    def __init__(self, target: "Target"):
        self._target = target

    @property
    def device(self) -> Optional[str]:
        return self._target.console_device

    def read(self, lines: int = 30) -> str:
        return self._target.console_text(lines)

    def run(self, code: str, timeout: float = 60.0) -> str:
        return self._target.console_run(code, timeout)


class Target(abc.ABC):
    """A board to run an app on. Subclasses implement every abstract member."""

    #: Facts.kind of this implementation.
    kind = "?"
    #: The TargetError subclass this implementation raises.
    error = TargetError
    #: Serial device (or socket:// URL) of the board's REPL, None without one.
    console_device: Optional[str] = None

    @abc.abstractmethod
    def start(self) -> "Target":
        """Bring the board up (and its app, where it was given one); returns self. Stops
        whatever it started when it fails."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop what start() started; safe to call twice."""

    @property
    @abc.abstractmethod
    def url(self) -> Optional[str]:
        """http://host:port where the board's app answers, None when it has no network."""

    @abc.abstractmethod
    def console_text(self, lines: int = 30) -> str:
        """The last ``lines`` lines the board printed (as far as this target can see them)."""

    @abc.abstractmethod
    def console_run(self, code: str, timeout: float = 60.0) -> str:
        """Run ``code`` on the board's REPL and return what it printed."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Reset the board; its app (if any) starts again and answers before this returns."""

    @abc.abstractmethod
    def facts(self) -> Facts:
        """What the image is: board, port, MicroPython version, extensions, build-info."""

    @property
    def console(self) -> Console:
        return Console(self)

    def alive(self) -> None:
        """Raise the target's error when it died (a process that exited); nothing by default."""

    def wait_http(self, path: str = "/", timeout: float = 60) -> None:
        """Wait until the app answers HTTP at ``url + path`` (any status counts)."""
        if self.url is None:
            raise self.error("This %s has no network: run code on its console instead." % self.kind)
        last = process.wait_http(self.url + path, timeout, self.alive)
        if last is not None:
            raise self.error("The app did not answer at %s within %d s (%s); watch the board's console "
                             "(make monitor PORT=...)." % (self.url + path, timeout, last))

    def __enter__(self) -> "Target":
        return self.start()

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False
