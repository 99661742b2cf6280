"""Serve an app on the target a board runs on (``make run``): ``python -m tools.targets --board X --app Y``.

The target comes from :func:`tools.targets.select.open_target`: the virtual board (the unix port
with BOARD's modules; UNIX when no board is named), or the emulated ESP32-C3 under QEMU
(BOARD=ESP32_C3_QEMU). It prints the URL to open and serves until Ctrl-C (or ``kill``), which
stops the board and removes what it staged.

With ``--ota-token`` (``make run OTA_TOKEN=...``) the board runs the kit's start-up as a board
does (the virtual board: boot.py, the start counter and safe mode, the app watched and rolled back,
restarts in place after ``machine.reset()``, a watchdog), on a stored network holding the token:
``make ota DEVICE=<its url> OTA_TOKEN=... APP=...`` and ``make logs ...`` work against it. APP
is then the first app on the board; without APP the board waits for `make ota` to send one.
``--https FOLDER`` (``make run OTA_TOKEN=... HTTPS=1 [CERT=certs/<name>]``) puts that `make cert`
folder's certificate and key on the virtual board, which then serves HTTPS (a folder without one
gets one made); pin it with ``CERT=`` in make ota / make logs.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from tools import host
from tools.targets.base import Target, TargetError
from tools.targets.qemu_esp32 import DEFAULT_HTTP_PORT, EmulatedBoard
from tools.targets.select import open_target, target_class
from tools.targets.virtual import DEFAULT_APP, DEFAULT_HEAP, VirtualBoard


def _say(msg: str) -> None:
    print("== " + msg, flush=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.targets", description=__doc__.split("\n\n")[0])
    p.add_argument("--board", default=None, help="the board (default UNIX: the virtual board with its own modules)")
    p.add_argument("--app", default=None, help="folder with the app's main.py (default examples/hello; "
                   "with --ota-token: none, the board waits for `make ota`)")
    p.add_argument("--ota-token", default=None, help="serve the OTA routes with this token (make ota, make logs)")
    p.add_argument("--https", default=None, metavar="FOLDER",
                   help="with --ota-token, on the virtual board: serve HTTPS with this make cert folder's "
                   "certificate (made there when missing)")
    virtual = p.add_argument_group("the virtual board")
    virtual.add_argument("--micropython", help="micropython binary (default: the one from the venv)")
    virtual.add_argument("--port", type=int, help="TCP port (default 5000 in a namespace, else a free one)")
    virtual.add_argument("--netns", choices=("auto", "on", "off"), default="auto",
                         help="own network namespace: auto (if allowed), on, off")
    virtual.add_argument("--extensions", help='extensions instead of the board\'s defaults ("websocket sse")')
    virtual.add_argument("--heap", default=DEFAULT_HEAP, help="MicroPython heap size (default %s)" % DEFAULT_HEAP)
    virtual.add_argument("--firmware", choices=("kit", "stock"), default="kit",
                         help="kit: BOARD's default kit firmware; stock: MicroPython without the kit "
                         "(either way the app gets what `make deploy` would copy)")
    emulated = p.add_argument_group("the emulated board (QEMU)")
    emulated.add_argument("--http-port", type=int, default=int(os.environ.get("HTTP_PORT") or 0) or None,
                          help="host port forwarded to the board's port 5000 (env HTTP_PORT; default %d)"
                          % DEFAULT_HTTP_PORT)
    emulated.add_argument("--serial", default=os.environ.get("SERIAL") or "pty",
                          help="console: pty (default), tcp (a free port) or tcp:PORT (env SERIAL)")
    emulated.add_argument("--qemu", default=None, help="qemu-system-riscv32 binary (default: PATH; env QEMU)")
    emulated.add_argument("--follow", action="store_true", default=bool(os.environ.get("FOLLOW")),
                          help="echo the board's console (env FOLLOW=1; it is then busy for mpremote)")
    return p


def options(cls, args) -> dict:
    """The implementation's own options from the command line."""
    if cls is VirtualBoard:
        return dict(micropython=args.micropython, port=args.port, netns=args.netns, extensions=args.extensions,
                    heap=args.heap, output=sys.stdout, firmware=args.firmware, ota_token=args.ota_token,
                    https=args.https)
    if cls is EmulatedBoard:
        return dict(http_port=args.http_port or DEFAULT_HTTP_PORT, serial=args.serial, qemu=args.qemu,
                    ota_token=args.ota_token)
    return {}


def _ota_notes(target: VirtualBoard) -> None:
    """How to reach the OTA routes of a virtual board started with a token."""
    from tools.device import ota  # above the targets: only to read the app's code

    main = target.app / "main.py" if target.app is not None else None
    if main is None:
        _say("no app on the board yet: it waits for `make ota DEVICE=%s OTA_TOKEN=... APP=...`" % target.url)
    else:
        _say("update it with `make ota DEVICE=%s OTA_TOKEN=... APP=...`" % target.url)
        if not ota.installs_ota(main.read_text(errors="replace")):
            _say("note: %s never calls kitota.install(app): the OTA routes go once it runs (make ota "
                 "then needs a restart of make run)" % main)
    pin = " CERT=%s" % target.https if target.https else ""
    _say("read its crash log and the last update's verdict with `make logs DEVICE=%s OTA_TOKEN=...%s`"
         % (target.url, pin))
    if pin:
        _say("it serves HTTPS with %s's certificate: pass%s to make ota and make logs (they refuse any other)"
             % (target.https, pin))


def _https_folder(folder: Path) -> None:
    """A make cert folder for --https; one is made when it holds no certificate yet."""
    from tools.device import cert  # above the targets: only the certificate's files

    if (folder / cert.CERT).is_file():
        return
    try:
        pin = cert.make(folder)
    except cert.CertError as exc:
        raise TargetError(str(exc))
    _say("made a certificate for the board in %s (pin %s; `make cert CERT=%s` does the same)" % (folder, pin, folder))


def serve(target: Target, app: Optional[Path], follow: bool = False) -> int:
    """Start the target with the app, print where it answers, hold until it stops or Ctrl-C."""
    app = app if app is not None else "no app yet"
    facts = target.facts()
    _say("%s: %s" % (facts.describe(), app))
    target.start()
    facts = target.facts()
    if target.kind == "virtual":
        frozen = facts.notes[:1] == ["frozen framework"]
        _say("MicroPython %s (the unix port%s; board firmware is built from MicroPython %s)" % (
            facts.micropython, "" if frozen else " from the PyPI wheel", host.MICROPYTHON_TAG))
        _say("serving %s on %s (%s) - press Ctrl-C to stop" % (app, target.url, ", ".join(facts.notes)))
        own = any(n.startswith("own network namespace") for n in facts.notes)
        _say("open %s/ in a browser%s" % (target.url, "; it is in its own network namespace: NETNS=0 serves "
                                                       "on 127.0.0.1" if own else ""))
        if isinstance(target, VirtualBoard) and target.ota_token:
            _ota_notes(target)
    else:
        _say("serving %s at %s/ (Ctrl-C stops the board)" % (app, target.url))
        if os.environ.get("OTA_TOKEN"):
            _say("an app with kitota.install(app) updates with `make ota DEVICE=%s OTA_TOKEN=... APP=...` "
                 "(FIRMWARE=1 BOARD=%s: the firmware of an OTA=1 build)" % (target.url, facts.board))
        if follow and isinstance(target, EmulatedBoard):
            _say("echoing the console %s (FOLLOW=1)" % target.console.device)
            target.follow()
        device = target.console.device
        if isinstance(target, EmulatedBoard) and device and device.startswith("/dev/"):
            link = target.workdir / "console"
            device = str(link.relative_to(Path.cwd())) if link.is_relative_to(Path.cwd()) else str(link)
        if device:
            _say("console free for `make deploy PORT=%s`, `make wifi ... PORT=...`, `make monitor PORT=...`"
                 % device)
    while True:
        target.alive()  # raises once the board (or its app) stopped
        time.sleep(0.2)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)

    def _term(signum, frame):  # `kill` stops the board too, as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    # A shell starts background jobs with SIGINT ignored, and Python then installs no handler:
    # Ctrl-C / kill -INT must stop the board however the CLI was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    target = None
    try:
        cls = target_class(args.board)
        if args.https:
            _https_folder(Path(args.https))
        if cls is VirtualBoard and args.ota_token and not args.app:
            app = None  # an empty board: it waits for its first app
            target = VirtualBoard(args.board or "UNIX", app=None, **options(cls, args))
        else:
            app = Path(args.app) if args.app else DEFAULT_APP
            target = open_target(args.board, app=app, **options(cls, args))
        return serve(target, app, args.follow)
    except KeyboardInterrupt:
        print("\n== stopped", flush=True)
        return 0
    except TargetError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if target is not None:
            target.stop()


if __name__ == "__main__":
    sys.exit(main())
