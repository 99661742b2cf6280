"""WebSocket extension: handshake, frames, limits, close codes, over the test client and a socket."""
import asyncio

from microdot import Microdot
from microdot.websocket import WebSocket, WebSocketError, with_websocket, websocket_upgrade
from microdot.test_client import TestClient
from support import raises, running_server


def make_app(log=None):
    app = Microdot()

    @app.route('/echo')
    @with_websocket
    async def echo(request, ws):
        try:
            while True:
                msg = await ws.receive()
                if isinstance(msg, str) and msg == 'exit':
                    await ws.send('goodbye')
                    break
                await ws.send(msg)
        finally:
            if log is not None:
                log.append('finally')

    @app.route('/room/<name>')
    @with_websocket
    async def room(request, ws, name):
        await ws.send('welcome to ' + name)

    @app.route('/origin')
    @with_websocket(allowed_origins=['http://good.example'])
    async def origin(request, ws):
        await ws.send('ok')

    @app.route('/manual')
    async def manual(request):
        ws = await websocket_upgrade(request)
        await ws.send('manual ' + await ws.receive())
        await ws.close()

    return app


def ws_headers(**extra):
    h = {'Upgrade': 'websocket', 'Connection': 'Upgrade', 'Sec-WebSocket-Version': '13',
         'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=='}
    h.update(extra)
    return h


def test_accept_key_matches_rfc_example():
    assert WebSocket.accept_key('dGhlIHNhbXBsZSBub25jZQ==') == 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='


async def test_handshake_response():
    client = TestClient(make_app())
    raw = client.build_request('GET', '/room/a', ws_headers())
    to_server, from_server, task = client.open(raw)
    head = b''
    while not head.endswith(b'\r\n\r\n'):
        head += await from_server.read(1)
    assert head.startswith(b'HTTP/1.1 101 Switching Protocols\r\n')
    assert b'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' in head
    assert b'Upgrade: websocket\r\n' in head
    to_server.feed_eof()
    await task


async def test_echo_text_and_binary():
    log = []
    client = TestClient(make_app(log))
    ws = await client.websocket('/echo')
    assert ws.response.status_code == 101
    await ws.send('hello')
    assert await ws.receive() == 'hello'
    await ws.send('héllo ✓')
    assert await ws.receive() == 'héllo ✓'
    await ws.send(b'\x00\x01\xff')
    assert await ws.receive() == b'\x00\x01\xff'
    big = bytes(range(256)) * 200  # 51200 bytes: 64-bit length form
    WebSocket.max_message_length = 0
    try:
        await ws.send(big)
        assert await ws.receive() == big
        medium = 'x' * 1000  # 16-bit length form
        await ws.send(medium)
        assert await ws.receive() == medium
    finally:
        WebSocket.max_message_length = -1
    await ws.close()
    assert ws.close_code == 1005  # (as upstream) the server's close frame has no code
    assert log == ['finally']


async def test_handler_ends_and_url_args():
    client = TestClient(make_app())
    ws = await client.websocket('/room/lobby')
    assert await ws.receive() == 'welcome to lobby'
    assert await ws.receive() is None  # the handler returned: a close frame, no code
    assert ws.close_code == 1005
    await ws.close()


async def test_exit_message_closes_normally():
    client = TestClient(make_app())
    ws = await client.websocket('/echo')
    await ws.send('exit')
    assert await ws.receive() == 'goodbye'
    assert await ws.receive() is None
    assert ws.close_code == 1005
    await ws.close()


async def test_ping_answered_with_pong():
    client = TestClient(make_app())
    ws = await client.websocket('/echo')
    ws.send_frame(WebSocket.PING, b'are you there')
    frame = await ws.receive_frame()
    assert frame == (True, WebSocket.PONG, b'are you there')
    await ws.send('still works')
    assert await ws.receive() == 'still works'
    await ws.close()


async def test_fragmented_message_reassembled_with_control_frame_between():
    client = TestClient(make_app())
    ws = await client.websocket('/echo')
    ws.send_frame(WebSocket.TEXT, 'hel', fin=False)
    ws.send_frame(WebSocket.PING, b'p')
    ws.send_frame(WebSocket.CONT, 'lo ', fin=False)
    ws.send_frame(WebSocket.CONT, 'world', fin=True)
    assert await ws.receive_frame() == (True, WebSocket.PONG, b'p')
    assert await ws.receive() == 'hello world'
    await ws.close()


async def _expect_close(path, code, send):
    log = []
    client = TestClient(make_app(log))
    ws = await client.websocket(path)
    send(ws)
    assert await ws.receive() is None
    assert ws.close_code == code
    await ws.close()
    return log


async def test_unmasked_frame_is_accepted():
    # (as upstream) the server reads unmasked frames too
    client = TestClient(make_app())
    ws = await client.websocket('/echo')
    ws.send_frame(WebSocket.TEXT, 'plain', mask=False)
    assert await ws.receive() == 'plain'
    await ws.close()


async def test_reserved_bits_and_bad_opcode_are_protocol_errors():
    await _expect_close('/echo', 1002, lambda ws: ws.send_frame(WebSocket.TEXT | 0x40, 'x'))
    await _expect_close('/echo', 1002, lambda ws: ws.send_frame(3, 'x'))


async def test_continuation_without_start_is_protocol_error():
    await _expect_close('/echo', 1002, lambda ws: ws.send_frame(WebSocket.CONT, 'x'))


async def test_fragmented_control_frame_is_protocol_error():
    await _expect_close('/echo', 1002,
                        lambda ws: ws.send_frame(WebSocket.PING, 'x', fin=False))


async def test_new_message_inside_fragmented_one_is_protocol_error():
    def send(ws):
        ws.send_frame(WebSocket.TEXT, 'a', fin=False)
        ws.send_frame(WebSocket.TEXT, 'b')
    await _expect_close('/echo', 1002, send)


async def test_invalid_utf8_closes_1007():
    await _expect_close('/echo', 1007, lambda ws: ws.send_frame(WebSocket.TEXT, b'\xff\xfe'))


async def test_message_too_big_closes_1009():
    WebSocket.max_message_length = 10
    try:
        log = await _expect_close('/echo', 1009, lambda ws: ws.send_frame(WebSocket.BINARY,
                                                                          b'x' * 11))
        assert log == ['finally']

        def fragments(ws):
            ws.send_frame(WebSocket.TEXT, 'x' * 6, fin=False)
            ws.send_frame(WebSocket.CONT, 'x' * 6)
        await _expect_close('/echo', 1009, fragments)
        client = TestClient(make_app())
        ws = await client.websocket('/echo')
        await ws.send('x' * 10)  # exactly at the limit is fine
        assert await ws.receive() == 'x' * 10
        await ws.close()
    finally:
        WebSocket.max_message_length = -1


async def test_default_limit_is_request_max_body_length():
    from microdot import Request
    old = Request.max_body_length
    Request.max_body_length = 100
    try:
        await _expect_close('/echo', 1009, lambda ws: ws.send_frame(WebSocket.BINARY,
                                                                    b'x' * 101))
    finally:
        Request.max_body_length = old


async def test_client_disconnect_ends_handler():
    log = []
    client = TestClient(make_app(log))
    ws = await client.websocket('/echo')
    await ws.send('one')
    assert await ws.receive() == 'one'
    ws.to_server.feed_eof()  # the TCP connection drops without a close frame
    await ws.task
    assert log == ['finally']


async def test_receive_raises_websocket_error_on_close():
    seen = []
    app = Microdot()

    @app.route('/ws')
    @with_websocket
    async def handler(request, ws):
        try:
            await ws.receive()
        except WebSocketError:
            seen.append('closed')
            with raises(WebSocketError):
                await ws.send('too late')  # the close handshake already happened

    client = TestClient(app)
    ws = await client.websocket('/ws')
    await ws.close(1001)
    assert ws.close_code == 1005  # (as upstream) the server answers with a close frame, no code
    assert seen == ['closed']


async def test_handshake_errors():
    client = TestClient(make_app())
    res = await client.get('/echo')
    assert res.status_code == 400 and res.text == '400 error'  # abort(400), as upstream
    h = ws_headers()
    del h['Upgrade']
    res = await client.get('/echo', headers=h)
    assert res.status_code == 400
    res = await client.get('/echo', headers=ws_headers(Upgrade='websocket, h2c'))
    assert res.status_code == 400
    h = ws_headers()
    del h['Sec-WebSocket-Key']
    assert (await client.get('/echo', headers=h)).status_code == 400
    # (as upstream) any key and any version are accepted
    for extra in ({'Sec-WebSocket-Key': 'short'}, {'Sec-WebSocket-Version': '8'}):
        ws = await client.websocket('/echo', headers=extra)
        await ws.send('ok')
        assert await ws.receive() == 'ok'
        await ws.close()


async def test_origin_check():
    client = TestClient(make_app())
    res = await client.get('/origin', headers=ws_headers(Origin='http://evil.example'))
    assert res.status_code == 403
    ws = await client.websocket('/origin', headers={'Origin': 'http://good.example'})
    assert await ws.receive() == 'ok'
    await ws.close()
    ws = await client.websocket('/origin')  # no Origin: not a browser
    assert await ws.receive() == 'ok'
    await ws.close()
    # class-wide setting
    WebSocket.allowed_origins = ['http://good.example']
    try:
        res = await client.get('/room/x', headers=ws_headers(Origin='http://evil.example'))
        assert res.status_code == 403
        ws = await client.websocket('/room/x', headers={'Origin': 'http://good.example'})
        assert await ws.receive() == 'welcome to x'
        await ws.close()
    finally:
        WebSocket.allowed_origins = None


async def test_websocket_upgrade_function():
    client = TestClient(make_app())
    ws = await client.websocket('/manual')
    await ws.send('hi')
    assert await ws.receive() == 'manual hi'
    assert await ws.receive() is None
    await ws.close()
    res = await client.get('/manual')
    assert res.status_code == 400


async def test_upstream_style_generator_client():
    client = TestClient(make_app())
    replies = []

    def session():
        replies.append((yield 'hello'))
        replies.append((yield b'bytes'))
        replies.append((yield 'exit'))

    res = await client.websocket('/echo', session)
    # as Microdot 2.x: the response of an upgraded request is empty
    assert res.status_code is None and res.body is None and res.headers == {}
    assert replies == ['hello', b'bytes', 'goodbye']


async def test_handler_exception_closes_1011():
    app = Microdot()

    @app.route('/ws')
    @with_websocket
    async def handler(request, ws):
        raise RuntimeError('boom')

    client = TestClient(app)
    ws = await client.websocket('/ws')
    assert await ws.receive() is None
    assert ws.close_code == 1011
    await ws.close()


async def _read_head(reader):
    head = b''
    while not head.endswith(b'\r\n\r\n'):
        chunk = await reader.read(1)
        if not chunk:
            break
        head += chunk
    return head


def _client_frame(opcode, payload):
    return WebSocket.encode_frame(opcode, payload, mask=b'\x01\x02\x03\x04')


async def _server_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7f
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), 'big')
    return b0 & 0x0f, await reader.readexactly(n)


async def test_echo_over_real_socket_and_clean_disconnect():
    log = []
    app = make_app(log)
    async with running_server(app) as port:
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        req = 'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' \
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
        # the first frame travels in the same packet as the handshake
        writer.write(req.encode() + _client_frame(WebSocket.TEXT, b'first'))
        await writer.drain()
        head = await asyncio.wait_for(_read_head(reader), 5)
        assert head.startswith(b'HTTP/1.1 101 ')
        assert b's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' in head
        assert await asyncio.wait_for(_server_frame(reader), 5) == (WebSocket.TEXT, b'first')
        writer.write(_client_frame(WebSocket.BINARY, b'\x00' * 300))
        await writer.drain()
        assert await asyncio.wait_for(_server_frame(reader), 5) == (WebSocket.BINARY,
                                                                    b'\x00' * 300)
        writer.close()  # drop the connection without a close frame
        await writer.wait_closed()  # (MicroPython closes the socket here)
        for _ in range(100):
            if log:
                break
            await asyncio.sleep(0.02)
        assert log == ['finally']
        assert not app._conns  # the connection slot was released


def test_upstream_frame_helpers():
    ws = WebSocket(None)  # (as upstream) a WebSocket can be made without a request
    assert ws._process_websocket_frame(WebSocket.TEXT, b'caf\xc3\xa9') == (None, 'caf\u00e9')
    assert ws._process_websocket_frame(WebSocket.BINARY, b'\x00') == (None, b'\x00')
    assert ws._process_websocket_frame(WebSocket.PING, b'p') == (WebSocket.PONG, b'p')
    assert ws._process_websocket_frame(WebSocket.PONG, b'p') == (None, None)
    with raises(WebSocketError):
        ws._process_websocket_frame(WebSocket.CLOSE, b'')
    frame = WebSocket._encode_websocket_frame(WebSocket.TEXT, 'x' * 200)
    assert frame[:4] == bytearray(b'\x81\x7e\x00\xc8') and len(frame) == 204
    assert WebSocket._parse_frame_header(frame[:2]) == (0x80, WebSocket.TEXT, 0, -2)
    assert WebSocket._parse_frame_header(b'\x82\x05') == (0x80, WebSocket.BINARY, 0, 5)
    assert WebSocket._parse_frame_header(b'\x81\xff')[3] == -8
    with raises(WebSocketError):
        WebSocket._parse_frame_header(b'\x01\x05')  # not final: fragments unsupported here
