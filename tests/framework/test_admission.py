"""Admission (issue #23): long-lived connections (WebSocket, streamed responses) hold at most
all slots but two, so a short request always finds one; beyond that, and below the free-heap
reserve, a newcomer gets a clean 503 with Retry-After, never a reset. On MicroPython the cap
follows the sockets the stack can still open. Real sockets on 127.0.0.1, both runtimes."""
import asyncio

from microdot import Microdot
from microdot.websocket import with_websocket
from support import running_server, raw_request, micropython_only, MICROPYTHON

UPGRADE = (b'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
           b'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
CLOSE = b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'


def make_app(cap):
    app = Microdot()
    app.max_connections = cap
    app.request_timeout = 120
    app.keepalive_timeout = 120
    gate = asyncio.Event()

    @app.get('/')
    async def index(req):
        return 'hello'

    @app.route('/ws')
    @with_websocket
    async def ws(req, sock):
        while True:
            await sock.send(await sock.receive())

    @app.get('/stream')
    async def stream(req):
        async def body():
            yield 'first\n'
            await gate.wait()
            yield 'last\n'
        return body()

    return app, gate


async def upgrade(port):
    """A connection that asked for a WebSocket: (reader, writer, response head)."""
    r, w = await asyncio.open_connection('127.0.0.1', port)
    w.write(UPGRADE)
    await w.drain()
    head = b''
    while b'\r\n\r\n' not in head:
        chunk = await asyncio.wait_for(r.read(256), 10)
        if not chunk:
            break
        head += chunk
    return r, w, head


async def closed(r, timeout=10):
    try:
        while True:
            if not await asyncio.wait_for(r.read(256), timeout):
                return True
    except asyncio.TimeoutError:
        return False
    except OSError:
        return True


async def shut(w):
    w.close()
    try:
        await w.wait_closed()  # MicroPython closes the socket here
    except OSError:
        pass


def is_refusal(data):
    return data.startswith(b'HTTP/1.1 503 ') and b'Retry-After: 1\r\n' in data


async def test_websockets_hold_all_slots_but_two_and_the_rest_get_503():
    app, _ = make_app(5)
    async with running_server(app) as port:
        held = []
        for _ in range(3):  # 5 slots: 3 long-lived at most
            r, w, head = await upgrade(port)
            assert head.startswith(b'HTTP/1.1 101 '), head
            held.append((r, w))
        r, w, head = await upgrade(port)
        assert is_refusal(head), head
        assert await closed(r)  # refused and closed: the slot is free again
        await shut(w)
        for _ in range(3):  # short requests still find a slot
            out = await raw_request(port, CLOSE, timeout=10)
            assert out.startswith(b'HTTP/1.1 200 ') and out.endswith(b'hello'), out
        r0, w0 = held.pop()
        await shut(w0)
        for _ in range(100):  # the server notices the WebSocket going away
            await asyncio.sleep(0.02)
            if len(app._conns) <= 2:
                break
        r, w, head = await upgrade(port)
        assert head.startswith(b'HTTP/1.1 101 '), head
        held.append((r, w))
        for r, w in held:
            await shut(w)


async def test_a_streamed_response_counts_as_long_lived():
    app, gate = make_app(3)  # one long-lived slot
    async with running_server(app) as port:
        r, w, head = await upgrade(port)
        assert head.startswith(b'HTTP/1.1 101 '), head
        out = await raw_request(port, b'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n', timeout=10)
        assert is_refusal(out), out
        out = await raw_request(port, CLOSE, timeout=10)
        assert out.endswith(b'hello'), out
        await shut(w)
        for _ in range(100):
            await asyncio.sleep(0.02)
            if not app._conns:
                break
        gate.set()
        out = await raw_request(port, b'GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
                                timeout=10)
        assert out.startswith(b'HTTP/1.1 200 ') and b'last' in out, out


async def test_an_app_503_gets_retry_after_only_from_the_share():
    app, _ = make_app(4)

    @app.get('/busy')
    async def busy(req):
        return 'busy', 503

    async with running_server(app) as port:
        out = await raw_request(port, b'GET /busy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        assert out.startswith(b'HTTP/1.1 503 ') and b'Retry-After' not in out, out


@micropython_only
async def test_below_the_heap_reserve_a_newcomer_gets_503_without_its_handler_running():
    import gc
    app, _ = make_app(16)
    calls = []

    @app.get('/count')
    async def count(req):
        calls.append(1)
        return 'ok'

    async with running_server(app) as port:
        app.heap_reserve = gc.mem_free() + gc.mem_alloc() + 1  # more than the whole heap
        out = await raw_request(port, b'GET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
                                timeout=10)
        assert is_refusal(out), out
        assert not calls
        app.heap_reserve = 8192
        out = await raw_request(port, b'GET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
                                timeout=10)
        assert out.endswith(b'ok') and calls == [1], out


def test_heap_reserve_is_a_setting_with_a_default():
    assert Microdot.heap_reserve == 8192
    assert Microdot.max_connections == 16
    if not MICROPYTHON:
        from microdot import microdot as m
        assert m._mem_free is None  # CPython: no reserve check on the accept path
