"""Clients that vanish mid-request, mid-response, mid-WebSocket and mid-SSE.

After each case the server must hold no connection (``app._conns``), every handler must
have run its clean-up (``finally:``), no task may be left (CPython: ``asyncio.all_tasks``),
and the server must still answer. The request timeout is long (10 s) on purpose: the
server has to notice the disconnect itself, not wait for the watchdog.
"""
import asyncio
import gc
import sys

from microdot import Microdot, Request, Response
from microdot.websocket import with_websocket
from microdot.sse import with_sse
from support import running_server, MICROPYTHON
from test_hostile import exchange, settle, OK_REQUEST, ticks_ms, ticks_diff

WS_HEAD = (b'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
           b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')


def ws_frame(payload, opcode=1):
    """A masked client frame (the zero mask leaves the payload as it is)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    else:
        head = bytes([0x80 | opcode, 0x80 | 126, n >> 8, n & 255])
    return head + b'\x00\x00\x00\x00' + payload


class Endless:
    """A response body that never ends; records that the server closed it."""
    def __init__(self, log):
        self.log = log
        log['open'] = log.get('open', 0) + 1

    def readinto(self, buf):
        for i in range(len(buf)):
            buf[i] = 0x61
        return len(buf)

    def close(self):
        self.log['open'] -= 1


def make_app(log):
    app = Microdot()
    app.request_timeout = 10
    app.keepalive_timeout = 10

    def enter(name):
        log[name] = log.get(name, 0) + 1

    def leave(name):
        log[name] -= 1

    @app.get('/')
    async def index(req):
        return 'ok'

    @app.post('/upload')
    async def upload(req):
        enter('upload')
        try:
            total = 0
            while True:
                chunk = await req.stream.read(512)
                if not chunk:
                    break
                total += len(chunk)
            return str(total)
        finally:
            leave('upload')

    @app.get('/gen')
    async def gen(req):
        def chunks():
            enter('gen')
            try:
                while True:
                    yield b'g' * 1024
            finally:
                leave('gen')
        return chunks()

    class Chunks:  # an async iterator (MicroPython has no async generators)
        def __init__(self):
            enter('aiter')

        def __aiter__(self):
            return self

        async def __anext__(self):
            await asyncio.sleep(0)
            return b'h' * 1024

        async def aclose(self):
            pass

        def close(self):
            leave('aiter')

    @app.get('/aiter')
    async def aiter_(req):
        return Chunks()

    @app.get('/file')
    async def file_(req):
        return Response(Endless(log), headers={'Content-Type': 'text/plain'})

    @app.route('/ws')
    @with_websocket
    async def ws(req, ws):
        enter('ws')
        try:
            while True:
                await ws.send(await ws.receive())
        finally:
            leave('ws')

    @app.route('/wsflood')
    @with_websocket
    async def wsflood(req, ws):
        enter('wsflood')
        try:
            while True:
                await ws.send('x' * 1000)
        finally:
            leave('wsflood')

    @app.route('/sse')
    @with_sse
    async def sse(req, sse):
        enter('sse')
        try:
            i = 0
            while True:
                await sse.send({'i': i})
                i += 1
                await asyncio.sleep(0.02)
        finally:
            leave('sse')

    return app


def _tasks():
    if MICROPYTHON:
        return 0
    return len(asyncio.all_tasks())


async def clean(app, log, baseline_tasks, limit=5.0):
    """Wait until nothing is left; fail with what is."""
    t0 = ticks_ms()
    while ticks_diff(ticks_ms(), t0) < limit * 1000:
        busy = [k for k, v in log.items() if v]
        if not app._conns and not busy and _tasks() <= baseline_tasks:
            break
        await asyncio.sleep(0.02)
    assert not app._conns, 'connections left: %d' % len(app._conns)
    assert not [k for k, v in log.items() if v], log
    assert _tasks() <= baseline_tasks, 'tasks left: %d > %d' % (_tasks(), baseline_tasks)


async def connect_send_close(port, data, read=0):
    """Connect, send ``data``, read ``read`` bytes (or none), then drop the connection."""
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    writer.write(data)
    await writer.drain()
    got = b''
    while len(got) < read:
        chunk = await asyncio.wait_for(reader.read(4096), 5)
        if not chunk:
            break
        got += chunk
    writer.close()
    try:
        await writer.wait_closed()
    except Exception:
        pass
    return got


SCENARIOS = [
    ('half a head', b'GET / HTTP/1.1\r\nHost: x\r\nX-A: ', 0),
    ('half a body', b'POST /upload HTTP/1.1\r\nContent-Length: 100\r\n\r\n' + b'b' * 50, 0),
    ('half a streamed body', b'POST /upload HTTP/1.1\r\nContent-Length: 60000\r\n\r\n'
     + b'b' * 3000, 0),
    ('half a chunked body', b'POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'
     b'10\r\nabcd', 0),
    ('mid generator response', b'GET /gen HTTP/1.1\r\n\r\n', 8000),
    ('mid async iterator response', b'GET /aiter HTTP/1.1\r\n\r\n', 8000),
    ('mid file response', b'GET /file HTTP/1.1\r\n\r\n', 8000),
    ('mid WebSocket (idle)', WS_HEAD, 100),
    ('mid WebSocket (after a message)', WS_HEAD + ws_frame(b'hello'), 110),
    ('mid WebSocket (half a frame)', WS_HEAD + ws_frame(b'x' * 300)[:50], 100),
    ('mid WebSocket (server sending)', WS_HEAD.replace(b'/ws ', b'/wsflood '), 8000),
    ('mid SSE', b'GET /sse HTTP/1.1\r\n\r\n', 200),
]


async def _run(name, data, read, app, log, port, baseline):
    got = await connect_send_close(port, data, read)
    if read:
        assert len(got) >= min(read, 100), (name, got[:80])
    await clean(app, log, baseline)
    ok = await exchange(port, OK_REQUEST)
    assert ok.endswith(b'\r\n\r\nok'), (name, ok[:60])
    await clean(app, log, baseline)


async def test_each_disconnect_leaves_nothing_behind():
    saved = Request.max_body_length
    Request.max_body_length = 1024
    log = {}
    app = make_app(log)
    held = 0
    try:
        async with running_server(app) as port:
            await asyncio.sleep(0.05)
            baseline = _tasks()
            for name, data, read in SCENARIOS:
                await _run(name, data, read, app, log, port, baseline)
                held += 1
    finally:
        Request.max_body_length = saved
    assert held == len(SCENARIOS)
    print('disconnects: %d scenarios left nothing behind' % held)


async def test_repeated_disconnects_do_not_grow_the_heap():
    saved = Request.max_body_length
    Request.max_body_length = 1024
    log = {}
    app = make_app(log)
    samples = []
    try:
        async with running_server(app) as port:
            await asyncio.sleep(0.05)
            baseline = _tasks()
            for _ in range(8):
                for name, data, read in SCENARIOS:
                    await _run(name, data, read, app, log, port, baseline)
                gc.collect()
                samples.append(gc.mem_alloc() if MICROPYTHON else 0)
    finally:
        Request.max_body_length = saved
    # rounds 1-2 warm up (interned strings, lazily built tables). After that a one-off step
    # can still happen (a table doubling in size), but a leak grows the heap every round:
    # one small buffer per disconnect (>= 32 bytes x 12) is >= 384 bytes per round.
    deltas = sorted(samples[i + 1] - samples[i] for i in range(2, len(samples) - 1))
    median = deltas[len(deltas) // 2]
    line = 'disconnects: heap after each round of %d: %s (median growth %+d per round)' % (
        len(SCENARIOS), samples, median)
    print(line)
    assert median < 256, line
