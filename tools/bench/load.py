"""Capacity under load: many clients trying to hold a WebSocket at once while plain GETs ask
for the page, with real sockets against a running board (issue #23).

``run_load(host, port)`` starts ``clients`` threads at the same moment; each opens a TCP
connection, sends a WebSocket handshake to ``ws_path`` and sorts what comes back:

- held: ``101 Switching Protocols`` and a text frame echoed back (the socket is then held open
  until the GETs are done, as a chat client would);
- refused: an HTTP answer other than 101 (``503`` with ``Retry-After`` is the clean one);
- reset: the connection was reset or closed before any answer;
- timeout: no answer within ``timeout`` seconds (default 120: a client the board has no TCP
  connection for is not answered at all - lwIP drops its SYN - and its TCP tries again, for
  about two minutes on Linux; under QEMU's user-mode network, whose retries back off further,
  the last of 64 clients got its 503 after 67 s).

Meanwhile ``gets`` plain ``GET get_path`` requests run one after another; a GET counts as
answered when it gets ``200``. After the held sockets are closed, one more GET says whether
the board is still up. Whether it rebooted is the caller's to tell (the console of the target).

``python -m tools.bench.load --url http://127.0.0.1:5000`` runs it against any board that
serves ``examples/websocket`` (an echo at ``/echo``); ``--board ESP32_C3_QEMU`` (or UNIX, the
virtual board) starts one with it first (``on_board``), as ``make bench``'s C3 section and
tests/tools/test_esp32_qemu_load.py do.
"""
from __future__ import annotations

import argparse
import base64
import os
import socket
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence
from urllib.parse import urlsplit


class LoadError(Exception):
    """The load could not be run, as one sentence saying what to do."""


@dataclass
class LoadResult:
    clients: int
    held: int = 0
    refused: int = 0          # an HTTP answer other than 101
    refused_503: int = 0      # of those: 503 with Retry-After
    resets: int = 0           # reset or closed before an answer
    timeouts: int = 0
    gets: int = 0
    gets_ok: int = 0
    up_after: bool = False
    seconds: float = 0.0
    slowest: float = 0.0      # seconds from the start to the last answer (held or refused)
    statuses: Dict[str, int] = field(default_factory=dict)
    errors: List[str] = field(default_factory=list)  # a few examples of resets and timeouts

    @property
    def get_rate(self) -> float:
        return self.gets_ok / self.gets if self.gets else 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["get_rate"] = round(self.get_rate, 3)
        return out

    def line(self) -> str:
        return ("%d clients: %d held, %d refused (%d x 503 + Retry-After), %d reset, %d timed out; "
                "GET %d/%d (%.0f%%); up after: %s; last answer after %.1f s" % (
                    self.clients, self.held, self.refused, self.refused_503, self.resets, self.timeouts,
                    self.gets_ok, self.gets, 100 * self.get_rate, "yes" if self.up_after else "NO",
                    self.slowest))


def _read_head(sock: socket.socket, limit: int = 4096) -> bytes:
    """The response head (up to the blank line); what came before EOF if it closed early."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def _frame(text: bytes) -> bytes:
    """A masked client text frame (short payloads only)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(text))
    return struct.pack("!BB", 0x81, 0x80 | len(text)) + mask + body


def _echoed(sock: socket.socket, rest: bytes, text: bytes) -> bool:
    """Send a text frame; True when the same text comes back (``rest``: bytes after the head)."""
    sock.sendall(_frame(text))
    data = rest
    while len(data) < 2 + len(text):
        chunk = sock.recv(1024)
        if not chunk:
            return False
        data += chunk
    return data[0] == 0x81 and data[1] == len(text) and data[2:2 + len(text)] == text


def _status(head: bytes) -> Optional[int]:
    parts = head.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def _ws_client(host: str, port: int, path: str, timeout: float, start: threading.Event,
               release: threading.Event, res: LoadResult, lock: threading.Lock, n: int,
               delay: float = 0.0) -> None:
    start.wait()
    if delay:
        time.sleep(delay)
    t0 = time.monotonic()
    kind, detail, sock = "timeout", "", None
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, key)).encode())
        data = _read_head(sock)
        head, _, rest = data.partition(b"\r\n\r\n")
        status = _status(head)
        if status is None:
            kind, detail = "reset", "closed before an answer (%d bytes)" % len(data)
        elif status == 101:
            if _echoed(sock, rest, b"hold %d" % n):
                kind = "held"
            else:
                kind, detail = "reset", "101 but no echo"
        else:
            kind = "refused"
            detail = str(status)
            if status == 503 and b"\r\nretry-after:" in head.lower():
                detail = "503+"
    except socket.timeout:
        kind, detail = "timeout", "no answer within %.0f s" % timeout
    except OSError as exc:
        kind, detail = "reset", "%s" % (exc.strerror or exc)
    with lock:
        if kind in ("held", "refused"):
            res.slowest = max(res.slowest, time.monotonic() - t0)
        if kind == "held":
            res.held += 1
        elif kind == "refused":
            res.refused += 1
            res.refused_503 += detail == "503+"
            status = detail.rstrip("+")
            res.statuses[status] = res.statuses.get(status, 0) + 1
        elif kind == "reset":
            res.resets += 1
        else:
            res.timeouts += 1
        if kind in ("reset", "timeout") and len(res.errors) < 5:
            res.errors.append("client %d: %s after %.1f s" % (n, detail, time.monotonic() - t0))
    if sock is not None:
        if kind == "held":
            release.wait()
        sock.close()


def get_once(host: str, port: int, path: str = "/", timeout: float = 10.0) -> Optional[int]:
    """The status of one ``GET path`` on its own connection (None: no answer)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return _status(data)
    except OSError:
        return None


def run_load(host: str, port: int, clients: int = 64, ws_path: str = "/echo", get_path: str = "/",
             gets: int = 48, get_interval: float = 0.25, get_timeout: float = 10.0,
             timeout: float = 120.0, spread: float = 0.0, log=print) -> LoadResult:
    """``clients`` WebSocket handshakes at once (``spread``: their starts spread evenly over
    that many seconds) plus ``gets`` GETs while they are held."""
    if clients < 1 or gets < 0:
        raise LoadError("clients must be at least 1 and gets not negative.")
    if get_once(host, port, get_path, get_timeout) != 200:
        raise LoadError("GET %s on %s:%d does not answer 200 before the load; start the board with "
                        "APP=examples/websocket first." % (get_path, host, port))
    res = LoadResult(clients=clients)
    start, release, lock = threading.Event(), threading.Event(), threading.Lock()
    threads = [threading.Thread(target=_ws_client, daemon=True, args=(
        host, port, ws_path, timeout, start, release, res, lock, i, spread * i / clients)) for i in range(clients)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    start.set()
    try:
        for _ in range(gets):
            res.gets += 1
            if get_once(host, port, get_path, get_timeout) == 200:
                res.gets_ok += 1
            time.sleep(get_interval)
        deadline = t0 + timeout + 5
        while time.monotonic() < deadline:
            with lock:
                if res.held + res.refused + res.resets + res.timeouts >= clients:
                    break
            time.sleep(0.1)
    finally:
        release.set()
        for t in threads:
            t.join(5)
    res.seconds = time.monotonic() - t0
    time.sleep(0.5)  # the board notices the held sockets closing
    for _ in range(10):
        if get_once(host, port, get_path, get_timeout) == 200:
            res.up_after = True
            break
        time.sleep(1)
    log("  load: " + res.line())
    for line in res.errors:
        log("    " + line)
    return res


#: The boards whose `make bench` section runs the load (each when it is here).
BOARDS = ("ESP32_C3_QEMU", "ESP32_QEMU")
#: What a board prints when it starts (the ESP32 ROM's first lines): seen during the load, it rebooted.
BOOT_MARKERS = ("ESP-ROM:", "rst:0x")


def on_board(board: str, app: str = "examples/websocket", log=print, clients: int = 64, gets: int = 48,
             timeout: float = 120.0, spread: float = 0.0, **opts) -> dict:
    """Start ``board`` (tools.targets.select.open_target: the emulated ESP32-C3, the virtual
    board...; ``opts`` go to it) with ``app``, run the load against it; the figures plus
    ``rebooted``."""
    from tools.targets.base import TargetError
    from tools.targets.select import open_target

    try:
        target = open_target(board, app=app, **opts)
        target.start()
    except TargetError as exc:
        raise LoadError(str(exc))
    try:
        seen = target.console_text(400)
        where = urlsplit(target.url)
        res = run_load(where.hostname, where.port, clients=clients, gets=gets, timeout=timeout, spread=spread,
                       log=log)
        after = target.console_text(400)
        new = after[len(seen):] if after.startswith(seen) else after
        out = res.as_dict()
        out["rebooted"] = any(m in new for m in BOOT_MARKERS)
        out["board"] = board
        return out
    finally:
        target.stop()


def bench_section(board: str, title: str, res: dict, log=print) -> None:
    """`make bench`'s capacity figures for ``board`` (one of BOARDS) into res["capacity"]."""
    if board not in BOARDS:
        return
    log("== %s: capacity under load (examples/websocket, %d clients)" % (title, 64))
    try:
        res.setdefault("capacity", {})[board] = on_board(board, log=log, echo=log)
    except LoadError as exc:
        log("warning: %s capacity not measured: %s" % (title, exc))


def format_result(res: dict) -> str:
    """The figures as `make bench` prints them."""
    return ("%s, examples/websocket: %d clients holding a WebSocket at once -> %d held, %d refused "
            "(%d x 503 + Retry-After), %d reset, %d timed out, last answer after %.0f s; plain GETs "
            "meanwhile %d/%d (%.0f%%); up after: %s; rebooted: %s" % (
                res.get("board", "board"), res["clients"], res["held"], res["refused"], res["refused_503"],
                res["resets"], res["timeouts"], res.get("slowest", 0), res["gets_ok"], res["gets"],
                100 * res["get_rate"], "yes" if res["up_after"] else "NO", "YES" if res.get("rebooted") else "no"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.load", description=__doc__.split("\n")[0])
    where_ = parser.add_mutually_exclusive_group(required=True)
    where_.add_argument("--url", help="where a board serves examples/websocket, http://host:port")
    where_.add_argument("--board", help="start this board with examples/websocket first (e.g. ESP32_C3_QEMU, UNIX)")
    parser.add_argument("--clients", type=int, default=64, help="WebSocket clients at once (default 64)")
    parser.add_argument("--gets", type=int, default=48, help="plain GETs while they are held (default 48)")
    parser.add_argument("--ws-path", default="/echo", help="the WebSocket echo route (default /echo)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a handshake may take (default 120)")
    parser.add_argument("--spread", type=float, default=0.0,
                        help="start the clients evenly over this many seconds (default 0: all at once)")
    args = parser.parse_args(argv)
    try:
        if args.board:
            out = on_board(args.board, clients=args.clients, gets=args.gets, timeout=args.timeout, spread=args.spread)
            print(format_result(out))
            return 0 if not (out["resets"] or out["timeouts"] or out["rebooted"]) and out["up_after"] else 1
        where = urlsplit(args.url)
        if not where.hostname or not where.port:
            print("error: --url needs a host and a port, e.g. http://127.0.0.1:5000.", file=sys.stderr)
            return 2
        res = run_load(where.hostname, where.port, args.clients, args.ws_path, gets=args.gets, timeout=args.timeout,
                       spread=args.spread)
    except LoadError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    return 0 if res.resets == 0 and res.timeouts == 0 and res.up_after else 1


if __name__ == "__main__":
    sys.exit(main())
