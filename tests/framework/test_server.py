"""The server over real sockets on 127.0.0.1: keep-alive, HTTP/1.0, shutdown, bad input."""
import asyncio

from microdot import Microdot
from support import running_server, raw_request, cpython_only, micropython_only


def make_app():
    app = Microdot()

    @app.get('/')
    async def index(req):
        return 'hello'

    @app.post('/echo')
    async def echo(req):
        return req.body

    @app.get('/stream')
    async def stream(req):
        def gen():
            yield 'a'
            yield 'b'
        return gen()

    @app.get('/shutdown')
    async def shutdown(req):
        req.app.shutdown()
        return 'bye'

    return app


async def _read_response(reader):
    """Read one Content-Length framed response from an asyncio stream."""
    head = b''
    while b'\r\n\r\n' not in head:
        chunk = await reader.read(1)
        if not chunk:
            return head
        head += chunk
    length = 0
    for line in head.split(b'\r\n'):
        if line.lower().startswith(b'content-length:'):
            length = int(line.split(b':')[1])
    body = b''
    while len(body) < length:
        body += await reader.read(length - len(body))
    return head + body


async def test_keep_alive_serves_many_requests_on_one_connection():
    app = make_app()
    async with running_server(app) as port:
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        for i in range(5):
            writer.write(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            await writer.drain()
            res = await asyncio.wait_for(_read_response(reader), 5)
            assert res.startswith(b'HTTP/1.1 200 OK\r\n')
            assert res.endswith(b'\r\n\r\nhello')
            assert b'Connection: close' not in res
        body = b'x' * 100
        writer.write(b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + body)
        await writer.drain()
        res = await asyncio.wait_for(_read_response(reader), 5)
        assert res.endswith(body)
        writer.write(b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        await writer.drain()
        res = await asyncio.wait_for(_read_response(reader), 5)
        assert b'Connection: close' in res
        assert await asyncio.wait_for(reader.read(10), 5) == b''  # server closed it
        writer.close()


async def test_pipelined_requests_are_answered_in_order():
    app = make_app()
    async with running_server(app) as port:
        out = await raw_request(port, b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
                                      b'POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc'
                                      b'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')
        assert out.count(b'HTTP/1.1 200 OK') == 3
        assert out.index(b'hello') < out.index(b'abc') < out.rindex(b'hello')


async def test_http10_closes_unless_keep_alive_asked():
    app = make_app()
    async with running_server(app) as port:
        out = await raw_request(port, b'GET / HTTP/1.0\r\n\r\n')
        assert out.startswith(b'HTTP/1.1 200 OK') and out.endswith(b'hello')
        assert b'Connection: close' in out
        out = await raw_request(port, b'GET /stream HTTP/1.0\r\n\r\n')
        assert b'Transfer-Encoding' not in out and out.endswith(b'\r\n\r\nab')
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write(b'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
        await writer.drain()
        res = await asyncio.wait_for(_read_response(reader), 5)
        assert b'Connection: keep-alive' in res
        writer.write(b'GET / HTTP/1.0\r\n\r\n')
        await writer.drain()
        res = await asyncio.wait_for(_read_response(reader), 5)
        assert res.endswith(b'hello')
        writer.close()


async def test_malformed_requests_get_clean_4xx_and_server_keeps_serving():
    app = make_app()
    close = b'Connection: close\r\n'
    cases = [
        (b'GARBAGE\r\n\r\n', b'400'),
        (b'GET /\r\n\r\n', b'400'),
        (b'get / HTTP/1.1\r\n' + close + b'\r\n', b'200'),  # as upstream: matched upper-cased
        (b'GET / HTTP/2.0\r\n\r\n', b'200'),  # as upstream: any HTTP/x version
        (b'GET nothing HTTP/1.1\r\n' + close + b'\r\n', b'404'),  # a path no route has
        (b'GET /%zz HTTP/1.1\r\n' + close + b'\r\n', b'404'),  # paths are not decoded
        (b'GET /?a=%zz HTTP/1.1\r\n' + close + b'\r\n', b'400'),  # as upstream, args unused
        (b'GET /?a=%ff%fe HTTP/1.1\r\n' + close + b'\r\n', b'400'),  # not UTF-8
        (b'GET / HTTP/1.1\r\nBad Header\r\n\r\n', b'400'),
        (b'GET / HTTP/1.1\r\n: x\r\n' + close + b'\r\n', b'200'),  # as upstream: an empty name
        (b'GET / HTTP/1.1\r\n : x\r\n' + close + b'\r\n', b'200'),  # as upstream: taken
        (b'POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n', b'400'),
        (b'POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n', b'400'),
        (b'POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', b'400'),
        (b'POST /echo HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n', b'413'),
        (b'GET /' + b'a' * 3000 + b' HTTP/1.1\r\n\r\n', b'414'),
        (b'GET / HTTP/1.1\r\nX-Long: ' + b'b' * 3000 + b'\r\n\r\n', b'431'),
        (b'GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n', b'400'),
    ]
    async with running_server(app) as port:
        for data, status in cases:
            out = await raw_request(port, data)
            assert out.startswith(b'HTTP/1.1 ' + status), (data[:40], out[:60])
            assert b'Traceback' not in out
            ok = await raw_request(port, b'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')
            assert ok.endswith(b'hello'), data[:40]


async def test_idle_client_is_disconnected_after_request_timeout():
    app = make_app()
    app.request_timeout = 0.3
    app.keepalive_timeout = 0.3
    async with running_server(app) as port:
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write(b'GET / HTT')  # a partial head, then silence
        await writer.drain()
        out = await asyncio.wait_for(reader.read(100), 5)
        assert out == b''
        writer.close()
        assert not app._conns
        ok = await raw_request(port, b'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')
        assert ok.endswith(b'hello')


class _Slow:
    """An async iterator body: ``n`` chunks, ``pause`` seconds apart."""
    def __init__(self, n, pause):
        self.n = n
        self.pause = pause

    def __aiter__(self):
        return self

    async def __anext__(self):
        if not self.n:
            raise StopAsyncIteration
        self.n -= 1
        await asyncio.sleep(self.pause)
        return b'tick;'


async def test_client_that_stops_reading_a_stream_loses_its_slot():
    app = make_app()
    app.send_timeout = 0.5
    chunk = b'x' * 16384

    @app.get('/flood')
    async def flood(req):
        def gen():
            while True:
                yield chunk
        return gen()

    async with running_server(app) as port:
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        try:
            writer.write(b'GET /flood HTTP/1.1\r\n\r\n')  # ... and never read
            await writer.drain()
            for _ in range(200):
                await asyncio.sleep(0.05)
                if not app._conns:
                    break
            held = len(app._conns)
        finally:  # closing ends the flood either way (and lets the server shut down)
            writer.close()
            try:
                await writer.wait_closed()
            except Exception:
                pass
        assert held == 0, 'the stalled connection still holds a slot'
        ok = await raw_request(port, b'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')
        assert ok.endswith(b'hello')


async def test_slow_stream_is_not_cut_by_the_send_timeout():
    app = make_app()
    app.send_timeout = 0.2

    @app.get('/slow')
    async def slow(req):
        return _Slow(4, 0.3)

    async with running_server(app) as port:
        out = await raw_request(port, b'GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n')
        assert out.startswith(b'HTTP/1.1 200')
        assert out.endswith(b'tick;' * 4), out[-60:]


@micropython_only
async def test_a_finished_connection_keeps_nothing_alive():
    # the watchdog's loop variables used to keep the last connection task it saw (and with
    # it the request, the response and the buffers) alive while it slept
    import gc
    app = make_app()
    app.keepalive_timeout = 0.2  # the watchdog runs every 50 ms

    @app.get('/big')
    async def big(req):
        req.g.blob = bytearray(40000)
        await asyncio.sleep(0.2)  # the watchdog sees this connection a few times
        return 'ok'

    async with running_server(app) as port:
        await raw_request(port, b'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')
        await asyncio.sleep(0.3)
        gc.collect()
        before = gc.mem_alloc()
        out = await raw_request(port, b'GET /big HTTP/1.1\r\nConnection: close\r\n\r\n')
        assert out.endswith(b'ok')
        await asyncio.sleep(0.3)  # several watchdog rounds after the connection ended
        gc.collect()
        kept = gc.mem_alloc() - before
        assert kept < 20000, 'a finished connection still holds %d bytes' % kept


async def test_connection_cap_answers_503_when_every_slot_serves_a_request():
    # (idle keep-alive and stalled connections make room instead: test_eviction.py)
    app = make_app()
    app.max_connections = 2
    gate = asyncio.Event()

    @app.get('/wait')
    async def wait(req):
        await gate.wait()
        return 'done'

    async with running_server(app) as port:
        held = [asyncio.create_task(raw_request(
            port, b'GET /wait HTTP/1.1\r\nConnection: close\r\n\r\n', timeout=30)) for _ in range(2)]
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(app._conns) == 2 and all(v is None for v in app._conns.values()):
                break
        out = await raw_request(port, b'GET / HTTP/1.1\r\n\r\n')
        assert out.startswith(b'HTTP/1.1 503')
        gate.set()
        for t in held:
            assert (await t).endswith(b'done')
        ok = await raw_request(port, b'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')
        assert ok.endswith(b'hello')


async def test_shutdown_from_a_route_stops_the_server():
    app = make_app()
    task = None
    async with running_server(app) as port:
        task = None
        out = await raw_request(port, b'GET /shutdown HTTP/1.1\r\n\r\n')
        assert out.endswith(b'bye')
        for _ in range(100):
            if app.server is None:
                break
            await asyncio.sleep(0.02)
        assert app.server is None
    assert task is None


@cpython_only
async def test_sync_handlers_run_in_a_thread_on_cpython():
    import threading
    app = Microdot()

    @app.get('/')
    def index(req):
        return threading.current_thread().name

    @app.get('/main')
    async def main(req):
        return threading.current_thread().name

    async with running_server(app) as port:
        out = await raw_request(port, b'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')
        main = await raw_request(port, b'GET /main HTTP/1.1\r\nConnection: close\r\n\r\n')
        assert out.split(b'\r\n\r\n')[1] != main.split(b'\r\n\r\n')[1]
