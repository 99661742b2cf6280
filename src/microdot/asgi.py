"""Run a Microdot application under an ASGI web server such as Uvicorn (CPython only).

    from microdot.asgi import Microdot
    app = Microdot()            # then: uvicorn module:app

Handlers see the ASGI scope as ``request.asgi_scope``. Request bodies are read from the
server as the application asks for them; response bodies that are iterators are sent
chunk by chunk. WebSocket routes (``microdot.websocket.with_websocket``) work unchanged:
the ``websocket`` scope is bridged to the byte streams the WebSocket extension reads and
writes (``request.sock``), translating its frames to and from ASGI messages.
"""
import asyncio
import os  # noqa: F401 (upstream's module has it: tests patch microdot.asgi.os.kill)

from microdot.hosted import HostedMicrodot
from microdot.base import HTTPException, invoke_handler
from microdot.microdot import Request, Response, NoCaseDict

_HOP_BY_HOP = ('connection', 'keep-alive', 'transfer-encoding', 'upgrade')


def _text(value):
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode('latin-1')


def _scope_headers(scope):
    headers = NoCaseDict()
    for name, value in scope.get('headers') or ():
        name = _text(name)
        value = _text(value)
        if name in headers:
            if name.lower() == 'content-length':
                if headers[name] != value:
                    raise HTTPException(400)
                continue
            value = headers[name] + ('; ' if name.lower() == 'cookie' else ', ') + value
        headers[name] = value
    return headers


def _scope_url(scope):
    # (as upstream) the decoded path of the scope, then the query string as sent
    path = scope.get('path') or '/'
    qs = scope.get('query_string') or b''
    return path + '?' + _text(qs) if qs else path


class _ReceiveStream:
    """The request body, pulled from the ASGI ``receive`` callable as it is read."""

    def __init__(self, receive, limit):
        self.receive = receive
        self.buf = b''
        self.more = True
        self.limit = limit   # the most bytes the client may send (413 beyond)
        self.total = 0

    async def _fill(self):
        while self.more:
            msg = await self.receive()
            if msg is None or msg['type'] == 'http.disconnect':  # (None: as upstream reads it)
                self.more = False
                raise EOFError()
            if msg['type'] != 'http.request':
                continue
            self.more = msg.get('more_body', False)
            data = msg.get('body') or b''
            if data:
                self.total += len(data)
                if self.limit is not None and self.total > self.limit:
                    raise HTTPException(413)
                self.buf += data
                return True
        return False

    async def read(self, n=-1):
        if n < 0:
            try:
                while await self._fill():
                    pass
            except EOFError:
                pass
            data, self.buf = self.buf, b''
            return data
        try:
            # (as upstream's) up to n bytes: fewer only at the end of the body
            while len(self.buf) < n and await self._fill():
                pass
        except EOFError:
            pass
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    async def readexactly(self, n):
        while len(self.buf) < n:
            if not await self._fill():
                raise EOFError()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    async def readline(self):
        while b'\n' not in self.buf:
            try:
                if not await self._fill():
                    break
            except EOFError:
                break
        i = self.buf.find(b'\n')
        n = len(self.buf) if i < 0 else i + 1
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    async def readinto(self, buf):
        data = await self.read(len(buf))
        buf[:len(data)] = data
        return len(data)


class _WebSocketBridge:
    """Reader and writer for ``request.sock`` on an ASGI ``websocket`` scope.

    The WebSocket extension writes a ``101`` handshake and server frames and reads
    client frames; here the handshake becomes ``websocket.accept``, frames become
    ``websocket.send``/``websocket.close`` and received messages become (masked)
    client frames.
    """

    def __init__(self, scope, receive, send):
        self.scope = scope
        self._receive = receive
        self._send = send
        self.rbuf = b''
        self.wbuf = b''
        self.accepted = False
        self.closed = False        # websocket.close sent, or the client is gone
        self.disconnected = False
        self.fragments = []
        self.frag_opcode = None

    # -- reader side (client -> application) --------------------------------

    @staticmethod
    def _frame(opcode, payload):
        n = len(payload)
        if n < 126:
            head = bytes((0x80 | opcode, 0x80 | n))
        elif n < 65536:
            head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, 'big')
        else:
            head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, 'big')
        return head + b'\x00\x00\x00\x00' + payload  # an all-zero mask leaves data as is

    async def _fill(self):
        if self.disconnected:
            raise EOFError()
        while True:
            msg = await self._receive()
            kind = msg['type']
            if kind == 'websocket.receive':
                if msg.get('text') is not None:
                    self.rbuf += self._frame(1, msg['text'].encode())
                else:
                    self.rbuf += self._frame(2, msg.get('bytes') or b'')
                return
            if kind == 'websocket.disconnect':
                self.disconnected = True
                self.closed = True
                code = msg.get('code', 1005)
                payload = b'' if code == 1005 else code.to_bytes(2, 'big')
                self.rbuf += self._frame(8, payload)
                return

    async def read(self, n=-1):
        if not self.rbuf:
            try:
                await self._fill()
            except EOFError:
                return b''
        if n < 0:
            n = len(self.rbuf)
        data, self.rbuf = self.rbuf[:n], self.rbuf[n:]
        return data

    async def readexactly(self, n):
        while len(self.rbuf) < n:
            await self._fill()
        data, self.rbuf = self.rbuf[:n], self.rbuf[n:]
        return data

    async def readline(self):
        while b'\n' not in self.rbuf:
            await self._fill()
        i = self.rbuf.find(b'\n') + 1
        data, self.rbuf = self.rbuf[:i], self.rbuf[i:]
        return data

    async def readinto(self, buf):
        data = await self.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    # -- writer side (application -> client) --------------------------------

    def write(self, data):
        if self.closed:
            raise OSError(32, 'websocket closed')
        self.wbuf += bytes(data)

    async def drain(self):
        await self.flush()

    def close(self):
        pass

    async def wait_closed(self):
        pass

    def get_extra_info(self, name, default=None):
        if name == 'peername':
            client = self.scope.get('client')
            return tuple(client) if client else default
        return default

    async def _asend(self, msg):
        try:
            await self._send(msg)
        except Exception as exc:  # the client went away
            self.closed = True
            raise OSError(32, 'websocket closed') from exc

    async def flush(self):
        if not self.accepted:
            end = self.wbuf.find(b'\r\n\r\n')
            if end < 0:
                return
            head, self.wbuf = self.wbuf[:end].decode('latin-1'), self.wbuf[end + 4:]
            lines = head.split('\r\n')
            status = lines[0].split(' ', 2)
            msg = {'type': 'websocket.accept'}
            extra = []
            for line in lines[1:]:
                name, _, value = line.partition(':')
                value = value.strip()
                if name.lower() == 'sec-websocket-protocol':
                    msg['subprotocol'] = value
                elif name.lower() not in ('upgrade', 'connection', 'sec-websocket-accept'):
                    extra.append((name.lower().encode(), value.encode()))
            if len(status) < 2 or status[1] != '101':
                self.closed = True
                await self._send({'type': 'websocket.close', 'code': 1008})
                raise OSError(32, 'websocket rejected')
            if extra:
                msg['headers'] = extra
            await self._asend(msg)
            self.accepted = True
        while len(self.wbuf) >= 2:
            buf = self.wbuf
            opcode = buf[0] & 0x0f
            fin = buf[0] & 0x80
            n = buf[1] & 0x7f
            pos = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n = int.from_bytes(buf[2:4], 'big')
                pos = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = int.from_bytes(buf[2:10], 'big')
                pos = 10
            if buf[1] & 0x80:  # a masked frame (not expected from a server)
                pos += 4
            if len(buf) < pos + n:
                return
            payload = buf[pos:pos + n]
            if buf[1] & 0x80:
                key = buf[pos - 4:pos]
                payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            self.wbuf = buf[pos + n:]
            await self._deliver(opcode, fin, payload)

    async def _deliver(self, opcode, fin, payload):
        if opcode == 8:
            code = int.from_bytes(payload[:2], 'big') if len(payload) >= 2 else 1000
            msg = {'type': 'websocket.close', 'code': code}
            if len(payload) > 2:
                msg['reason'] = _text(payload[2:])
            if not self.disconnected:
                await self._asend(msg)
            self.closed = True
            return
        if opcode in (9, 10):
            return  # pings and pongs are the server's business under ASGI
        if opcode == 0:
            opcode = self.frag_opcode
        if not fin:
            self.frag_opcode = opcode
            self.fragments.append(payload)
            return
        if self.fragments:
            payload = b''.join(self.fragments) + payload
            self.fragments = []
            self.frag_opcode = None
        if opcode == 1:
            await self._asend({'type': 'websocket.send', 'text': _text(payload)})
        else:
            await self._asend({'type': 'websocket.send', 'bytes': payload})


class Microdot(HostedMicrodot):
    """A Microdot application that is also an ASGI application.

    :param lifespan_startup: called (sync or async) with the ASGI scope when the
        server starts, before it accepts requests.
    :param lifespan_shutdown: called with the ASGI scope when the server stops.
    """

    def __init__(self, lifespan_startup=None, lifespan_shutdown=None):
        super().__init__()
        self.lifespan_startup = lifespan_startup
        self.lifespan_shutdown = lifespan_shutdown

    async def __call__(self, scope, receive, send):
        await self.asgi_app(scope, receive, send)

    async def asgi_app(self, scope, receive, send):
        """The ASGI entry point."""
        kind = scope['type']
        if kind == 'http':
            await self._asgi_http(scope, receive, send)
        elif kind == 'websocket':
            await self._asgi_websocket(scope, receive, send)
        elif kind == 'lifespan':
            await self.handle_lifespan(scope, receive, send)

    async def handle_lifespan(self, scope, receive, send):
        """Answer the server's ``lifespan`` startup and shutdown messages."""
        while True:
            msg = await receive()
            kind = msg['type']
            if kind == 'lifespan.startup':
                phase, callback = 'startup', self.lifespan_startup
            elif kind == 'lifespan.shutdown':
                phase, callback = 'shutdown', self.lifespan_shutdown
            else:
                continue
            try:
                if callback is not None:
                    await invoke_handler(callback, scope)
            except Exception as exc:
                await send({'type': 'lifespan.' + phase + '.failed', 'message': repr(exc)})
            else:
                await send({'type': 'lifespan.' + phase + '.complete'})
            if phase == 'shutdown':
                return

    def _request(self, scope, body=b'', stream=None, sock=None, headers=None):
        client = scope.get('client')
        req = Request(self, tuple(client) if client else None, scope.get('method', 'GET'),
                      _scope_url(scope), 'HTTP/' + scope.get('http_version', '1.1'),
                      headers if headers is not None else _scope_headers(scope),
                      body=body, stream=stream, sock=sock, scheme=scope.get('scheme'))
        req.asgi_scope = scope
        return req

    async def _read_body(self, scope, receive, headers):
        """Return (body, stream, too_large) for the request, like the built-in server."""
        cl = headers.get('Content-Length')
        stream = _ReceiveStream(receive, Request.max_content_length)
        if cl is not None:
            if not cl.isdigit():
                raise HTTPException(400)
            length = int(cl)
            if length > Request.max_body_length:
                # streamed; past max_content_length dispatch answers 413, as upstream's
                too_large = length > Request.max_content_length
                if not too_large:
                    stream.limit = length
                return b'', stream, too_large
            try:
                return await stream.readexactly(length), None, False
            except EOFError:
                raise HTTPException(400)
        body = await stream.read()
        if body:
            headers['Content-Length'] = str(len(body))
        return body, None, False

    async def _asgi_http(self, scope, receive, send):
        try:
            headers = _scope_headers(scope)
            body, stream, too_large = await self._read_body(scope, receive, headers)
            req = self._request(scope, body, stream, headers=headers)
        except HTTPException as exc:
            res = await self._error_response(
                Request(self, None, 'GET', '/', '1.1', NoCaseDict()), exc.status_code, exc)
            await self._asgi_send_response(res, send, receive)
            return
        if too_large:
            req._too_large = True
        res = await self.dispatch_request(req)
        if res is Response.already_handled:
            return
        await self._asgi_send_response(res, send, receive)
        if self.debug:
            print('%s %s %d' % (req.method, req.path, res.status_code))

    async def _asgi_send_response(self, res, send, receive):
        # the messages upstream sends: the start, each chunk of the body with
        # more_body=True, then an empty last one (the server drops a HEAD's body)
        res.complete()
        headers = []
        for name, value in res.headers.items():
            low = name.lower()
            if low in _HOP_BY_HOP:
                continue
            for v in value if isinstance(value, list) else (value,):
                headers.append((low.encode(), str(v).encode()))
        await send({'type': 'http.response.start', 'status': res.status_code,
                    'headers': headers})
        body = res.body
        if isinstance(body, (bytes, bytearray)):
            res._close_body()
            if body:
                await send({'type': 'http.response.body', 'body': bytes(body),
                            'more_body': True})
            await send({'type': 'http.response.body', 'body': b'', 'more_body': False})
            return
        # a streamed body: stop when the client disconnects
        streamer = asyncio.ensure_future(self._asgi_stream(res, send))
        watcher = asyncio.ensure_future(self._asgi_wait_disconnect(receive))
        try:
            await asyncio.wait((streamer, watcher), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (streamer, watcher):
                if not task.done():
                    task.cancel()
            for task in (streamer, watcher):
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
            res._close_body()

    @staticmethod
    async def _asgi_stream(res, send):
        async for chunk in res.body_iter():
            if isinstance(chunk, str):
                chunk = chunk.encode()
            await send({'type': 'http.response.body', 'body': bytes(chunk),
                        'more_body': True})
        await send({'type': 'http.response.body', 'body': b'', 'more_body': False})

    @staticmethod
    async def _asgi_wait_disconnect(receive):
        while True:
            msg = await receive()
            if msg is None or msg['type'] == 'http.disconnect':
                return

    async def _asgi_websocket(self, scope, receive, send):
        msg = await receive()
        if msg['type'] != 'websocket.connect':
            return
        bridge = _WebSocketBridge(scope, receive, send)
        try:
            headers = _scope_headers(scope)
            # what the handshake looks like over HTTP/1.1, for the WebSocket extension's checks
            headers.setdefault('Upgrade', 'websocket')
            headers.setdefault('Connection', 'Upgrade')
            headers.setdefault('Sec-WebSocket-Version', '13')
            headers.setdefault('Sec-WebSocket-Key', 'AAAAAAAAAAAAAAAAAAAAAA==')
            if 'upgrade' not in headers['Connection'].lower():
                headers['Connection'] = 'Upgrade'
            req = self._request(scope, sock=(bridge, bridge), headers=headers)
        except HTTPException as exc:
            res = Response(status_code=exc.status_code)
        else:
            res = await self.dispatch_request(req)
        try:
            await bridge.flush()
        except OSError:
            pass
        if bridge.closed:
            return
        if bridge.accepted or res is Response.already_handled:
            try:
                await send({'type': 'websocket.close', 'code': 1000})
            except Exception:
                pass
            return
        # not upgraded: answer with the HTTP response where the server allows it
        if 'websocket.http.response' in (scope.get('extensions') or {}):
            res.complete()
            headers = [(k.lower().encode(), str(v).encode()) for k, v in res.headers.items()
                       if k.lower() not in _HOP_BY_HOP and not isinstance(v, list)]
            await send({'type': 'websocket.http.response.start',
                        'status': res.status_code, 'headers': headers})
            body = res.body if isinstance(res.body, (bytes, bytearray)) else b''
            await send({'type': 'websocket.http.response.body', 'body': bytes(body)})
        else:
            await send({'type': 'websocket.close', 'code': 1008})


def __getattr__(name):
    """The names upstream's module re-exports, resolved on first use (PEP 562)."""
    from microdot.hosted import reexported
    return reexported(name)
