"""An in-process HTTP client for testing applications.

Requests go through the same connection handler as real clients (request parsing,
hooks, response framing), over in-memory streams instead of a socket.
"""
import asyncio
import json

from microdot.helpers import urlencode
from microdot.microdot import NoCaseDict


class MemoryPipe:
    """One direction of an in-memory connection, with the read API of an asyncio stream."""
    def __init__(self):
        self.data = b''
        self.eof = False
        self.closed = False
        self.event = asyncio.Event()

    def feed(self, data):
        if self.closed:
            raise OSError(32, 'broken pipe')  # the reading side went away
        self.data += data
        self.event.set()

    def close(self):
        """The reading side goes away: later writes to this pipe fail like a dead socket."""
        self.closed = True
        self.eof = True
        self.data = b''
        self.event.set()

    def feed_eof(self):
        self.eof = True
        self.event.set()

    async def read(self, n=-1):
        while not self.data and not self.eof:
            self.event.clear()
            await self.event.wait()
        if n < 0 or n >= len(self.data):
            data, self.data = self.data, b''
        else:
            data, self.data = self.data[:n], self.data[n:]
        return data

    async def readexactly(self, n):
        out = b''
        while len(out) < n:
            chunk = await self.read(n - len(out))
            if not chunk:
                raise EOFError()
            out += chunk
        return out

    async def readline(self):
        out = b''
        while not out.endswith(b'\n'):
            chunk = await self.read(1)
            if not chunk:
                break
            out += chunk
        return out


class MemoryWriter:
    """The server's side of an in-memory connection: what it writes goes to a pipe."""
    def __init__(self, pipe, peername=('127.0.0.1', 54321)):
        self.pipe = pipe
        self.peername = peername
        self.closed = False

    def write(self, data):
        if self.closed:
            raise OSError('closed')
        self.pipe.feed(bytes(data))

    async def drain(self):
        await asyncio.sleep(0)

    def close(self):
        if not self.closed:
            self.closed = True
            self.pipe.feed_eof()

    async def wait_closed(self):
        pass

    def get_extra_info(self, name, default=None):
        return self.peername if name == 'peername' else default


class TestResponse:
    """A response received by :class:`TestClient`."""
    def __init__(self):
        self.status_code = None
        self.reason = None
        self.headers = NoCaseDict()
        self.body = b''
        self.text = None
        self.json = None
        #: For ``text/event-stream`` responses: the list of events, each a dict with
        #: ``data`` (bytes), ``data_json``, ``event``, ``event_id`` and ``retry`` keys.
        self.events = None

    @classmethod
    async def read_from(cls, pipe, head_only=False):
        """Parse one response from a pipe."""
        res = cls()
        line = await pipe.readline()
        parts = line.decode().rstrip('\r\n').split(' ', 2)
        res.status_code = int(parts[1])
        res.reason = parts[2] if len(parts) > 2 else ''
        while True:
            line = (await pipe.readline()).decode().rstrip('\r\n')
            if not line:
                break
            name, _, value = line.partition(':')
            value = value.strip()
            if name.lower() == 'set-cookie':
                res.headers.setdefault('Set-Cookie', []).append(value)
            elif name in res.headers:
                res.headers[name] = res.headers[name] + ', ' + value
            else:
                res.headers[name] = value
        if head_only or res.status_code in (204, 304):
            return res
        if res.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            body = b''
            while True:
                size = int((await pipe.readline()).split(b';')[0].strip(), 16)
                if size == 0:
                    await pipe.readline()
                    break
                body += await pipe.readexactly(size)
                await pipe.readexactly(2)
        elif 'Content-Length' in res.headers:
            body = await pipe.readexactly(int(res.headers['Content-Length']))
        else:
            body = b''
            while True:
                chunk = await pipe.read()
                if not chunk:
                    break
                body += chunk
        res._set_body(body)
        return res

    def _set_body(self, body):
        self.body = body
        try:
            self.text = body.decode()
        except ValueError:
            self.text = None
        ct = self.headers.get('Content-Type', '')
        if ct.split(';')[0].strip() == 'application/json' and self.text is not None:
            try:
                self.json = json.loads(self.text)
            except ValueError:
                self.json = None
        elif ct.split(';')[0].strip() == 'text/event-stream':
            self.events = parse_events(body)[0]


def parse_events(data, comments=None):
    """Parse complete SSE events from bytes; return (events, remaining bytes).

    Comment lines of the parsed blocks are appended to ``comments`` if given.

    Each event is a dict like the upstream test client's: ``data`` (bytes, lines
    joined with ``\\n``), ``data_json`` (parsed JSON or None), ``event``, ``event_id``
    and ``retry`` (seconds). Comment-only blocks are skipped.
    """
    data = data.replace(b'\r\n', b'\n')
    events = []
    while True:
        end = data.find(b'\n\n')
        if end < 0:
            return events, data
        block, data = data[:end], data[end + 2:]
        lines = []
        ev = {'data': None, 'data_json': None, 'event': None, 'event_id': None,
              'retry': None}
        for line in block.split(b'\n'):
            name, _, value = line.partition(b':')
            if value.startswith(b' '):
                value = value[1:]
            if line[:1] == b':' and comments is not None:
                comments.append(value.decode())
            elif name == b'data':
                lines.append(value)
            elif name == b'event':
                ev['event'] = value.decode()
            elif name == b'id':
                ev['event_id'] = value.decode()
            elif name == b'retry' and value.isdigit():
                ev['retry'] = int(value) / 1000
        if not lines:
            continue
        ev['data'] = b'\n'.join(lines)
        try:
            ev['data_json'] = json.loads(ev['data'].decode())
        except ValueError:
            pass
        events.append(ev)


class TestClient:
    """Send requests to an application in-process; keeps a cookie jar between requests."""
    __test__ = False  # not a pytest test class

    def __init__(self, app, cookies=None):
        self.app = app
        self.cookies = dict(cookies or {})

    def _cookie_header(self, path):
        out = []
        for name, value in self.cookies.items():
            out.append(name + '=' + value)
        return '; '.join(out)

    def _store_cookies(self, res):
        for item in res.headers.get('Set-Cookie', []):
            parts = [p.strip() for p in item.split(';')]
            name, _, value = parts[0].partition('=')
            expired = False
            for attr in parts[1:]:
                key, _, val = attr.partition('=')
                key = key.lower()
                if key == 'max-age' and val.lstrip('-').isdigit() and int(val) <= 0:
                    expired = True
                elif key == 'expires' and '1970' in val:
                    expired = True
            if expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    @staticmethod
    def encode_body(body, headers):
        """Turn a body given as dict/list (JSON), str or bytes into bytes, setting headers."""
        if body is None:
            return b''
        if isinstance(body, (dict, list)):
            if 'Content-Type' not in headers:
                headers['Content-Type'] = 'application/json'
            return json.dumps(body).encode()
        if isinstance(body, str):
            return body.encode()
        return bytes(body)

    def build_request(self, method, path, headers=None, body=None):
        """Return the raw bytes of a request (used by extensions that upgrade it)."""
        headers = NoCaseDict(headers or {})
        data = self.encode_body(body, headers)
        if data or method in ('POST', 'PUT', 'PATCH', 'QUERY'):
            headers.setdefault('Content-Length', str(len(data)))
        headers.setdefault('Host', 'localhost')
        cookie = self._cookie_header(path)
        if cookie:
            existing = headers.get('Cookie')
            headers['Cookie'] = existing + '; ' + cookie if existing else cookie
        lines = ['%s %s HTTP/1.1' % (method, path)]
        for name, value in headers.items():
            lines.append('%s: %s' % (name, value))
        return ('\r\n'.join(lines) + '\r\n\r\n').encode() + data

    def open(self, raw):
        """Start serving one raw request; return (to_server, from_server, task)."""
        to_server = MemoryPipe()
        from_server = MemoryPipe()
        to_server.feed(raw)
        writer = MemoryWriter(from_server)
        task = asyncio.create_task(self.app.handle_request(to_server, writer))
        return to_server, from_server, task

    async def request(self, method, path, headers=None, body=None):
        headers = dict(headers or {})
        if not any(k.lower() == 'connection' for k in headers):
            headers['Connection'] = 'close'
        raw = self.build_request(method, path, headers, body)
        to_server, from_server, task = self.open(raw)
        to_server.feed_eof()
        res = await TestResponse.read_from(from_server, head_only=(method == 'HEAD'))
        await task
        self._store_cookies(res)
        return res

    async def get(self, path, headers=None):
        return await self.request('GET', path, headers=headers)

    async def head(self, path, headers=None):
        return await self.request('HEAD', path, headers=headers)

    async def options(self, path, headers=None):
        return await self.request('OPTIONS', path, headers=headers)

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
        return '&'.join(urlencode(k) + '=' + urlencode(str(v)) for k, v in fields.items())

    # -- WebSocket and SSE -------------------------------------------------

    async def websocket(self, path, client=None, headers=None):
        """Open a WebSocket connection to ``path``.

        Without ``client``: return a connected :class:`TestWebSocket` (``send()``,
        ``receive()``, ``close()``). Raises ``OSError`` when the server does not
        answer the handshake with 101 (:class:`HandshakeError`, an ``OSError`` whose
        ``response`` attribute holds the server's answer).

        With ``client`` (upstream style): a generator function (or async generator
        function on CPython) that yields the messages to send; each message the
        server sends back is sent into the generator. The connection closes when the
        generator ends or the server closes; returns None.
        """
        ws = TestWebSocket(self)
        await ws.connect(path, headers)
        if client is None:
            return ws
        gen = client()
        is_async = hasattr(gen, 'asend')
        reply = None
        try:
            while True:
                try:
                    msg = (await gen.asend(reply)) if is_async else gen.send(reply)
                except (StopIteration, StopAsyncIteration):
                    break
                await ws.send(msg)
                reply = await ws.receive()
                if reply is None:
                    break
        finally:
            await ws.close()
        return None

    async def sse(self, path, headers=None):
        """Start a request to an SSE endpoint; return a :class:`TestEventStream`.

        The connection stays open (the client does not half-close it) until the
        server ends the stream or :meth:`TestEventStream.close` disconnects.
        """
        headers = dict(headers or {})
        headers.setdefault('Accept', 'text/event-stream')
        raw = self.build_request('GET', path, headers)
        to_server, from_server, task = self.open(raw)
        res = await TestResponse.read_from(from_server, head_only=True)
        return TestEventStream(res, to_server, from_server, task)


class TestEventStream:
    """A streaming SSE response: ``async for event in stream`` or ``await stream.next_event()``.

    Events are dicts as in :attr:`TestResponse.events`; ``comments`` collects the
    comment lines seen so far (keep-alives).
    """
    __test__ = False
    #: Seconds to wait for data before ``asyncio.TimeoutError`` (None: forever).
    timeout = 5

    def __init__(self, response, to_server, from_server, task):
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.to_server = to_server
        self.from_server = from_server
        self.task = task
        self.buffer = b''
        self.pending = []
        self.comments = []
        self._seen = 0
        self.chunked = response.headers.get('Transfer-Encoding', '').lower() == 'chunked'
        self.ended = False

    async def _read(self):
        if self.timeout:
            return await asyncio.wait_for(self._read_chunk(), self.timeout)
        return await self._read_chunk()

    async def _read_chunk(self):
        pipe = self.from_server
        if self.chunked:
            size = int((await pipe.readline()).split(b';')[0].strip() or b'0', 16)
            if size == 0:
                return b''
            data = await pipe.readexactly(size)
            await pipe.readexactly(2)
            return data
        return await pipe.read()

    async def _fill(self):
        chunk = await self._read()
        if not chunk:
            self.ended = True
            return
        events, self.buffer = parse_events(self.buffer + chunk, self.comments)
        self.pending += events

    async def next_event(self):
        """Return the next event, or None once the server ended the stream."""
        while not self.pending:
            if self.ended:
                return None
            await self._fill()
        return self.pending.pop(0)

    async def next_comment(self):
        """Return the next comment line (e.g. a keep-alive), or None at the end."""
        while self._seen >= len(self.comments):
            if self.ended:
                return None
            await self._fill()
        self._seen += 1
        return self.comments[self._seen - 1]

    def __aiter__(self):
        return self

    async def __anext__(self):
        event = await self.next_event()
        if event is None:
            raise StopAsyncIteration
        return event

    async def close(self):
        """Disconnect like a browser closing the page; wait for the server to finish."""
        self.to_server.feed_eof()
        self.from_server.close()
        await self.task


class HandshakeError(OSError):
    """The server did not accept a WebSocket handshake; ``response`` has its answer."""
    def __init__(self, response):
        super().__init__('WebSocket handshake failed: %d' % response.status_code)
        self.response = response


class TestWebSocket:
    """The client end of a WebSocket connection made by :meth:`TestClient.websocket`.

    Frames sent are masked as the protocol requires. ``close_code`` is the code of
    the close frame received from the server (None until then).
    """
    __test__ = False
    #: Seconds to wait for a frame before ``asyncio.TimeoutError`` (None: forever).
    timeout = 5

    def __init__(self, client):
        self.client = client
        self.to_server = None
        self.from_server = None
        self.task = None
        self.response = None
        self.close_code = None
        self.close_reason = None
        self.closed = False

    async def connect(self, path, headers=None):
        import binascii
        import random
        key = binascii.b2a_base64(bytes(random.getrandbits(8) for _ in range(16))).strip()
        hdrs = {'Upgrade': 'websocket', 'Connection': 'Upgrade',
                'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key.decode()}
        for name, value in (headers or {}).items():
            for k in list(hdrs):
                if k.lower() == name.lower():
                    del hdrs[k]
            hdrs[name] = value
        raw = self.client.build_request('GET', path, hdrs)
        self.to_server, self.from_server, self.task = self.client.open(raw)
        res = await TestResponse.read_from(self.from_server, head_only=True)
        self.response = res
        if res.status_code != 101:
            self.to_server.feed_eof()
            body = b''
            while True:
                chunk = await self.from_server.read()
                if not chunk:
                    break
                body += chunk
            res._set_body(body)
            await self.task
            raise HandshakeError(res)
        return res

    def send_frame(self, opcode, payload=b'', fin=True, mask=True):
        """Send one raw frame (for protocol tests); ``mask=False`` breaks the rules."""
        import random
        from microdot.websocket import WebSocket
        key = bytes(random.getrandbits(8) for _ in range(4)) if mask else None
        if isinstance(payload, str):
            payload = payload.encode()
        self.to_server.feed(WebSocket.encode_frame(opcode, payload, fin=fin, mask=key))

    async def send(self, data):
        """Send a message: ``str`` as text, ``bytes`` as binary."""
        self.send_frame(1 if isinstance(data, str) else 2, data)

    async def receive_frame(self):
        """Return the next raw frame as (fin, opcode, payload), or None at EOF."""
        if self.timeout:
            return await asyncio.wait_for(self._receive_frame(), self.timeout)
        return await self._receive_frame()

    async def _receive_frame(self):
        read = self.from_server.readexactly
        try:
            b0, b1 = await read(2)
            n = b1 & 0x7f
            if n == 126:
                n = int.from_bytes(await read(2), 'big')
            elif n == 127:
                n = int.from_bytes(await read(8), 'big')
            if b1 & 0x80:
                raise ValueError('server frames must not be masked')
            payload = await read(n) if n else b''
        except EOFError:
            return None
        return bool(b0 & 0x80), b0 & 0x0f, payload

    async def receive(self):
        """Return the next message (str or bytes); None once the connection closed.

        Pings are answered; a close frame sets ``close_code`` and is answered.
        """
        parts = []
        opcode = None
        while True:
            frame = await self.receive_frame()
            if frame is None:
                self.closed = True
                return None
            fin, op, payload = frame
            if op == 9:
                if not self.closed:
                    self.send_frame(10, payload)
                continue
            if op == 10:
                continue
            if op == 8:
                self.close_code = (payload[0] << 8 | payload[1]) if len(payload) >= 2 \
                    else 1005
                self.close_reason = payload[2:].decode()
                if not self.closed:
                    self.send_frame(8, payload[:2])
                    self.closed = True
                return None
            if op != 0:
                opcode = op
            parts.append(payload)
            if fin:
                break
        data = b''.join(parts)
        return data.decode() if opcode == 1 else data

    async def close(self, code=1000):
        """Send a close frame, wait for the server's and for the server to finish."""
        if not self.closed:
            self.closed = True
            try:
                self.send_frame(8, bytes((code >> 8, code & 0xff)))
            except OSError:
                pass
            while self.close_code is None:
                frame = await self.receive_frame()
                if frame is None:
                    break
                if frame[1] == 8:
                    p = frame[2]
                    self.close_code = (p[0] << 8 | p[1]) if len(p) >= 2 else 1005
        self.to_server.feed_eof()
        await self.task
