"""WebSocket and SSE against real third-party clients (websocket-client, httpx, requests).

The app runs in a background thread with its own event loop; the clients block.
"""
import asyncio
import threading
import time

import httpx
import pytest
import requests
import websocket

from microdot import Microdot
from microdot.pubsub import PubSub
from microdot.sse import with_sse
from microdot.websocket import WebSocket, with_websocket

import sys
import os
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'framework'))
from support import free_port  # noqa: E402


class ServerThread:
    def __init__(self, app):
        self.app = app
        self.port = free_port()
        self.loop = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.loop = asyncio.new_event_loop()
        self.app._server_loop = self.loop
        self.loop.run_until_complete(self.app.start_server(host='127.0.0.1', port=self.port))
        self.loop.close()

    def __enter__(self):
        self.thread.start()
        for _ in range(200):
            if self.app.server is not None:
                break
            time.sleep(0.01)
        return 'http://127.0.0.1:%d' % self.port

    def __exit__(self, *exc):
        self.app.shutdown()
        self.thread.join(5)


def wait_for(predicate, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def make_app(log):
    app = Microdot()
    hub = PubSub()
    app.hub = hub

    @app.route('/echo')
    @with_websocket
    async def echo(request, ws):
        try:
            while True:
                await ws.send(await ws.receive())
        finally:
            log.append('ws done')

    @app.route('/strict')
    @with_websocket(allowed_origins=['http://device.local'])
    async def strict(request, ws):
        await ws.send('hi')

    @app.route('/events')
    @with_sse
    async def events(request, sse):
        try:
            await sse.send('ready', event='status', event_id='0')
            async with hub.subscribe('temp') as sub:
                async for value in sub:
                    await sse.send({'temp': value})
        finally:
            log.append('sse done')

    @app.route('/count')
    @with_sse
    async def count(request, sse):
        for i in range(3):
            await sse.send('multi\nline %d' % i, event_id=str(i))

    return app


def test_websocket_client_echo_ping_and_close():
    log = []
    with ServerThread(make_app(log)) as url:
        ws = websocket.create_connection(url.replace('http', 'ws') + '/echo', timeout=5)
        ws.send('hello')
        assert ws.recv() == 'hello'
        ws.send_binary(b'\x00\xff' * 5000)
        op, data = ws.recv_data()
        assert op == websocket.ABNF.OPCODE_BINARY and data == b'\x00\xff' * 5000
        ws.ping(b'hb')
        op, data = ws.recv_data(control_frame=True)
        assert op == websocket.ABNF.OPCODE_PONG and data == b'hb'
        ws.close()
        assert ws.status == 101
        assert wait_for(lambda: log == ['ws done'])


def test_websocket_client_message_too_big():
    log = []
    WebSocket.max_message_length = 100
    try:
        with ServerThread(make_app(log)) as url:
            ws = websocket.create_connection(url.replace('http', 'ws') + '/echo', timeout=5)
            ws.send('x' * 101)
            op, data = ws.recv_data(control_frame=True)
            assert op == websocket.ABNF.OPCODE_CLOSE
            assert int.from_bytes(data[:2], 'big') == 1009
            ws.close()
            assert wait_for(lambda: log == ['ws done'])
    finally:
        WebSocket.max_message_length = -1


def test_websocket_client_origin_rejected():
    with ServerThread(make_app([])) as url:
        ws_url = url.replace('http', 'ws') + '/strict'
        with pytest.raises(websocket.WebSocketBadStatusException) as exc:
            websocket.create_connection(ws_url, timeout=5, origin='http://evil.example')
        assert exc.value.status_code == 403
        ws = websocket.create_connection(ws_url, timeout=5, origin='http://device.local')
        assert ws.recv() == 'hi'
        ws.close()


def test_sse_with_httpx_stream_and_disconnect():
    log = []
    app = make_app(log)
    with ServerThread(app) as url:
        with httpx.Client(timeout=5) as client:
            with client.stream('GET', url + '/events') as res:
                assert res.status_code == 200
                assert res.headers['content-type'] == 'text/event-stream'
                lines = res.iter_lines()
                assert next(lines) == 'event: status'
                assert next(lines) == 'id: 0'
                assert next(lines) == 'data: ready'
                assert next(lines) == ''
                assert wait_for(lambda: app.hub.subscribers('temp') == 1)
                # publish on the server's loop, as a sensor task would
                fut = asyncio.run_coroutine_threadsafe(app.hub.publish('temp', 21),
                                                       server_loop(app))
                assert fut.result(5) == 1
                assert next(lines) == 'data: {"temp": 21}'
        # the client hung up: the handler ends and its subscription is gone
        assert wait_for(lambda: log == ['sse done'])
        assert wait_for(lambda: app.hub.subscribers('temp') == 0)


def server_loop(app):
    return app._server_loop


def test_sse_with_requests_complete_stream():
    with ServerThread(make_app([])) as url:
        res = requests.get(url + '/count', stream=True, timeout=5)
        body = res.raw.read().decode()
        # (as upstream) the data is written as given, line break included
        assert body == ''.join('id: %d\ndata: multi\nline %d\n\n' % (i, i)
                               for i in range(3))


def test_websocket_echo_and_sse_stream_complete_and_disconnect_cleanly():
    """End to end: a WebSocket session and an SSE stream share the server, both end cleanly."""
    log = []
    app = make_app(log)
    with ServerThread(app) as url:
        ws = websocket.create_connection(url.replace('http', 'ws') + '/echo', timeout=5)
        with httpx.Client(timeout=5) as client:
            with client.stream('GET', url + '/events') as res:
                lines = res.iter_lines()
                assert [next(lines) for _ in range(4)] == ['event: status', 'id: 0',
                                                           'data: ready', '']
                assert wait_for(lambda: app.hub.subscribers('temp') == 1)
                for i in range(3):
                    ws.send('msg %d' % i)
                    assert ws.recv() == 'msg %d' % i
                    n = asyncio.run_coroutine_threadsafe(app.hub.publish('temp', i),
                                                         server_loop(app)).result(5)
                    assert n == 1
                    assert next(lines) == 'data: {"temp": %d}' % i
                    assert next(lines) == ''
        ws.close()
        assert wait_for(lambda: sorted(log) == ['sse done', 'ws done'])
        assert wait_for(lambda: not app._conns)
        assert app.hub.subscribers('temp') == 0
