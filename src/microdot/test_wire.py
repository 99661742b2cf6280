"""The test client's extras for protocol tests, imported on first use: in-memory pipes
that run raw requests through the real connection handler (``TestClient.open()``), a live
WebSocket client (``TestWebSocket``) and SSE stream reader (``TestEventStream``).

It imports nothing of the test client (which imports this module, on first use)."""
import asyncio
import json

from microdot.microdot import NoCaseDict

_ADDR = ('127.0.0.1', 1234)  # the test client's address (its requests come from it)


def _split_frame(data, pos=0):
    """The WebSocket frame at ``data[pos:]``: (fin, opcode, payload, end), or None while it
    is incomplete. A masked frame is unmasked."""
    size = len(data) - pos
    if size < 2:
        return None
    b0, b1 = data[pos], data[pos + 1]
    n = b1 & 0x7f
    head = 2 if n < 126 else (4 if n == 126 else 10)
    if size < head:
        return None
    if head > 2:
        n = int.from_bytes(data[pos + 2:pos + head], 'big')
    key = None
    if b1 & 0x80:
        key = data[pos + head:pos + head + 4]
        head += 4
    if size < head + n:
        return None
    start = pos + head
    payload = data[start:start + n]
    if key:
        from microdot.websocket import _mask
        payload = _mask(payload, key)
    return bool(b0 & 0x80), b0 & 0x0f, payload, start + n


def websocket_conn(base, gen):
    """The connection ``TestClient.websocket(path, client)`` runs a request over: ``base`` is
    the test client's in-memory connection class (passed in, so this module never imports the
    test client, which imports it), ``gen`` the client generator. The class is made on use, so
    importing the test client allocates nothing for it."""
    class WebSocketConn(base):
        """The connection of ``websocket(path, client)``: after the request, each read gives
        the next message of the client generator as a frame, and each text or binary frame
        the application sends is sent into the generator (whose answer is read next).

        As in Microdot 2.x: frames sent before the application first reads are dropped, and
        when the generator ends the connection fails once with ``OSError(32)``.
        """
        def __init__(self, gen):
            super().__init__()
            self.gen = gen
            self.started = False
            self.closed = False
            self.out = b''

        async def _next(self, data=None):
            gen = self.gen
            try:
                msg = (await gen.asend(data)) if hasattr(gen, 'asend') else gen.send(data)
            except (StopIteration, StopAsyncIteration):
                if not self.closed:
                    self.closed = True
                    raise OSError(32, 'Websocket connection closed')
                return b''
            from microdot.websocket import WebSocket
            import random
            op = WebSocket.TEXT if isinstance(msg, str) else WebSocket.BINARY
            if isinstance(msg, str):
                msg = msg.encode()
            key = bytes(random.getrandbits(8) for _ in range(4))  # clients mask their frames
            return WebSocket.encode_frame(op, msg, mask=key)

        async def read(self, n=-1):
            if self._pos >= len(self._data):
                self.started = True
                self._load(await self._next(), -1)
            return await super().read(n)

        def write(self, data):
            self.out += data

        async def awrite(self, data):
            self.write(data)
            await self.drain()

        async def drain(self):
            out = self.out
            if not self.started:  # the handshake, and anything sent before the first read
                self.out = b''
                return
            while True:
                frame = _split_frame(out)
                if frame is None:
                    return
                fin, op, payload, end = frame
                out = self.out = out[end:]
                if op == 1 or op == 2:
                    self._load(await self._next(payload.decode() if op == 1 else bytearray(payload)), -1)
                    out = self.out

    return WebSocketConn(gen)


class MemoryPipe:
    """One direction of an in-memory connection, with the read API of an asyncio stream.

    Unread bytes are kept once, with a read position: reads slice what they return and
    nothing else is copied.
    """
    def __init__(self):
        self.data = b''
        self.pos = 0
        self.eof = False
        self.closed = False
        self.event = asyncio.Event()

    def feed(self, data):
        if self.closed:
            raise OSError(32, 'broken pipe')  # the reading side went away
        data = bytes(data)
        if self.pos >= len(self.data):
            self.data = data
        else:
            self.data = self.data[self.pos:] + data
        self.pos = 0
        self.event.set()

    def close(self):
        """The reading side goes away: later writes to this pipe fail like a dead socket."""
        self.closed = True
        self.eof = True
        self.data = b''
        self.pos = 0
        self.event.set()

    def feed_eof(self):
        self.eof = True
        self.event.set()

    async def _wait(self):
        self.event.clear()
        await self.event.wait()

    async def read(self, n=-1):
        while self.pos >= len(self.data) and not self.eof:
            await self._wait()
        data = self.data
        pos = self.pos
        end = len(data) if n < 0 or pos + n > len(data) else pos + n
        self.pos = end
        return data if pos == 0 and end == len(data) else data[pos:end]

    async def readexactly(self, n):
        while len(self.data) - self.pos < n:
            if self.eof:
                raise EOFError()
            await self._wait()
        return await self.read(n)

    async def readline(self):
        while True:
            i = self.data.find(b'\n', self.pos)
            if i >= 0:
                return await self.read(i + 1 - self.pos)
            if self.eof:
                return await self.read()
            await self._wait()


class MemoryWriter:
    """The server's side of an in-memory connection: what it writes goes to a pipe."""
    def __init__(self, pipe, peername=_ADDR):
        self.pipe = pipe
        self.peername = peername
        self.closed = False

    def write(self, data):
        if self.closed:
            raise OSError('closed')
        self.pipe.feed(data)

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


class _WireResponse:
    """A response head read off an in-memory pipe (status, reason, headers), for the
    streaming extras; ``body``/``text`` are set for a refused WebSocket handshake."""
    def __init__(self):
        self.status_code = None
        self.reason = None
        self.headers = NoCaseDict()
        self.body = b''
        self.text = None
        self.json = None
        self.events = None

    def _set_body(self, body):
        self.body = body
        try:
            self.text = body.decode()
        except ValueError:
            self.text = None


async def read_head(pipe):
    """Read a response's status line and headers off a pipe."""
    res = _WireResponse()
    line = await pipe.readline()
    parts = line.decode().rstrip('\r\n').split(' ', 2)
    res.status_code = int(parts[1])
    res.reason = parts[2] if len(parts) > 2 else ''
    while True:
        line = (await pipe.readline()).decode().rstrip('\r\n')
        if not line:
            return res
        name, _, value = line.partition(':')
        value = value.strip()
        if name.lower() == 'set-cookie':
            res.headers.setdefault('Set-Cookie', []).append(value)
        elif name in res.headers:
            res.headers[name] = res.headers[name] + ', ' + value
        else:
            res.headers[name] = value


def parse_events(data, comments=None):
    """Parse complete SSE events from bytes; return (events, remaining bytes).

    Comment lines of the parsed blocks are appended to ``comments`` if given.
    Each event is a dict: ``data`` (bytes, lines joined with ``\\n``), ``data_json``
    (parsed JSON or None), ``event``, ``event_id`` and ``retry`` (seconds).
    Comment-only blocks are skipped.
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
        res = await read_head(self.from_server)
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
        pipe = self.from_server
        while True:
            frame = _split_frame(pipe.data, pipe.pos)
            if frame is not None:
                pipe.pos = frame[3]
                return frame[:3]
            if pipe.eof:
                return None
            await pipe._wait()

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


def sse_events(body):
    """The events of an SSE body, as Microdot 2.x's test client reads them: blocks split
    at blank lines; of each field the last line counts, its value stripped (``retry``
    skips one character after the colon and is given in seconds); blocks without data
    are left out."""
    events = []
    for block in body.split(b'\n\n'):
        fields = {}
        for line in block.split(b'\n'):
            name, colon, value = line.partition(b':')
            if not colon:
                continue
            if name == b'retry':
                fields[name] = int(value[1:].strip()) / 1000
            elif name == b'data' or name == b'event' or name == b'id':
                fields[name] = value.strip()
        data = fields.get(b'data')
        if not data:
            continue
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        event = fields.get(b'event')
        event_id = fields.get(b'id')
        events.append({'data': data, 'data_json': parsed,
                       'event': None if event is None else event.decode(),
                       'event_id': None if event_id is None else event_id.decode(),
                       'retry': fields.get(b'retry')})
    return events


# -- the test client's extras (TestClient.__getattr__) -----------------------------------

async def _head(client, path, headers=None):
    return await client.request('HEAD', path, headers=headers)


async def _options(client, path, headers=None):
    return await client.request('OPTIONS', path, headers=headers)


async def _sse(client, path, headers=None):
    """Start a request to an SSE endpoint; return a :class:`TestEventStream`.

    The connection stays open (the client does not half-close it) until the
    server ends the stream or :meth:`TestEventStream.close` disconnects.
    """
    headers = dict(headers or {})
    headers.setdefault('Accept', 'text/event-stream')
    raw = client.build_request('GET', path, headers)
    to_server, from_server, task = client.open(raw)
    res = await read_head(from_server)
    return TestEventStream(res, to_server, from_server, task)


def _build_request(client, method, path, headers=None, body=None):
    """Return the raw bytes of an HTTP/1.1 request, with the jar's cookies."""
    headers = NoCaseDict(headers or {})
    data = client._encode_body(body, headers)
    if data or method in ('POST', 'PUT', 'PATCH', 'QUERY'):
        headers.setdefault('Content-Length', str(len(data)))
    headers.setdefault('Host', client.host)
    client._add_cookies(path, headers)
    lines = ['%s %s HTTP/1.1' % (method, path)]
    for name, value in headers.items():
        lines.append('%s: %s' % (name, value))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + data


def _open(client, raw, addr):
    """Start serving raw request bytes; return (to_server, from_server, task)."""
    to_server = MemoryPipe()
    from_server = MemoryPipe()
    to_server.feed(raw)
    writer = MemoryWriter(from_server, addr)
    task = asyncio.create_task(client.app.handle_request(to_server, writer))
    return to_server, from_server, task


def client_extra(client, name, addr):
    """``TestClient.<name>`` for the extras the test client makes on first use, bound to
    ``client`` (``addr``: the client address requests appear to come from)."""
    if name == 'open':
        return lambda raw: _open(client, raw, addr)
    f = {'head': _head, 'options': _options, 'sse': _sse,
         'build_request': _build_request}.get(name)
    if f is None:
        raise AttributeError(name)
    return lambda *args, **kwargs: f(client, *args, **kwargs)
