"""WebSocket support (RFC 6455) for route handlers.

Usage::

    from microdot.websocket import with_websocket

    @app.route('/echo')
    @with_websocket
    async def echo(request, ws):
        while True:
            msg = await ws.receive()      # str (text frame) or bytes (binary frame)
            await ws.send(msg)            # str -> text frame, bytes -> binary frame

When the client goes away (close frame or dropped connection) ``receive()`` raises
:class:`WebSocketError`; the decorator catches it, so the handler just ends. Put
clean-up code in a ``finally:`` block. Returning from the handler closes the
connection (a close frame without a status code, as upstream sends).

Limits and checks:

- ``WebSocket.max_message_length``: largest message accepted (all fragments together).
  ``-1`` (default) uses ``Request.max_body_length`` (16 KB), ``0`` means no limit.
  A larger message closes the connection with code 1009.
- Reserved bits must be clear and control frames short: otherwise the connection is
  closed with code 1002 (unmasked client frames are accepted, as upstream does). Invalid UTF-8 in a text message
  closes it with 1007.
- ``WebSocket.allowed_origins``: ``None`` (default) accepts any ``Origin``; a list of
  origins (e.g. ``['http://192.168.4.1']``) rejects a browser whose ``Origin`` header
  is not in it with 403 before the upgrade (browsers do not apply CORS or CSRF rules
  to WebSocket upgrades). The decorator takes the same option per route:
  ``@with_websocket(allowed_origins=[...])``. Requests without ``Origin`` (non-browser
  clients) are accepted.
- A handshake without ``Connection: upgrade``, ``Upgrade: websocket`` or a
  ``Sec-WebSocket-Key`` gets 400 (the app's error body, as for ``abort(400)``).
"""
try:
    from micropython import const
except ImportError:  # CPython
    def const(value):
        return value

import asyncio
import binascii
import hashlib
import sys

from microdot.base import HTTPException, invoke_handler
from microdot.microdot import Request, Response
from microdot.helpers import wraps

_GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


class WebSocketError(Exception):
    """The WebSocket connection was closed or broke the protocol."""
    pass


_MASK_STEP = const(512)  # bytes XORed as one big integer


def _mask(data, key):
    """XOR ``data`` with the 4-byte masking ``key`` (same operation masks and unmasks)."""
    n = len(data)
    if not n:
        return b''
    if n < 16:
        out = bytearray(data)
        for i in range(n):
            out[i] ^= key[i & 3]
        return bytes(out)
    if n <= _MASK_STEP:
        k = key * (n // 4 + 1)
        # one big-integer XOR is much faster than a byte loop on both runtimes
        return (int.from_bytes(data, 'big') ^ int.from_bytes(k[:n], 'big')).to_bytes(n, 'big')
    # a large message a slice at a time, so the temporary integers stay small (a
    # fragmented heap may have no room for several copies of a 50 KB payload)
    out = bytearray(n)
    full = int.from_bytes(key * (_MASK_STEP // 4), 'big')
    for i in range(0, n, _MASK_STEP):
        part = data[i:i + _MASK_STEP]
        m = len(part)
        k = full if m == _MASK_STEP else int.from_bytes((key * (m // 4 + 1))[:m], 'big')
        out[i:i + m] = (int.from_bytes(part, 'big') ^ k).to_bytes(m, 'big')
    return bytes(out)


def _close_payload(code, reason=''):
    return bytes((code >> 8, code & 0xff)) + (reason.encode() if reason else b'')


# RFC 6455 frame opcodes
_OP_CONT = const(0x0)
_OP_TEXT = const(0x1)
_OP_BINARY = const(0x2)
_OP_CLOSE = const(0x8)
_OP_PING = const(0x9)
_OP_PONG = const(0xA)


class WebSocket:
    """One WebSocket connection, handed to a ``@with_websocket`` handler."""
    CONT, TEXT, BINARY = _OP_CONT, _OP_TEXT, _OP_BINARY  # data frames
    CLOSE, PING, PONG = _OP_CLOSE, _OP_PING, _OP_PONG    # control frames

    #: Largest message (bytes, all fragments) ``receive()`` accepts; -1: use
    #: ``Request.max_body_length``; 0: unlimited. Larger messages close with 1009.
    max_message_length = -1
    #: None (any origin) or a list of allowed ``Origin`` header values.
    allowed_origins = None

    def __init__(self, request):
        self.request = request
        self.reader, self.writer = request.sock if request is not None else (None, None)
        self.closed = False        # a close frame was sent (no more sends)
        self.close_code = None     # code of the close frame received from the client
        self._lock = asyncio.Lock()

    # -- handshake -------------------------------------------------------

    @staticmethod
    def accept_key(key):
        """The ``Sec-WebSocket-Accept`` value for a ``Sec-WebSocket-Key``."""
        if isinstance(key, str):
            key = key.encode()
        return binascii.b2a_base64(hashlib.sha1(key + _GUID).digest()).strip().decode()

    @classmethod
    def check_request(cls, request, allowed_origins=None):
        """Raise HTTPException for a request that cannot be upgraded.

        As upstream: ``Connection`` must mention ``upgrade``, ``Upgrade`` must be
        ``websocket`` and ``Sec-WebSocket-Key`` must be there (400 otherwise). With
        ``allowed_origins`` (or the class attribute) a browser ``Origin`` that is not
        listed gets 403.
        """
        if allowed_origins is None:
            allowed_origins = cls.allowed_origins
        connection = upgrade = key = None
        for name, value in request.headers.items():
            name = name.lower()
            if name == 'connection':
                connection = 'upgrade' in value.lower()
            elif name == 'upgrade':
                upgrade = value.lower() == 'websocket'
            elif name == 'sec-websocket-key':
                key = value
            elif name == 'origin' and allowed_origins is not None and \
                    value.rstrip('/') not in [o.rstrip('/') for o in allowed_origins]:
                raise HTTPException(403)
        if not connection or not upgrade or not key:
            raise HTTPException(400)

    async def handshake(self):
        """Send the ``101 Switching Protocols`` response; HTTPException(503) when the
        server's long-lived connections already hold their share of its slots."""
        hold = getattr(self.request.app, '_hold', None)
        if hold is not None and not hold():
            raise HTTPException(503, 'Service unavailable')
        accept = self.accept_key(self.request.headers['Sec-WebSocket-Key'])
        await self._raw_write(('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
                               'Connection: Upgrade\r\nSec-WebSocket-Accept: ' + accept +
                               '\r\n\r\n').encode())

    async def _raw_write(self, data):
        writer = self.writer
        awrite = getattr(writer, 'awrite', None)
        if awrite is not None:  # MicroPython streams and upstream-style test sockets
            await awrite(data)
        else:
            writer.write(data)
            await writer.drain()

    # -- frames ----------------------------------------------------------

    @staticmethod
    def encode_frame(opcode, payload, fin=True, mask=None):
        """Build one frame; ``mask`` is a 4-byte key (clients) or None (servers)."""
        n = len(payload)
        b0 = (0x80 if fin else 0) | opcode
        mbit = 0x80 if mask else 0
        if n < 126:
            head = bytes((b0, mbit | n))
        elif n < 65536:
            head = bytes((b0, mbit | 126, n >> 8, n & 0xff))
        else:
            head = bytes((b0, mbit | 127)) + n.to_bytes(8, 'big')
        if mask:
            return head + mask + _mask(payload, mask)
        return head + payload

    async def _write(self, frame):
        async with self._lock:
            try:
                await self._raw_write(frame)
            except (OSError, EOFError):
                self.closed = True
                raise WebSocketError('connection lost')

    async def _fail(self, code, reason):
        """Close the connection with ``code`` and raise WebSocketError."""
        try:
            await self.close(code)
        except Exception:
            pass
        raise WebSocketError(reason)

    async def _read_frame(self):
        """Return (fin, opcode, payload) of the next client frame."""
        read = self.reader.readexactly
        try:
            b0, b1 = await read(2)
            n = b1 & 0x7f
            if n == 126:
                n = int.from_bytes(await read(2), 'big')
            elif n == 127:
                n = int.from_bytes(await read(8), 'big')
            opcode = b0 & 0x0f
            if b0 & 0x70 or n > 0x7fffffffffffffff or \
                    (opcode >= 8 and (n > 125 or not b0 & 0x80)) or \
                    opcode in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
                await self._fail(1002, 'protocol error')
            if opcode < 8:
                limit = self.max_message_length
                if limit < 0:
                    limit = Request.max_body_length
                if limit and n + self._partial_len > limit:
                    await self._fail(1009, 'message too big')
            key = await read(4) if b1 & 0x80 else None  # (upstream accepts unmasked frames)
            payload = await read(n) if n else b''
        except (EOFError, OSError):
            self.closed = True
            raise WebSocketError('connection lost')
        return b0 & 0x80, opcode, _mask(payload, key) if key else payload

    _partial_len = 0

    async def receive(self):
        """Return the next message: ``str`` for text, ``bytes`` for binary.

        Answers pings, reassembles fragments. Raises :class:`WebSocketError`
        when the connection is closed.
        """
        parts = []
        msg_opcode = None
        self._partial_len = 0
        while True:
            fin, opcode, payload = await self._read_frame()
            if opcode == self.PING:
                if not self.closed:
                    await self._write(self.encode_frame(self.PONG, payload))
                continue
            if opcode == self.PONG:
                continue
            if opcode == self.CLOSE:
                code = 1005
                if len(payload) >= 2:
                    code = (payload[0] << 8) | payload[1]
                elif len(payload) == 1:
                    code = 1002
                self.close_code = code
                if not self.closed:
                    try:
                        await self.close()
                    except Exception:
                        pass
                raise WebSocketError('connection closed')
            if opcode == self.CONT:
                if msg_opcode is None:
                    await self._fail(1002, 'protocol error')
            elif msg_opcode is not None:
                await self._fail(1002, 'protocol error')
            else:
                msg_opcode = opcode
            parts.append(payload)
            self._partial_len += len(payload)
            if fin:
                break
        self._partial_len = 0
        data = parts[0] if len(parts) == 1 else b''.join(parts)
        if msg_opcode == self.TEXT:
            try:
                return data.decode()
            except ValueError:
                await self._fail(1007, 'invalid utf-8')
        return data

    async def send(self, data, opcode=None):
        """Send a message: ``str`` as a text frame, ``bytes`` as a binary frame."""
        if self.closed:
            raise WebSocketError('connection closed')
        if opcode is None:
            opcode = self.TEXT if isinstance(data, str) else self.BINARY
        if isinstance(data, str):
            data = data.encode()
        await self._write(self.encode_frame(opcode, bytes(data)))

    # upstream's frame helpers, for code and tests written against them
    def _process_websocket_frame(self, opcode, payload):
        """(opcode to answer with or None, message or None) for one received frame."""
        if opcode == self.TEXT:
            return None, payload.decode()
        if opcode == self.CLOSE:
            raise WebSocketError('Websocket connection closed')
        if opcode == self.PING:
            return self.PONG, payload
        if opcode == self.PONG:
            return None, None
        return None, payload

    @classmethod
    def _encode_websocket_frame(cls, opcode, payload):
        if isinstance(payload, str):
            payload = payload.encode()
        return bytearray(cls.encode_frame(opcode, bytes(payload)))

    @classmethod
    def _parse_frame_header(cls, header):
        """(fin, opcode, has_mask, length) of a 2-byte frame header; length -2 or -8
        means a 16- or 64-bit length follows."""
        fin = header[0] & 0x80
        opcode = header[0] & 0x0f
        if not fin or opcode == cls.CONT:
            raise WebSocketError('Continuation frames not supported')
        length = header[1] & 0x7f
        return fin, opcode, header[1] & 0x80, -2 if length == 126 else \
            -8 if length == 127 else length

    async def ping(self, data=b''):
        """Send a ping frame (the client answers with a pong)."""
        await self.send(data, self.PING)

    async def close(self, code=None, reason=''):
        """Send a close frame (once; without a status code unless ``code`` is given, as
        upstream's); the connection ends when the handler returns."""
        if not self.closed:
            frame = self.encode_frame(self.CLOSE, b'' if code is None else
                                      _close_payload(code, reason))
            await self._write(frame)
            self.closed = True


async def websocket_upgrade(request, allowed_origins=None):
    """Upgrade the connection of ``request`` and return its :class:`WebSocket`.

    For handlers that decide themselves whether to upgrade; raises HTTPException
    (400/403/426) when the request is not a valid WebSocket handshake.
    """
    WebSocket.check_request(request, allowed_origins)
    ws = WebSocket(request)
    await ws.handshake()

    @request.after_request
    def _handled(req, res):
        return Response.already_handled

    return ws


def _print_exc(exc):
    if hasattr(sys, 'print_exception'):
        sys.print_exception(exc)
    else:
        import traceback
        traceback.print_exception(type(exc), exc, exc.__traceback__)


def websocket_wrapper(f, upgrade_function):
    """A route handler that gets its WebSocket from ``await upgrade_function(request)``
    and runs ``f(request, ws, **url_args)`` on it (``with_websocket`` is this with the
    standard upgrade; upstream's building block for custom ones)."""
    @wraps(f)
    async def handler(request, *args, **kwargs):
        ws = await upgrade_function(request)
        try:
            await invoke_handler(f, request, ws, *args, **kwargs)
        except (WebSocketError, OSError, EOFError):
            pass  # the client went away
        except Exception as exc:
            if getattr(request.app, 'debug', False):
                _print_exc(exc)
            try:
                await ws.close(1011)
            except Exception:
                pass
        finally:
            try:
                await ws.close()
            except Exception:
                pass
        return Response.already_handled
    return handler


def _wrap(f, allowed_origins):
    async def upgrade(request):
        WebSocket.check_request(request, allowed_origins)
        ws = WebSocket(request)
        await ws.handshake()
        return ws
    return websocket_wrapper(f, upgrade)


def with_websocket(f=None, allowed_origins=None):
    """Decorator: the route handler becomes ``f(request, ws, **url_args)``.

    Use bare (``@with_websocket``) or with options
    (``@with_websocket(allowed_origins=['http://example.com'])``).
    """
    if f is None:
        return lambda g: _wrap(g, allowed_origins)
    return _wrap(f, allowed_origins)


def __getattr__(name):
    """Upstream's module-level names this extension does not use itself, made on first use
    (PEP 562), so importing it costs no heap for them."""
    if name == 'MUTED_SOCKET_ERRORS':
        from microdot.microdot import MUTED_SOCKET_ERRORS
        return MUTED_SOCKET_ERRORS
    if name == 'print_exception':
        return _print_exc
    raise AttributeError(name)
