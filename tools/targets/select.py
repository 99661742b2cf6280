"""Pick the target for a board: :func:`open_target` (``make run``, ``make test-hw``, the bench, the soak).

- ``device=`` (DEVICE=http://ip:port) or ``port=`` (PORT=/dev/ttyUSB0): a live board (live.py);
- an esp32 board with a ``qemu`` entry in board.json (ESP32_C3_QEMU): the emulated board (qemu_esp32.py);
- a ``qemu`` port board (QEMU_MPS2_AN385): the bare-metal board (qemu_arm.py);
- any other board, and no board at all (UNIX): the virtual board with that board's modules (virtual.py).
"""
from __future__ import annotations

from typing import Optional, Type

from tools.selection import boards as B
from tools.targets.base import Target, TargetError
from tools.targets.live import LiveBoard
from tools.targets.qemu_arm import BareMetalBoard
from tools.targets.qemu_esp32 import EmulatedBoard
from tools.targets.virtual import IMAGE_BOARD, VirtualBoard


def target_class(board: Optional[str] = None, device: Optional[str] = None,
                 port: Optional[str] = None) -> Type[Target]:
    """The Target implementation for these settings (no board: the virtual board, UNIX)."""
    if device or port:
        return LiveBoard
    try:
        b = B.load_board(board or IMAGE_BOARD)
    except B.BoardError as exc:
        raise TargetError(str(exc))
    if b.port == "esp32" and b.qemu:
        return EmulatedBoard
    if b.port == "qemu":
        return BareMetalBoard
    return VirtualBoard


def open_target(board: Optional[str] = None, device: Optional[str] = None, port: Optional[str] = None,
                app=None, **opts) -> Target:
    """A target, not started yet (``with open_target(...) as t:`` starts and stops it). ``opts``
    go to the implementation (e.g. micropython=, netns= for the virtual board; http_port=,
    serial=, qemu= for the emulated one; firmware= for the bare-metal one)."""
    cls = target_class(board, device, port)
    if cls is LiveBoard:
        return LiveBoard(board, device=device, port=port, app=app, **opts)
    name = board or IMAGE_BOARD
    if cls is BareMetalBoard:
        if app is not None:
            raise TargetError("BOARD=%s has no network or filesystem for an app: run scripts on it with "
                              "`python -m tools.targets.qemu_arm script.py`." % name)
        return BareMetalBoard(name, **opts)
    if app is not None:
        opts["app"] = app
    return cls(name, **opts)
