"""SSE extension: event encoding, streaming, keep-alive, disconnects, over the test client and a socket."""
import asyncio

from microdot import Microdot
from microdot.sse import SSE, with_sse
from microdot.test_client import TestClient
from support import raises, running_server


def make_app(log=None):
    app = Microdot()

    @app.route('/events')
    @with_sse
    async def events(request, sse):
        await sse.send('hello')
        await sse.send({'counter': 1}, event='tick', event_id='1')
        await sse.send([1, 2], event='list')
        await sse.send(b'raw bytes')
        await sse.send(42, retry=2.5)
        await sse.send('line one\nline two\r\nline three')
        await sse.comment('just a comment')
        await sse.send('note', comment=True)

    @app.route('/count/<int:n>')
    @with_sse
    async def count(request, sse, n):
        for i in range(n):
            await sse.send(str(i))

    @app.route('/forever')
    @with_sse(keepalive=0.05)
    async def forever(request, sse):
        try:
            await sse.send('started')
            while True:
                await asyncio.sleep(10)
        except asyncio.CancelledError:
            if log is not None:
                log.append('cancelled')
            raise
        finally:
            if log is not None:
                log.append('finally')

    @app.route('/ticker')
    @with_sse
    async def ticker(request, sse):
        try:
            i = 0
            while True:
                await sse.send({'i': i})
                i += 1
                await asyncio.sleep(0.01)
        finally:
            if log is not None:
                log.append('ticker done')

    @app.route('/broken')
    @with_sse
    async def broken(request, sse):
        await sse.send('before')
        raise RuntimeError('boom')

    return app


async def test_headers_and_event_encoding():
    client = TestClient(make_app())
    res = await client.get('/events')
    assert res.status_code == 200
    assert res.headers['Content-Type'] == 'text/event-stream'
    assert 'Cache-Control' not in res.headers  # (upstream sends none)
    body = res.body.replace(b':\n\n', b'')  # probes sent after the test client half-closed
    # (as upstream) data is written as given, after one "data: "
    assert body == (
        b'data: hello\n\n'
        b'event: tick\nid: 1\ndata: {"counter": 1}\n\n'
        b'event: list\ndata: [1, 2]\n\n'
        b'data: raw bytes\n\n'
        b'retry: 2500\ndata: 42\n\n'
        b'data: line one\nline two\r\nline three\n\n'
        b': just a comment\n\n'
        b': note\n\n')


async def test_test_client_parses_events():
    client = TestClient(make_app())
    res = await client.get('/events')
    ev = res.events
    assert len(ev) == 6
    assert ev[0]['data'] == b'hello' and ev[0]['event'] is None
    assert ev[1]['event'] == 'tick' and ev[1]['event_id'] == '1'
    assert ev[1]['data_json'] == {'counter': 1}
    assert ev[2]['data_json'] == [1, 2]
    assert ev[4]['retry'] == 2.5 and ev[4]['data_json'] == 42
    # as Microdot 2.x's test client: the line after "data: " only
    assert ev[5]['data'] == b'line one'


async def test_field_order_and_falsy_fields():
    app = Microdot()

    @app.route('/e')
    @with_sse
    async def e(request, sse):
        await sse.send('x', event='ev', event_id='9', retry=1)
        await sse.send('y', event='', event_id='', retry=0)

    res = await TestClient(app).get('/e')
    assert res.body.replace(b':\n\n', b'') == \
        b'retry: 1000\nevent: ev\nid: 9\ndata: x\n\ndata: y\n\n'


async def test_streaming_client_and_url_args():
    client = TestClient(make_app())
    stream = await client.sse('/count/3')
    assert stream.status_code == 200
    got = []
    async for event in stream:
        got.append(event['data'])
    assert got == [b'0', b'1', b'2']
    await stream.close()


async def test_keepalive_comments_sent_when_idle():
    log = []
    client = TestClient(make_app(log))
    stream = await client.sse('/forever')
    assert (await stream.next_event())['data'] == b'started'
    assert await stream.next_comment() == ''
    assert await stream.next_comment() == ''
    await stream.close()
    assert log == ['cancelled', 'finally']


async def test_client_disconnect_cancels_handler():
    log = []
    client = TestClient(make_app(log))
    stream = await client.sse('/forever')
    assert (await stream.next_event())['data'] == b'started'
    await stream.close()  # returns once the connection task ended
    for _ in range(50):
        if 'finally' in log:
            break
        await asyncio.sleep(0.01)
    assert log == ['cancelled', 'finally']


async def test_backpressure_limits_queue():
    sent = []
    app = Microdot()

    @app.route('/fast')
    @with_sse
    async def fast(request, sse):
        for i in range(100):
            await sse.send(str(i))
            sent.append(i)
            assert len(sse.queue) <= SSE.max_queue

    res = await TestClient(app).get('/fast')
    assert [e['data'] for e in res.events] == [str(i).encode() for i in range(100)]
    assert len(sent) == 100


async def test_handler_exception_ends_stream():
    client = TestClient(make_app())
    with raises(RuntimeError):  # as Microdot 2.x: the test client re-raises it
        await client.get('/broken')
    stream = await client.sse('/broken')  # on a connection the stream just ends
    assert stream.status_code == 200
    assert (await stream.next_event())['data'] == b'before'
    assert await stream.next_event() is None
    await stream.close()


async def test_head_request_starts_no_handler():
    app = Microdot()
    started = []

    @app.route('/e')
    @with_sse
    async def e(request, sse):
        started.append(1)

    res = await TestClient(app).head('/e')
    assert res.status_code == 200
    await asyncio.sleep(0.01)
    assert started == []


async def _read_until(reader, marker, limit=5):
    data = b''
    while marker not in data:
        chunk = await asyncio.wait_for(reader.read(1024), limit)
        if not chunk:
            break
        data += chunk
    return data


async def test_stream_over_real_socket_and_clean_disconnect():
    log = []
    app = make_app(log)
    async with running_server(app) as port:
        # a complete stream: the server closes when the handler returns
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write(b'GET /count/3 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n')
        await writer.drain()
        data = await _read_until(reader, b'data: 2\n\n')
        assert data.startswith(b'HTTP/1.1 200 OK\r\n')
        assert b'Content-Type: text/event-stream\r\n' in data
        assert data.endswith(b'\r\n\r\ndata: 0\n\ndata: 1\n\ndata: 2\n\n')
        assert await asyncio.wait_for(reader.read(100), 5) == b''  # closed by the server
        writer.close()
        await writer.wait_closed()

        # an endless stream: the client goes away, the handler must end
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write(b'GET /ticker HTTP/1.1\r\nHost: x\r\n\r\n')
        await writer.drain()
        data = await _read_until(reader, b'data: {"i": 3}\n\n')
        assert b'data: {"i": 0}\n\n' in data
        writer.close()
        await writer.wait_closed()
        for _ in range(200):
            if log:
                break
            await asyncio.sleep(0.02)
        assert log == ['ticker done']
        for _ in range(50):
            if not app._conns:
                break
            await asyncio.sleep(0.02)
        assert not app._conns


async def test_idle_stream_disconnect_over_real_socket():
    log = []
    app = make_app(log)
    SSE_keepalive = SSE.keepalive
    async with running_server(app) as port:
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write(b'GET /forever HTTP/1.1\r\nHost: x\r\n\r\n')
        await writer.drain()
        await _read_until(reader, b'data: started\n\n')
        writer.close()
        await writer.wait_closed()
        for _ in range(200):
            if 'finally' in log:
                break
            await asyncio.sleep(0.02)
        assert log == ['cancelled', 'finally']
    assert SSE.keepalive == SSE_keepalive
