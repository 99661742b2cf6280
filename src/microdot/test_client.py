"""An in-process client for testing applications, as Microdot 2.x's ``TestClient``.

``request()`` (and ``get()``, ``post()``, ...) hands a request to the application the
way Microdot 2.x's test client does: the request is rendered to bytes, parsed by
``Request.create`` and dispatched; the :class:`TestResponse` is made from the
application's ``Response`` object (status, reason and headers as the application left
them, the body read to its end). The server's connection loop and framing are not used.

Extras for protocol tests (not in Microdot 2.x): ``websocket(path)`` without a client
returns a live :class:`TestWebSocket`, ``sse(path)`` a :class:`TestEventStream`, and
``build_request()`` / ``open()`` run raw request bytes through the real connection
handler over in-memory pipes.
"""
import asyncio
import json

from microdot.microdot import Request, Response, HTTPException, NoCaseDict

__all__ = ('TestClient', 'TestResponse')

_ADDR = ('127.0.0.1', 1234)  # the client address requests appear to come from
_WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='  # the RFC 6455 sample key, as Microdot 2.x sends


_WIRE = ('MemoryPipe', 'MemoryWriter', 'TestEventStream', 'TestWebSocket', 'HandshakeError',
         'parse_events')


def __getattr__(name):  # resolved on first use: names of Microdot 2.x's module, and the extras
    if name in _WIRE:
        from microdot import test_wire
        return getattr(test_wire, name)
    if name == 'WebSocket':
        from microdot.websocket import WebSocket
        return WebSocket
    if name == 'AsyncBytesIO':
        from microdot.streams import AsyncBytesIO
        return AsyncBytesIO
    raise AttributeError(name)


class _Conn:
    """Both ends of the in-memory connection of one ``request()``.

    Reads give the request bytes (in the sizes asked for, without copying what is left);
    once the request has been parsed (``hold``), a read past the end waits, as on an open
    connection. What the application writes to the socket itself is dropped.
    """
    def __init__(self):  # (no default arguments here: each costs heap on a board)
        self.hold = False
        self._load(b'', -1)

    def _load(self, data, stop):
        """Read ``data`` next; a read does not go past ``stop`` (an index) before it is
        reached (the request head is read on its own, up to its first blank line, as a
        line-by-line reader sees it, so nothing in the body can pass for its end)."""
        self._data = data
        self._pos = 0
        self._stop = stop

    async def read(self, n=-1):
        data = self._data
        pos = self._pos
        size = len(data)
        while pos >= size:
            if not self.hold:
                return b''
            await asyncio.Event().wait()  # never set: the task waits until cancelled
        stop = self._stop
        if stop > pos:
            size = stop
        else:
            self._stop = -1
        end = size if n < 0 or pos + n > size else pos + n
        self._pos = end
        if pos == 0 and end == len(data):
            return data
        return data[pos:end]

    async def readexactly(self, n):
        return await self.read(n)  # short at the end, as Microdot 2.x's in-memory stream

    async def readline(self):
        i = self._data.find(b'\n', self._pos)
        return await self.read(-1 if i < 0 else i + 1 - self._pos)

    def write(self, *args):  # what the app writes to the socket itself is dropped
        pass

    close = write

    async def drain(self, *args):
        pass

    awrite = drain

    def get_extra_info(self, name, default=None):
        return _ADDR if name == 'peername' else default


class TestResponse:
    """A response received by :class:`TestClient`.

    ``status_code``, ``reason`` (None unless the application gave one) and ``headers``
    come from the application's response as it left it (``Set-Cookie`` a list);
    ``body`` is the whole body as bytes (None for HEAD), ``text`` the body decoded as
    UTF-8 (None if it is not), ``json`` the parsed body of an ``application/json``
    response and ``events`` the list of events of a ``text/event-stream`` response
    (dicts with ``data``, ``data_json``, ``event``, ``event_id`` and ``retry``).
    """
    # what an empty response (a HEAD, an upgraded connection) leaves unset
    body = text = json = events = None

    def __init__(self, status_code=None, reason=None, headers=None, body=None):
        self.status_code = status_code
        self.reason = reason
        self.headers = {} if headers is None else headers
        if body is None:
            return
        self.body = body
        try:
            self.text = body.decode()
        except ValueError:
            pass
        kind = self.headers.get('Content-Type', '').split(';')[0]
        if kind == 'application/json':
            self.json = json.loads(self.text)
        elif kind == 'text/event-stream':
            from microdot.test_wire import sse_events
            self.events = sse_events(body)

    @classmethod
    async def create(cls, res):
        """Make a TestResponse from a (completed) ``Response``, reading its body."""
        if res.is_head:
            return cls(res.status_code, res.reason, res.headers)
        body = res.body
        if isinstance(body, (bytes, bytearray)):  # no body iterator (nor microdot.streams)
            return cls(res.status_code, res.reason, res.headers, bytes(body))
        chunks = []
        it = res.body_iter()
        try:
            async for chunk in it:
                chunks.append(chunk.encode() if isinstance(chunk, str) else chunk)
        except asyncio.CancelledError:
            pass
        body = res.body
        close = getattr(it, 'aclose', None) or getattr(body, 'aclose', None)
        if close is None and not isinstance(body, (bytes, bytearray, str)):
            close = getattr(body, 'close', None)
        if close is not None:
            done = close()
            if hasattr(done, 'send'):  # an async close()
                await done
        return cls(res.status_code, res.reason, res.headers, b''.join(chunks))


class TestClient:
    """Send requests to an application in-process, keeping a cookie jar.

    ``cookies``: the jar to start with, a dict of name -> value, or name -> (value, path)
    for a cookie sent only to paths starting with ``path`` (it is used, and updated, as
    given). ``scheme``: ``'https'`` to make requests look secure. ``host``: the ``Host``
    header sent when a request has none (``example.com:1234``).
    """
    def __init__(self, app, cookies=None, scheme=None, host=None):
        self.app = app
        self.cookies = cookies or {}
        self.scheme = scheme
        self.host = host or 'example.com:1234'

    # -- the request as Microdot 2.x renders it ---------------------------------------

    @staticmethod
    def _encode_body(body, headers):
        if body is None:
            body = b''
        elif isinstance(body, (dict, list)):
            body = json.dumps(body)
            if 'Content-Type' not in headers:
                headers['Content-Type'] = 'application/json'
        if isinstance(body, str):
            body = body.encode()
        if body and 'Content-Length' not in headers:
            headers['Content-Length'] = str(len(body))
        return body

    def _add_cookies(self, path, headers):
        sent = []
        for name, value in self.cookies.items():
            if isinstance(value, tuple):
                value, prefix = value
                if not path.startswith(prefix):
                    continue
            sent.append(name + '=' + value)
        if sent:
            sent = '; '.join(sent)
            if 'Cookie' in headers:
                headers['Cookie'] += '; ' + sent
            else:
                headers['Cookie'] = sent

    def _store_cookies(self, res):
        """Update the jar from the response's Set-Cookie headers, as Microdot 2.x does: of
        each, the path (lower-cased; '/' unless given), and whether it expired (Max-Age <= 0
        or unreadable, and delete_cookie()'s 1970 date)."""
        jar = self.cookies
        for header in res.headers.get('Set-Cookie', []):
            name, rest = header.split('=', 1)
            parts = rest.split(';')
            value = parts[0]
            path = '/'
            expired = False
            for attr in parts[1:]:
                key, sep, arg = attr.strip().lower().partition('=')
                if not sep:
                    continue
                if key == 'path':
                    path = arg
                elif key == 'expires':
                    expired = expired or '1 jan 1970' in arg
                elif key == 'max-age':
                    try:
                        expired = expired or int(arg) <= 0
                    except ValueError:
                        expired = True
            if not expired:
                jar[name] = value if path == '/' else (value, path)
            elif name in jar:
                held = jar[name]
                if path == (held[1] if isinstance(held, tuple) else '/'):
                    del jar[name]

    async def request(self, method, path, headers=None, body=None, sock=None):
        """Send a request; return a :class:`TestResponse`.

        ``headers`` is a dict (the ``Content-Type``, ``Content-Length`` and ``Cookie``
        headers the client adds are added to it); ``body`` is bytes, str (sent as
        UTF-8) or a dict/list (sent as JSON). ``sock``: a (reader, writer) pair to use
        as the connection (its reader's ``buffer`` is set to the request bytes).
        """
        headers = headers or {}
        body = self._encode_body(body, headers)
        self._add_cookies(path, headers)
        lines = ['%s %s HTTP/1.0\n' % (method, path)]  # the request as Microdot 2.x renders it
        if 'Host' not in headers:
            lines.append('Host: %s\n' % self.host)
        for name, value in headers.items():
            lines.append('%s: %s\n' % (name, value))
        lines.append('\n')
        data = ''.join(lines).encode() + body
        stop = data.find(b'\n\n') + 2
        if sock:
            reader, writer = sock[0], sock[1]
            if isinstance(reader, _Conn):
                reader._load(data, stop)
            else:
                reader.buffer = data  # a socket of the test's own, as upstream's client does
        else:
            reader = writer = _Conn()
            reader._load(data, stop)
        app = self.app
        req = None
        try:
            req = await Request.create(app, reader, writer, _ADDR, scheme=self.scheme)
        except HTTPException as exc:
            if exc.status_code in (400, 414, 431):
                # a head that cannot be parsed: Microdot 2.x's client raises ValueError
                raise ValueError('malformed request (%d)' % exc.status_code)
            res = await app._error_response(
                Request(app, _ADDR, 'GET', '/', '1.0', NoCaseDict()), exc.status_code, exc)
        else:
            res = await app.dispatch_request(req)
        if res is Response.already_handled:
            return TestResponse()
        res.is_head = req is not None and req.method == 'HEAD'
        res.complete()
        self._store_cookies(res)
        if isinstance(reader, _Conn):
            reader.hold = True  # while the body is read the client is still connected
        return await TestResponse.create(res)

    async def get(self, path, headers=None):
        return await self.request('GET', path, headers=headers)

    async def post(self, path, headers=None, body=None):
        return await self.request('POST', path, headers=headers, body=body)

    async def put(self, path, headers=None, body=None):
        return await self.request('PUT', path, headers=headers, body=body)

    async def patch(self, path, headers=None, body=None):
        return await self.request('PATCH', path, headers=headers, body=body)

    async def delete(self, path, headers=None, body=None):
        return await self.request('DELETE', path, headers=headers, body=body)

    async def query(self, path, headers=None, body=None):
        return await self.request('QUERY', path, headers=headers, body=body)

    @staticmethod
    def form(fields):
        """Encode a dict as an ``application/x-www-form-urlencoded`` body."""
        from microdot.helpers import urlencode
        return '&'.join(urlencode(k) + '=' + urlencode(str(v)) for k, v in fields.items())

    # -- WebSocket -------------------------------------------------------------------

    async def websocket(self, path, client=None, headers=None):
        """Open a WebSocket connection to ``path``.

        With ``client`` (as Microdot 2.x): a generator function (or async generator
        function on CPython) that yields the messages to send; each text or binary
        message the server sends is sent into it, and its next message is the answer.
        The request ends when the handler returns; the result is the
        :class:`TestResponse` of the request (empty once the connection was upgraded).

        Without ``client``: return a connected :class:`TestWebSocket` (``send()``,
        ``receive()``, ``close()``), over the real connection handler; raises
        :class:`HandshakeError` (an ``OSError`` with the server's ``response``) when
        the server does not answer the handshake with 101.
        """
        if client is None:
            from microdot.test_wire import TestWebSocket
            ws = TestWebSocket(self)
            await ws.connect(path, headers)
            return ws
        hdrs = {'Upgrade': 'websocket', 'Connection': 'Upgrade',
                'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': _WS_KEY}
        hdrs.update(headers or {})
        from microdot.test_wire import websocket_conn
        conn = websocket_conn(_Conn, client())
        return await self.request('GET', path, headers=hdrs, sock=(conn, conn))

    # -- extras for protocol tests: head(), options(), sse(), build_request(), open() --

    def __getattr__(self, name):
        """The extras for protocol tests (not in Microdot 2.x), made on first use from
        microdot.test_wire: ``head(path, headers)``, ``options(path, headers)``,
        ``sse(path, headers)`` (a :class:`TestEventStream`), ``build_request(method,
        path, headers, body)`` (the raw bytes of an HTTP/1.1 request, with the jar's
        cookies) and ``open(raw)`` (serve raw request bytes over the real connection
        handler: ``(to_server, from_server, task)``)."""
        from microdot.test_wire import client_extra
        return client_extra(self, name, _ADDR)


if __import__('sys').implementation.name != 'micropython':  # (no global for a board)
    TestClient.__test__ = TestResponse.__test__ = False  # not pytest test classes
