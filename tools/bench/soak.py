"""Endurance run (`make soak`): tens of thousands of mixed requests against the virtual board.

``python -m tools.bench.soak [--requests 50000] [--duration 300] [--concurrency 8]`` starts the soak
app (tests/soak) on the virtual board (the MicroPython unix port with the board's modules,
see tools.targets; any board's target with ``--board``, opened with tools.targets.select), or
talks to a running board with ``--device http://ip:port``. Clients on
raw sockets mix keep-alive batches, one-shot requests, JSON/form/streamed uploads, streamed
and static responses, cookies, WebSocket sessions, SSE sessions (some dropped mid-stream),
malformed requests and clients that vanish mid-request. At the start (after a warm-up) and at
the end it reads the heap after ``gc.collect()`` from ``/__soak/heap``.

Prints requests served, errors, sessions and heap drift; exits non-zero if any request
failed or the heap grew by more than ``--max-drift`` percent. Bounded: it stops at
``--requests`` or after ``--duration`` seconds, whichever comes first.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from tools.targets.base import TargetError
from tools.targets.select import open_target, target_class
from tools.targets.virtual import VirtualBoard

ROOT = Path(__file__).resolve().parents[2]
SOAK_APP = ROOT / "tests" / "soak"
IO_TIMEOUT = 10.0


class SoakError(Exception):
    """The soak run could not start or the board stopped answering."""


@dataclass
class Stats:
    requests: int = 0          # HTTP exchanges that got the expected answer
    errors: int = 0            # anything unexpected (wrong status, bad framing, timeout)
    expected_errors: int = 0   # 4xx/5xx the run asked for on purpose (bad requests, /error)
    ws_sessions: int = 0
    ws_messages: int = 0
    sse_sessions: int = 0
    sse_events: int = 0
    abandoned: int = 0         # clients that vanished mid-request or mid-stream on purpose
    samples: List[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < 10:
            self.samples.append(what)


# --------------------------------------------------------------------------------------------
# A small HTTP/1.1 + WebSocket client on asyncio streams


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> "Conn":
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), IO_TIMEOUT)
        return cls(r, w)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_response(self, head_only: bool = False) -> Tuple[int, Dict[str, str], bytes]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), IO_TIMEOUT)
        lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: Dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if head_only or status in (204, 304):
            return status, headers, b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await asyncio.wait_for(self.reader.readline(), IO_TIMEOUT)).split(b";")[0], 16)
                chunk = await asyncio.wait_for(self.reader.readexactly(size + 2), IO_TIMEOUT)
                if size == 0:
                    break
                body += chunk[:-2]
        elif "content-length" in headers:
            body = await asyncio.wait_for(self.reader.readexactly(int(headers["content-length"])), IO_TIMEOUT)
        else:
            body = await asyncio.wait_for(self.reader.read(), IO_TIMEOUT)
        return status, headers, body

    async def request(self, method: str, path: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None,
                      close: bool = False) -> Tuple[int, Dict[str, str], bytes]:
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: soak"]
        for name, value in (headers or {}).items():
            lines.append("%s: %s" % (name, value))
        if body or method in ("POST", "PUT"):
            lines.append("Content-Length: %d" % len(body))
        if close:
            lines.append("Connection: close")
        await self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return await self.read_response(head_only=(method == "HEAD"))

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except Exception:
            pass


def ws_frame(payload: bytes, opcode: int = 1, mask: bytes = b"\x01\x02\x03\x04") -> bytes:
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def ws_read(conn: Conn) -> Tuple[int, bytes]:
    b0, b1 = await asyncio.wait_for(conn.reader.readexactly(2), IO_TIMEOUT)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await conn.reader.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await conn.reader.readexactly(8), "big")
    return b0 & 0x0F, await asyncio.wait_for(conn.reader.readexactly(n), IO_TIMEOUT)


# --------------------------------------------------------------------------------------------
# The mix


class Soak:
    def __init__(self, host: str, port: int, stats: Stats, target: int, deadline: float):
        self.host = host
        self.port = port
        self.s = stats
        self.target = target
        self.deadline = deadline
        self.next_op = 0

    def more(self) -> bool:
        return self.s.requests + self.s.expected_errors < self.target and time.monotonic() < self.deadline

    async def expect(self, conn: Conn, method: str, path: str, status: int = 200, check=None, **kw) -> bool:
        try:
            got, headers, body = await conn.request(method, path, **kw)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            self.s.fail("%s %s: %s" % (method, path, type(exc).__name__))
            return False
        if got != status or (check is not None and not check(headers, body)):
            self.s.fail("%s %s: %d %r" % (method, path, got, body[:60]))
            return False
        if status >= 400:
            self.s.expected_errors += 1
        else:
            self.s.requests += 1
        return True

    async def keepalive_batch(self, i: int) -> None:
        conn = await Conn.open(self.host, self.port)
        try:
            for j in range(8):
                k = (i + j) % 8
                if k == 0:
                    ok = await self.expect(conn, "GET", "/", check=lambda h, b: b == b"soak ok\n")
                elif k == 1:
                    ok = await self.expect(conn, "GET", "/item/%d?q=x%%20y" % j,
                                           check=lambda h, b, j=j: json.loads(b) == {"n": j, "q": "x y", "square": j * j})
                elif k == 2:
                    ok = await self.expect(conn, "POST", "/json", body=json.dumps({"a": j, "b": 2, "c": "s"}).encode(),
                                           headers={"Content-Type": "application/json"},
                                           check=lambda h, b, j=j: json.loads(b) == {"keys": 3, "sum": j + 2})
                elif k == 3:
                    ok = await self.expect(conn, "POST", "/form", body=b"a=1&b=%20&c=3",
                                           headers={"Content-Type": "application/x-www-form-urlencoded"},
                                           check=lambda h, b: b == b"fields=3")
                elif k == 4:
                    ok = await self.expect(conn, "GET", "/stream?n=20",
                                           check=lambda h, b: b.count(b"\n") == 20)
                elif k == 5:
                    ok = await self.expect(conn, "GET", "/static/site.css", headers={"Accept-Encoding": "gzip"},
                                           check=lambda h, b: h.get("content-encoding") == "gzip" and b[:2] == b"\x1f\x8b")
                elif k == 6:
                    ok = await self.expect(conn, "GET", "/cookie", headers={"Cookie": "v=%d" % j},
                                           check=lambda h, b, j=j: b == b"visits=%d" % j)
                else:
                    ok = await self.expect(conn, "HEAD", "/static/index.html")
                if not ok:
                    return
        finally:
            await conn.close()

    async def one_shot(self, i: int) -> None:
        conn = await Conn.open(self.host, self.port)
        try:
            if i % 3 == 0:
                body = b"u" * 6000  # larger than max_body_length: streamed to the handler
                await self.expect(conn, "POST", "/upload", body=body, close=True,
                                  check=lambda h, b: json.loads(b) == {"bytes": 6000})
            elif i % 3 == 1:
                await self.expect(conn, "GET", "/error", status=500, close=True)
            else:
                await self.expect(conn, "GET", "/static/", close=True, check=lambda h, b: b"static index" in b)
        finally:
            await conn.close()

    async def bad_request(self, i: int) -> None:
        conn = await Conn.open(self.host, self.port)
        bad = [b"GARBAGE\r\n\r\n", b"GET /%zz HTTP/1.1\r\n\r\n",
               b"POST /json HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
               b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 40 + b"\r\n"][i % 4]
        try:
            await conn.send(bad)
            status, _, _ = await conn.read_response()
            if 400 <= status < 500:
                self.s.expected_errors += 1
            else:
                self.s.fail("bad request %r: %d" % (bad[:20], status))
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            self.s.fail("bad request %r: %s" % (bad[:20], type(exc).__name__))
        finally:
            await conn.close()

    async def abandon(self, i: int) -> None:
        conn = await Conn.open(self.host, self.port)
        try:
            await conn.send([b"GET / HTTP/1.1\r\nHost: so", b"POST /upload HTTP/1.1\r\nContent-Length: 9000\r\n\r\nxx",
                             b"GET /stream?n=5000 HTTP/1.1\r\n\r\n"][i % 3])
            if i % 3 == 2:
                await asyncio.wait_for(conn.reader.read(100), IO_TIMEOUT)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            await conn.close()
        self.s.abandoned += 1

    async def websocket(self, i: int) -> None:
        conn = await Conn.open(self.host, self.port)
        try:
            await conn.send(b"GET /ws HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            status, headers, _ = await conn.read_response(head_only=True)
            if status != 101:
                self.s.fail("websocket handshake: %d" % status)
                return
            self.s.requests += 1
            for j in range(5):
                msg = ("message %d-%d " % (i, j)) * (1 + j * 20)
                await conn.send(ws_frame(msg.encode()))
                opcode, data = await ws_read(conn)
                if opcode != 1 or data != msg.encode():
                    self.s.fail("websocket echo: opcode %d, %r" % (opcode, data[:40]))
                    return
                self.s.ws_messages += 1
            if i % 2:
                await conn.send(ws_frame(b"bye"))
                opcode, _ = await ws_read(conn)
                if opcode != 8:
                    self.s.fail("websocket close: opcode %d" % opcode)
                    return
            else:
                self.s.abandoned += 1  # drop the socket without a close frame
            self.s.ws_sessions += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            self.s.fail("websocket: %s" % type(exc).__name__)
        finally:
            await conn.close()

    async def sse(self, i: int) -> None:
        conn = await Conn.open(self.host, self.port)
        try:
            full = i % 2 == 0
            await conn.send(b"GET /sse?n=%d HTTP/1.1\r\nHost: soak\r\n\r\n" % (5 if full else 1000))
            status, headers, _ = await conn.read_response(head_only=True)
            if status != 200 or not headers.get("content-type", "").startswith("text/event-stream"):
                self.s.fail("sse: %d" % status)
                return
            self.s.requests += 1
            events = 0
            data = b""
            while events < (5 if full else 3):
                chunk = await asyncio.wait_for(conn.reader.read(4096), IO_TIMEOUT)
                if not chunk:
                    break
                data += chunk
                events = data.count(b"data: ")
            if events < (5 if full else 3):
                self.s.fail("sse: %d events" % events)
                return
            self.s.sse_events += events
            self.s.sse_sessions += 1
            if not full:
                self.s.abandoned += 1  # gone mid-stream
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            self.s.fail("sse: %s" % type(exc).__name__)
        finally:
            await conn.close()

    async def worker(self) -> None:
        ops = [self.keepalive_batch] * 10 + [self.one_shot] * 4 + [self.websocket, self.sse,
                                                                 self.bad_request, self.abandon]
        while self.more():
            i = self.next_op
            self.next_op += 1
            try:
                await ops[i % len(ops)](i)
            except (OSError, asyncio.TimeoutError) as exc:
                self.s.fail("connect: %s" % type(exc).__name__)
                await asyncio.sleep(0.05)


# --------------------------------------------------------------------------------------------


async def _heap_once(host: str, port: int) -> Dict[str, int]:
    conn = await Conn.open(host, port)
    try:
        status, _, body = await conn.request("GET", "/__soak/heap", close=True)
    finally:
        await conn.close()
    if status != 200:
        raise SoakError("The board answered %d to /__soak/heap; is the soak app (tests/soak) running?" % status)
    return json.loads(body)


async def heap(host: str, port: int, settle: float = 10.0, samples: int = 5) -> Dict[str, int]:
    """The board's heap after gc.collect(), once no other connection is open.

    The smallest of ``samples`` readings 0.2 s apart: MicroPython's collector is
    conservative, so a single reading swings by a few KB with whatever stale pointers
    happen to be on the stack (about +-3 KB on the unix port over 80,000 requests, with
    no trend).
    """
    t0 = time.monotonic()
    while True:
        info = await _heap_once(host, port)
        if info["conns"] <= 1 or time.monotonic() - t0 > settle:
            break
        await asyncio.sleep(0.2)
    for _ in range(samples - 1):
        await asyncio.sleep(0.2)
        again = await _heap_once(host, port)
        if again["alloc"] < info["alloc"]:
            info = again
    return info


async def run(host: str, port: int, requests: int, duration: float, concurrency: int,
              progress=print) -> Tuple[Stats, Dict[str, int], Dict[str, int], float]:
    # warm-up: every kind of request once or twice, so that lazily built state is in place
    warm = Stats()
    w = Soak(host, port, warm, 200, time.monotonic() + 60)
    await asyncio.gather(*(w.worker() for _ in range(2)))
    if warm.errors:
        raise SoakError("The warm-up failed (%s); the board is not serving the soak app correctly." % warm.samples[0])
    start = await heap(host, port)
    stats = Stats()
    t0 = time.monotonic()
    soak = Soak(host, port, stats, requests, t0 + duration)

    async def report():
        while True:
            await asyncio.sleep(5)
            elapsed = time.monotonic() - t0
            progress("soak: %6d/%d requests  %d errors  %d ws  %d sse  %.0f req/s"
                     % (stats.requests + stats.expected_errors, requests, stats.errors,
                        stats.ws_sessions, stats.sse_sessions,
                        (stats.requests + stats.expected_errors) / max(elapsed, 0.001)))

    reporter = asyncio.create_task(report())
    try:
        await asyncio.gather(*(soak.worker() for _ in range(concurrency)))
    finally:
        reporter.cancel()
    elapsed = time.monotonic() - t0
    end = await heap(host, port)
    return stats, start, end, elapsed


def summary(stats: Stats, start: Dict[str, int], end: Dict[str, int], elapsed: float, max_drift: float) -> Tuple[List[str], bool]:
    drift = (end["alloc"] - start["alloc"]) * 100.0 / start["alloc"]
    served = stats.requests + stats.expected_errors
    lines = [
        "soak: %d requests served in %.1f s (%.0f req/s), %d errors" % (served, elapsed, served / max(elapsed, 0.001), stats.errors),
        "soak: %d expected 4xx/5xx, %d WebSocket sessions (%d messages), %d SSE sessions (%d events), %d clients vanished on purpose"
        % (stats.expected_errors, stats.ws_sessions, stats.ws_messages, stats.sse_sessions, stats.sse_events, stats.abandoned),
        "soak: heap after gc.collect(): %d bytes at start, %d at end (%+.2f%%, limit %.1f%%); %d free at end"
        % (start["alloc"], end["alloc"], drift, max_drift, end["free"]),
    ]
    lines += ["soak: error: %s" % s for s in stats.samples]
    ok = stats.errors == 0 and drift <= max_drift and served > 0
    return lines, ok


def soak_target(args):
    """Soak the target the arguments name: a board at --device that already runs the soak app, else
    the soak app on the target --board runs on (the virtual board for UNIX)."""
    board = None if args.device else args.board
    try:
        cls = target_class(board, args.device)
        opts = dict(micropython=args.micropython, netns=args.netns, extensions="websocket sse static",
                    quiet=True) if cls is VirtualBoard else {}
        with open_target(board, device=args.device, app=None if args.device else SOAK_APP, **opts) as target:
            if target.url is None:
                raise SoakError("BOARD=%s has no network to soak; use a board with one." % args.board)
            facts = target.facts() if cls is VirtualBoard else None
            print("soak: %s at %s%s" % (facts.describe() if facts else "board", target.url,
                                        " (%s)" % facts.notes[-1] if facts and facts.notes else ""), flush=True)
            url = urlsplit(target.url)
            result = asyncio.run(run(url.hostname, url.port or 80, args.requests, args.duration, args.concurrency))
            target.alive()  # the board must still be up after the run
            return result
    except TargetError as exc:
        raise SoakError(str(exc))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50000, help="requests to send (default 50000)")
    parser.add_argument("--duration", type=float, default=300, help="stop after this many seconds (default 300)")
    parser.add_argument("--concurrency", type=int, default=8, help="clients at once (default 8)")
    parser.add_argument("--max-drift", type=float, default=5.0, help="heap growth allowed, in percent (default 5)")
    parser.add_argument("--board", default="UNIX", help="the board whose target runs the soak app (default UNIX: the virtual board)")
    parser.add_argument("--micropython", help="micropython binary for the virtual board (default: the venv's)")
    parser.add_argument("--netns", default="auto", choices=("auto", "on", "off"),
                        help="give the virtual board its own network namespace (default auto)")
    parser.add_argument("--device", help="soak a board that already runs tests/soak/main.py: http://ip:port")
    args = parser.parse_args(argv)
    if args.requests <= 0 or args.duration <= 0 or args.concurrency <= 0:
        print("error: --requests, --duration and --concurrency must be positive numbers.", file=sys.stderr)
        return 2
    try:
        if args.device:
            url = urlsplit(args.device if "://" in args.device else "http://" + args.device)
            if not url.hostname:
                raise SoakError("--device '%s' is not a URL like http://192.168.1.50:5000." % args.device)
        result = soak_target(args)
    except (SoakError, OSError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    lines, ok = summary(*result, max_drift=args.max_drift)
    for line in lines:
        print(line)
    if not ok:
        print("error: the soak run failed (errors above, or the heap grew more than %.1f%%)." % args.max_drift,
              file=sys.stderr)
        return 1
    print("soak: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
