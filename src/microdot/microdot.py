"""The framework core: routing, requests, responses and the asyncio HTTP/1.1 server.

Runs unchanged on CPython 3.8+ and MicroPython 1.23+. The request path avoids regular
expressions, reads each request head with as few socket reads as possible and writes
each response in as few calls as possible.
"""
import asyncio
import json
import sys

_MICROPYTHON = sys.implementation.name == 'micropython'

if _MICROPYTHON:
    from time import ticks_ms, ticks_diff

    def _gen():  # pragma: no cover
        yield
    _GEN_TYPE = type(_gen)
    _GENOBJ_TYPE = type(_gen())
    _FUNC_TYPE = type(lambda: None)

    async def _invoke(f, *args, **kwargs):
        t = type(f)
        if t is _GEN_TYPE:
            return await f(*args, **kwargs)
        ret = f(*args, **kwargs)
        if t is not _FUNC_TYPE and type(ret) is _GENOBJ_TYPE:
            # a closure, bound method or callable object that was an async def
            ret = await ret
        return ret

    def _print_exc(exc):
        sys.print_exception(exc)

    def _decode(b):
        """``b.decode()`` that also refuses the overlong forms, surrogates and code points
        past U+10FFFF which MicroPython's decoder lets through (ValueError)."""
        s = b.decode()
        if len(s) != len(b):
            p = 0
            for c in b:
                if c == 0xc0 or c == 0xc1 or c > 0xf4 or (p == 0xe0 and c < 0xa0) or \
                        (p == 0xed and c > 0x9f) or (p == 0xf0 and c < 0x90) or \
                        (p == 0xf4 and c > 0x8f):
                    raise ValueError('bad utf-8')
                p = c
        return s
else:
    from microdot.compat import ticks_ms, ticks_diff, invoke as _invoke, \
        print_exc as _print_exc, decode as _decode

invoke_handler = _invoke

_HEX = b'0123456789abcdefABCDEF'


def urldecode_bytes(s):
    """Decode a percent-encoded byte string (``+`` is a space) to ``str``.

    Raises ``ValueError`` for a broken escape or invalid UTF-8.
    """
    if b'+' in s:
        s = s.replace(b'+', b' ')
    if b'%' not in s:
        return _decode(s)
    parts = s.split(b'%')
    out = bytearray(parts[0])
    for part in parts[1:]:
        if len(part) < 2 or part[0] not in _HEX or part[1] not in _HEX:
            raise ValueError('bad escape')
        out.append(int(part[:2], 16))
        out += part[2:]
    return _decode(bytes(out))


def urldecode_str(s):
    """Decode a percent-encoded ``str``; see :func:`urldecode_bytes`."""
    return urldecode_bytes(s.encode())


def urldecode(s):
    """Decode a percent-encoded ``str`` or ``bytes`` value to ``str``."""
    return urldecode_bytes(s if isinstance(s, bytes) else s.encode())


_MISSING = object()
_JSON_CT = 'application/json'
_JSON_TYPE = {'Content-Type': _JSON_CT}
_JSON_LINE = b'Content-Type: application/json\r\n'
_CANON = {'Content-Type': 'content-type', 'Content-Length': 'content-length',
          'Connection': 'connection'}


class NoCaseDict(dict):
    """A dict whose string keys are looked up without regard to case.

    Keys keep the case they were first stored with. The lower-case index
    (``keymap``) is built on the first lookup that needs it, so a dict that is only
    read with the exact names it holds (request headers, mostly) never builds one.
    """
    keymap = None

    def _map(self):
        km = {}
        for key in list(self):
            if isinstance(key, str):
                low = key.lower()
                old = km.get(low)
                if old is not None:  # the same name in two cases: keep the first
                    super().__setitem__(old, super().__getitem__(old) + ', ' +
                                        super().pop(key))
                    continue
                km[low] = key
        self.keymap = km
        return km

    def _key(self, key):
        if isinstance(key, str):
            km = self.keymap
            if km is None:
                km = self._map()
            return km.get(key.lower(), key)
        return key

    def __setitem__(self, key, value):
        if isinstance(key, str):
            km = self.keymap
            if km is None:
                km = self._map()
            low = key.lower()
            old = km.get(low)
            if old is not None and old != key:
                super().__delitem__(old)
            km[low] = key
        super().__setitem__(key, value)

    def __getitem__(self, key):
        return super().__getitem__(self._key(key))

    def __delitem__(self, key):
        key = self._key(key)
        super().__delitem__(key)
        if isinstance(key, str):
            del self.keymap[key.lower()]

    def __contains__(self, key):
        return super().get(self._key(key), _MISSING) is not _MISSING

    def get(self, key, default=None):
        value = super().get(key, _MISSING)  # the exact name: no index needed
        if value is _MISSING:
            value = super().get(self._key(key), default)
        return value

    def pop(self, key, *default):
        key = self._key(key)
        if isinstance(key, str) and super().get(key, _MISSING) is not _MISSING:
            del self.keymap[key.lower()]
        return super().pop(key, *default)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, other=(), **kwargs):
        for key, value in other.items() if hasattr(other, 'items') else other:
            self[key] = value
        for key, value in kwargs.items():
            self[key] = value


class ConnectionReader:
    """Buffered reader over one client connection, shared by every request on it.

    Bytes read past the end of one request head stay buffered for the body, the next
    request or a protocol upgrade (WebSocket).
    """
    chunk_size = 1024

    def __init__(self, stream):
        self.stream = stream
        self.buf = b''

    async def _fill(self):
        try:
            data = await self.stream.read(self.chunk_size)
        except OSError:
            data = b''
        if not data:
            raise EOFError()
        self.buf = self.buf + data if self.buf else data

    async def read_head(self, max_line, max_lines):
        """Return one request head (without the blank line), or None at a clean EOF."""
        buf = self.buf
        start = 0
        while True:
            if buf:
                end = buf.find(b'\n\r\n', start)
                if end >= 0:
                    end += 3
                else:
                    end = buf.find(b'\n\n', start)
                    if end >= 0:
                        end += 2
                if end >= 0:
                    if buf.count(b'\n', 0, end) > max_lines + 2:
                        raise HTTPException(431)
                    if end == len(buf):  # the usual case: the buffer holds one head
                        head = buf
                        buf = self.buf = b''
                    else:
                        head = buf[:end]
                        buf = self.buf = buf[end:]
                    c = head[0]
                    if c == 13 or c == 10:
                        # tolerate blank lines between pipelined requests (RFC 9112 2.2)
                        head = head.lstrip(b'\r\n')
                        if not head:
                            start = 0
                            continue
                    return head
                # no complete head yet: enforce the limits on what is buffered
                nl = buf.rfind(b'\n')
                if len(buf) - nl - 1 > max_line:
                    raise HTTPException(414 if nl < 0 else 431)
                if buf.count(b'\n') > max_lines + 2:
                    raise HTTPException(431)
                start = max(0, len(buf) - 2)
            try:
                data = await self.stream.read(self.chunk_size)
            except OSError:
                data = b''
            if not data:
                if buf:
                    raise EOFError()
                return None
            buf = self.buf = buf + data if buf else data

    async def read(self, n=-1):
        if not self.buf:
            if n == 0:
                return b''
            try:
                await self._fill()
            except EOFError:
                return b''
        if n < 0 or n >= len(self.buf):
            data, self.buf = self.buf, b''
        else:
            data, self.buf = self.buf[:n], self.buf[n:]
        return data

    async def readexactly(self, n):
        while len(self.buf) < n:
            await self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    async def readline(self, limit=0):
        """Read one line; with ``limit``, a longer line raises HTTPException(400)."""
        while True:
            i = self.buf.find(b'\n')
            if i >= 0:
                return await self.readexactly(i + 1)
            if limit and len(self.buf) > limit:
                raise HTTPException(400)
            try:
                await self._fill()
            except EOFError:
                return await self.read()

    async def readinto(self, buf):
        data = await self.read(len(buf))
        buf[:len(data)] = data
        return len(data)


class _G:
    """Request-scoped storage: set any attribute."""
    pass


def _add_vary(res, names):
    # built as upstream builds it (a set), so the order matches upstream's on MicroPython
    current = res.headers.get('Vary')
    if current:
        vary = set([v.strip() for v in current.split(',')])
        vary.update(names)
        names = vary
    res.headers['Vary'] = ', '.join(list(names))


class HTTPException(Exception):
    """Raise to end the request with an HTTP error status."""
    def __init__(self, status_code, reason=None):
        super().__init__(status_code, reason)
        self.status_code = status_code
        self.reason = reason or Response.reason_for(status_code)


def abort(status_code, reason=None):
    """End the current request with the given HTTP status code."""
    raise HTTPException(status_code, reason)


class Request:
    """An HTTP request, as handed to route functions and hooks."""

    #: Largest request body accepted, in bytes (larger gets 413).
    max_content_length = 16 * 1024
    #: Largest body loaded into :attr:`body`; larger bodies stay on :attr:`stream`.
    max_body_length = 16 * 1024
    #: Longest request line or header line accepted, in bytes.
    max_readline = 2 * 1024
    #: Most header lines accepted in one request (more gets 431).
    max_headers = 32

    # defaults live on the class: each instance attribute set costs time and heap
    scheme = 'http'
    http_version = '1.1'
    url_prefix = ''
    subapp = None
    route = None
    url_args = None
    sock = None
    query_string = None
    after_request_handlers = ()
    _conn = None   # the Connection header, when the client sent one
    body = b''  # the request body (empty when it is larger than max_body_length)
    files = None  # uploaded files, filled in by the multipart extension
    _stream = None
    _g = None
    _args = None
    _cookies = None
    _json = None
    _form = None
    _ct = _MISSING
    _addr = _MISSING
    _url = None

    def __init__(self, app, client_addr, method, url, http_version, headers,
                 body=None, stream=None, sock=None, url_prefix='', subapp=None,
                 scheme=None, route=None):
        self.app = app
        if client_addr is not None:
            self._addr = client_addr
        self.method = method
        if http_version != '1.1':
            self.http_version = http_version
        self.headers = headers
        if scheme:
            self.scheme = scheme
        if sock is not None:
            self.sock = sock
        if url_prefix:
            self.url_prefix = url_prefix
        if subapp is not None:
            self.subapp = subapp
        if route is not None:
            self.route = route
        if body:
            self.body = body
        if stream is not None:
            self._stream = stream
        if '?' in url:
            self.path, _, self.query_string = url.partition('?')
        else:
            self.path = url

    @classmethod
    async def create(cls, app, client_reader, client_writer, client_addr, scheme=None):
        """Read and parse one request from a connection; return it, or None at EOF.

        Raises :class:`HTTPException` with a 4xx status for a malformed request.
        """
        if not isinstance(client_reader, ConnectionReader):
            client_reader = ConnectionReader(client_reader)
        max_line = cls.max_readline
        head = await client_reader.read_head(max_line, cls.max_headers)
        if head is None:
            return None
        try:
            text = _decode(head)
        except ValueError:
            raise HTTPException(400)
        # the head is scanned in place: only the strings a request keeps are made
        if '\r' in text:
            nl = '\r\n'
            n = text.count(nl)
            if text.count('\r') != n or text.count('\n') != n:
                raise HTTPException(400)  # a bare CR or LF inside a CRLF head
        else:
            nl = '\n'
        step = len(nl)
        eol = text.find(nl)
        if eol > max_line:
            raise HTTPException(414)
        i = text.find(' ', 0, eol)
        j = text.find(' ', i + 1, eol) if i > 0 else -1
        if j < 0 or eol - j != 9 or text.find(' ', j + 1, eol) >= 0 or \
                not text.startswith('HTTP/1.', j + 1):
            raise HTTPException(400)
        if text.startswith('1', eol - 1):
            version = '1.1'
        elif text.startswith('0', eol - 1):
            version = '1.0'
        else:
            version = text[j + 6:eol]
        if i == 3 and text.startswith('GET'):
            method = 'GET'
        else:
            method = text[:i]
            if not method.isalpha() or not method.isupper():
                raise HTTPException(400)
        url = text[i + 1:j]
        if not url.startswith('/'):
            if url.startswith('http://') or url.startswith('https://'):
                url = '/' + url.split('/', 3)[3] if url.count('/') >= 3 else '/'
            elif not (url == '*' and method == 'OPTIONS'):
                raise HTTPException(400)
        # a plain dict while parsing: make two strings per header line (name and value);
        # lower-case only the names the server itself needs to recognise (lengths 6, 10,
        # 14 and 17), whatever case they come in
        h = {}
        cl = te = conn = seen = None
        pos = eol + step
        while True:
            end = text.find(nl, pos)
            if end <= pos:  # the blank line that ends the head
                break
            if end - pos > max_line:
                raise HTTPException(431)
            i = text.find(':', pos, end)
            if i <= pos:
                raise HTTPException(400)
            name = text[pos:i]
            if ' ' in name or '\t' in name:
                raise HTTPException(400)
            i += 1
            if text.startswith(' ', i):
                i += 1
            value = text[i:end].strip()  # strip() makes no new string when there is nothing to strip
            pos = end + step
            n = len(name)
            low = None
            if n == 14 or n == 17 or n == 10 or n == 6:
                low = name.lower()
                if low == 'content-length' or low == 'transfer-encoding' or \
                        low == 'connection' or low == 'cookie':
                    if seen is None:
                        seen = {}
                    first = seen.get(low)
                    if first is None:
                        seen[low] = name
                    else:
                        name = first  # a repeat in another case joins the first
                        if low == 'content-length':
                            if h[name] != value:
                                raise HTTPException(400)
                            continue
                else:
                    low = None
            old = h.get(name)
            if old is not None:
                value = old + ('; ' if low == 'cookie' else ', ') + value
            h[name] = value
            if low is not None:
                if low == 'content-length':
                    cl = value
                elif low == 'transfer-encoding':
                    te = value
                elif low == 'connection':
                    conn = value
        headers = NoCaseDict(h)
        length = 0
        if cl is not None:
            if te is not None or not cl or cl.strip('0123456789'):  # ASCII digits only
                raise HTTPException(400)
            length = int(cl)
            if length > cls.max_content_length:
                raise HTTPException(413)
        body = None
        stream = None
        if te is not None:
            if te.lower() != 'chunked':
                raise HTTPException(501)
            from microdot.chunked import read_chunked
            body = await read_chunked(client_reader, cls)
            del headers['Transfer-Encoding']
            headers['Content-Length'] = str(len(body))
        elif length > cls.max_body_length:
            from microdot.streams import BodyStream
            stream = BodyStream(client_reader, length)
        elif length:
            try:
                body = await client_reader.readexactly(length)
            except EOFError:
                raise HTTPException(400)
        req = cls(app, client_addr, method, url, version, headers, body, stream,
                  (client_reader, client_writer), '', None, scheme)
        if conn is not None:
            req._conn = conn
        return req

    @property
    def url(self):
        """The request target as sent: path and query string."""
        url = self._url
        if url is None:
            qs = self.query_string
            url = self.path if qs is None else self.path + '?' + qs
        return url

    @url.setter
    def url(self, value):  # like a plain attribute: path and query string stay as parsed
        self._url = value

    @property
    def client_addr(self):
        """The client's (host, port), or None when the transport does not say."""
        addr = self._addr
        if addr is _MISSING:
            addr = None
            sock = self.sock
            if sock is not None:
                try:
                    addr = sock[1].get_extra_info('peername')
                except Exception:
                    pass
            self._addr = addr
        return addr

    @client_addr.setter
    def client_addr(self, value):
        self._addr = value

    @property
    def content_length(self):
        """The length the client declared for the body (0 without one)."""
        cl = self.headers.get('Content-Length')
        return int(cl) if cl else 0

    @property
    def content_type(self):
        """The ``Content-Type`` header, or None."""
        ct = self._ct
        if ct is _MISSING:
            ct = self._ct = self.headers.get('Content-Type')
        return ct

    @content_type.setter
    def content_type(self, value):
        self._ct = value

    @property
    def stream(self):
        """The request body as an asyncio-style stream."""
        if self._stream is None:
            from microdot.streams import AsyncBytesIO
            self._stream = AsyncBytesIO(self.body)
        return self._stream

    @property
    def g(self):
        if self._g is None:
            self._g = _G()
        return self._g

    @g.setter
    def g(self, value):
        self._g = value

    @property
    def args(self):
        """Query string arguments, as a :class:`MultiDict`."""
        if self._args is None:
            try:
                from microdot.multidict import parse_qs
                self._args = parse_qs(self.query_string)
            except ValueError:
                raise HTTPException(400)
        return self._args

    @property
    def cookies(self):
        """Cookies sent by the client, as a dict."""
        if self._cookies is None:
            cookies = {}
            for item in (self.headers.get('Cookie') or '').split(';'):
                name, eq, value = item.strip().partition('=')
                if eq and name:
                    if len(value) > 1 and value[0] == '"' and value[-1] == '"':
                        value = value[1:-1]
                    cookies[name] = value
            self._cookies = cookies
        return self._cookies

    def _media_type(self):
        ct = self.content_type
        return ct.split(';', 1)[0].strip().lower() if ct else None

    @property
    def json(self):
        """The body parsed as JSON, or None when the content type is not JSON."""
        if self._json is None:
            if self._media_type() != 'application/json':
                return None
            try:
                self._json = json.loads(self.body.decode())
            except (ValueError, RuntimeError):  # RuntimeError: nested too deep
                raise HTTPException(400)
        return self._json

    @property
    def form(self):
        """Form fields of an url-encoded body as a :class:`MultiDict`, else None."""
        if self._form is None:
            if self._media_type() != 'application/x-www-form-urlencoded':
                return None
            try:
                from microdot.multidict import parse_qs
                self._form = parse_qs(_decode(self.body))
            except ValueError:
                raise HTTPException(400)
        return self._form

    def after_request(self, f):
        """Register a hook that runs after this request only; use as a decorator."""
        if not self.after_request_handlers:
            self.after_request_handlers = []
        self.after_request_handlers.append(f)
        return f


class Response:
    """An HTTP response."""

    #: Content type used when a response does not set one.
    default_content_type = 'text/plain'
    #: ``max_age`` used by :meth:`send_file` when none is given (None: no header).
    default_send_file_max_age = None
    #: Size of the buffer used to stream files and large bodies.
    send_file_buffer_size = 1024

    # one string, not a dict: 28 phrases as separate objects cost ~1.7 KB of heap on import
    _reasons = (
        '|200 OK|201 Created|202 Accepted|204 No Content|206 Partial Content'
        '|301 Moved Permanently|302 Found|303 See Other|304 Not Modified'
        '|307 Temporary Redirect|308 Permanent Redirect|400 Bad Request|401 Unauthorized'
        '|403 Forbidden|404 Not Found|405 Method Not Allowed|408 Request Timeout'
        '|409 Conflict|411 Length Required|413 Payload Too Large|414 URI Too Long'
        '|415 Unsupported Media Type|429 Too Many Requests'
        '|431 Request Header Fields Too Large|500 Internal Server Error'
        '|501 Not Implemented|503 Service Unavailable|'
    )

    reason = None
    is_head = False

    def __init__(self, body='', status_code=200, headers=None, reason=None):
        self.status_code = status_code
        if reason is not None:
            self.reason = reason
        if isinstance(body, str):
            self.body = body.encode()
        elif isinstance(body, (dict, list)):
            self.body = json.dumps(body).encode()
            if not headers:
                self.headers = NoCaseDict(_JSON_TYPE)
                return
            headers = self.headers = NoCaseDict(headers)
            if 'Content-Type' not in headers:
                headers['Content-Type'] = _JSON_CT
            return
        elif body is None:
            self.body = b''
        else:
            self.body = body  # bytes, or a generator / file / async iterable
        self.headers = NoCaseDict(headers) if headers else NoCaseDict()

    @classmethod
    def reason_for(cls, status_code):
        """The standard reason phrase for a status code ('OK' or 'Error' if unknown)."""
        table = cls._reasons
        i = table.find('|%d ' % status_code)
        if i < 0:
            return 'OK' if status_code < 400 else 'Error'
        return table[i + 5:table.find('|', i + 5)]

    def set_cookie(self, cookie, value, *args, **kwargs):
        """Add a ``Set-Cookie`` header to the response.

        Options: path, domain, expires (a string, epoch seconds or a datetime), max_age,
        secure, http_only, partitioned, same_site.
        """
        from microdot.cookies import set_cookie
        set_cookie(self.headers, cookie, value, *args, **kwargs)

    def delete_cookie(self, cookie, **kwargs):
        """Tell the client to drop a cookie."""
        kwargs.pop('expires', None)
        kwargs.pop('max_age', None)
        self.set_cookie(cookie, '', expires='Thu, 01 Jan 1970 00:00:01 GMT',
                        max_age=0, **kwargs)

    def complete(self):
        """Fill in the default headers (length and type) before the response is sent."""
        body = self.body
        if isinstance(body, (bytes, bytearray)):
            if 'Content-Length' not in self.headers:
                self.headers['Content-Length'] = str(len(body))
        if 'Content-Type' not in self.headers:
            self.headers['Content-Type'] = self._default_type()

    _status_lines = {}  # status code -> status line (bytes), when there is no custom reason
    _ct_cache = (None, None)  # (default_content_type, its header line as bytes)

    def _default_type(self):
        ct = self.default_content_type
        if ct.startswith('text/') and 'charset' not in ct:
            ct += '; charset=UTF-8'
        return ct

    def _default_type_line(self):
        cache = Response._ct_cache
        if cache[0] is not self.default_content_type:
            line = ('Content-Type: ' + _clean(self._default_type()) + '\r\n').encode()
            cache = Response._ct_cache = (self.default_content_type, line)
        return cache[1]

    async def write(self, stream, keep_alive=False, http_version='1.1'):
        """Send the response; return True if the connection can serve another request."""
        body = self.body
        headers = self.headers
        status = self.status_code
        if self.reason is None:
            line = self._status_lines.get(status)
            if line is None:
                line = ('HTTP/1.1 %d %s\r\n' % (status, _clean(self.reason_for(status)))).encode()
                if len(self._status_lines) < 64:
                    self._status_lines[status] = line
        else:
            line = ('HTTP/1.1 %d %s\r\n' % (status, _clean(self.reason))).encode()
        hdrs = b''
        has_type = has_length = False
        if len(headers) == 1 and headers.get('Content-Type') is _JSON_CT:
            hdrs = _JSON_LINE  # a JSON response's own header: nothing to format
            has_type = True
        elif headers:
            # one pass: format the headers and spot the three the server handles itself;
            # only names of their lengths are lower-cased
            parts = []
            append = parts.append
            for name, value in headers.items():
                n = len(name)
                if n == 12 or n == 14 or n == 10:
                    low = _CANON.get(name) or name.lower()
                    if low == 'content-type':
                        has_type = True
                    elif low == 'content-length':
                        has_length = True
                    elif low == 'connection':  # the server writes its own
                        if str(value).lower() == 'close':
                            keep_alive = False
                        continue
                if '\r' in name or '\n' in name:
                    name = _clean(name)
                for v in (value if isinstance(value, list) else (value,)):
                    if not isinstance(v, str):
                        v = str(v)
                    if '\r' in v or '\n' in v:
                        v = _clean(v)
                    append(name)
                    append(': ')
                    append(v)
                    append('\r\n')
            hdrs = ''.join(parts).encode()
        sized = isinstance(body, (bytes, bytearray))
        no_body = self.is_head or status == 204 or status == 304 or 100 <= status < 200
        chunked = False
        # the defaults complete() would add, without storing them in the headers
        ctype = b'' if has_type else self._default_type_line()
        length = b''
        if not has_length:
            if sized:
                length = b'Content-Length: %d\r\n' % len(body)
            elif not no_body:
                if keep_alive and http_version == '1.1':
                    chunked = True
                    length = b'Transfer-Encoding: chunked\r\n'
                else:
                    keep_alive = False
        if not keep_alive:
            end = b'Connection: close\r\n\r\n'
        elif http_version == '1.0':
            end = b'Connection: keep-alive\r\n\r\n'
        else:
            end = b'\r\n'
        try:
            if sized and not no_body and len(body) <= 1024:
                stream.write(b''.join((line, hdrs, ctype, length, end, body)))
            else:
                stream.write(b''.join((line, hdrs, ctype, length, end)))
                if no_body:
                    pass
                elif sized:
                    stream.write(body)
                else:
                    from microdot.streams import write_body
                    await write_body(self, stream, chunked)
                    if chunked:
                        stream.write(b'0\r\n\r\n')
            await stream.drain()
        finally:
            if not sized:
                self._close_body()
        return keep_alive

    def _close_body(self):
        body = self.body
        close = getattr(body, 'close', None) if not isinstance(body, (bytes, bytearray)) else None
        if close is not None:
            try:
                close()
            except Exception:
                pass

    def body_iter(self):
        """Return the body as an async iterator of byte chunks (used by adapters)."""
        from microdot.streams import BodyIter
        return BodyIter(self)

    @classmethod
    def redirect(cls, location, status_code=302):
        """Return a redirect response to ``location``."""
        if '\r' in location or '\n' in location:
            raise ValueError('invalid location')
        return cls(status_code=status_code, headers={'Location': location})

    @classmethod
    def send_file(cls, filename, *args, **kwargs):
        """Return a response that streams a file (or ``stream=``) to the client.

        Arguments: status_code=200, content_type=None, stream=None, max_age=None,
        compressed=False, file_extension=''.
        """
        from microdot.sendfile import send_file
        return send_file(cls, filename, *args, **kwargs)


def _clean(value):
    """Keep CR and LF out of a response head."""
    if '\r' in value or '\n' in value:
        return value.replace('\r', '').replace('\n', '')
    return value


redirect = Response.redirect
send_file = Response.send_file
Response.already_handled = Response()  # returned by handlers that wrote to the socket


class URLPattern:
    """A route's URL pattern, e.g. ``/users/<int:id>``, matched without regex when possible."""

    #: name -> (regex pattern or None, parser)
    segment_types = {
        'string': (None, None),
        'int': (None, None),
        'path': (None, None),
    }

    regex = None  # compiled regex, for patterns the segment matcher cannot handle

    def __init__(self, url_pattern):
        self.url_pattern = url_pattern
        self.compile()

    @classmethod
    def register_type(cls, type_name, pattern=None, parser=None):
        """Register a custom segment type ``<type_name:arg>``."""
        cls.segment_types[type_name] = (pattern, parser)

    def compile(self):
        """Split the pattern into (literal or None, name, type, regex) per segment."""
        segs = []
        literal = True
        needs_re = False
        for seg in self.url_pattern.lstrip('/').split('/'):
            if seg.startswith('<') and seg.endswith('>') and len(seg) > 2:
                literal = False
                spec = seg[1:-1]
                if spec.startswith('re:'):
                    regex, _, name = spec[3:].rpartition(':')
                    type_name = 're'
                else:
                    type_name, _, name = spec.partition(':')
                    if not name:
                        type_name, name = 'string', type_name
                    if type_name not in self.segment_types:
                        raise ValueError('bad url type ' + type_name)
                    regex = self.segment_types[type_name][0]
                if regex is not None or (segs and segs[-1][2] == 'path'):
                    needs_re = True
                segs.append((None, name, type_name, regex))
            elif '<' in seg:
                raise ValueError('bad url segment ' + seg)
            else:
                if segs and segs[-1][2] == 'path':
                    needs_re = True
                segs.append((seg, None, None, None))
        self.literal = literal
        self.segments = segs
        if needs_re:
            from microdot.urlregex import compile_pattern
            self.regex, self.names, self.parsers = compile_pattern(segs)

    def _convert(self, type_name, value):
        """Return the value converted for its type, or None if it does not match."""
        if type_name == 'string' or type_name == 'path' or type_name == 're':
            return urldecode_str(value) if '%' in value else value
        if type_name == 'int':
            v = value[1:] if value.startswith('-') else value
            return int(value) if v.isdigit() else None
        parser = self.segment_types[type_name][1]
        if '%' in value:
            value = urldecode_str(value)
        return parser(value) if parser else value

    def match(self, path):
        """Return a dict of the URL arguments if ``path`` matches, else None."""
        if self.regex is not None:
            m = self.regex.match(path)
            if m is None:
                return None
            args = {}
            for i, name in enumerate(self.names):
                value = self._convert(self.parsers[i], m.group(i + 1))
                if value is None:
                    return None
                args[name] = value
            return args
        parts = path.lstrip('/').split('/')
        segs = self.segments
        if len(parts) < len(segs):
            return None
        args = {}
        for i, (lit, name, type_name, _) in enumerate(segs):
            if lit is not None:
                if parts[i] != lit:
                    return None
                continue
            if type_name == 'path':
                value = '/'.join(parts[i:])
                if not value:
                    return None
                args[name] = self._convert('path', value)
                return args
            value = parts[i]
            if not value:
                return None
            value = self._convert(type_name, value)
            if value is None:
                return None
            args[name] = value
        if len(parts) != len(segs):
            return None
        return args


class _Route:
    def __init__(self, methods, pattern, handler, url_prefix='', subapp=None):
        self.methods = methods
        self.pattern = pattern
        self.handler = handler
        self.url_prefix = url_prefix
        self.subapp = subapp


class Microdot:
    """An application: routes, hooks and the web server that serves them."""

    #: Most client connections served at once; more get a 503 and are closed.
    max_connections = 16
    #: Seconds a client has to send a complete request (head and body).
    request_timeout = 10
    #: Seconds an idle keep-alive connection is kept open.
    keepalive_timeout = 5
    #: Seconds one write of a response may wait for a client that does not read.
    send_timeout = 10
    #: Requests served on one connection before it is closed.
    max_keepalive_requests = 100
    #: Pending connections the listening socket queues.
    backlog = 16

    def __init__(self):
        self.url_map = []
        self._literal = {}
        self._dynamic = []
        self.before_request_handlers = []
        self.after_request_handlers = []
        self.after_error_request_handlers = []
        self.error_handlers = {}
        self.local_mounts = {}
        self.shutdown_requested = False
        self.options_handler = self.default_options_handler
        self.debug = False
        self.ssl = None
        self.server = None
        self._conns = {}
        self._stop = None
        self._loop = None

    # -- routing -----------------------------------------------------------

    def _add_route(self, methods, url_pattern, handler, url_prefix='', subapp=None):
        route = _Route(methods, URLPattern(url_pattern), handler, url_prefix, subapp)
        self.url_map.append(route)
        if route.pattern.literal:
            self._literal.setdefault(url_pattern, []).append(route)
        else:
            self._dynamic.append(route)
        return route

    def route(self, url_pattern, methods=None):
        """Decorator that registers a function for a URL pattern and methods."""
        def decorated(f):
            self._add_route(tuple(m.upper() for m in (methods or ['GET'])), url_pattern, f)
            return f
        return decorated

    def get(self, url_pattern):
        return self.route(url_pattern, methods=['GET'])

    def post(self, url_pattern):
        return self.route(url_pattern, methods=['POST'])

    def put(self, url_pattern):
        return self.route(url_pattern, methods=['PUT'])

    def patch(self, url_pattern):
        return self.route(url_pattern, methods=['PATCH'])

    def delete(self, url_pattern):
        return self.route(url_pattern, methods=['DELETE'])

    def query(self, url_pattern):
        """Register a handler for the HTTP QUERY method."""
        return self.route(url_pattern, methods=['QUERY'])

    def before_request(self, f):
        """Register a hook run before each request; a returned value is the response."""
        self.before_request_handlers.append(f)
        return f

    def after_request(self, f):
        """Register a hook run after each successful request: ``f(request, response)``."""
        self.after_request_handlers.append(f)
        return f

    def after_error_request(self, f):
        """Register a hook run after each error response: ``f(request, response)``."""
        self.after_error_request_handlers.append(f)
        return f

    def errorhandler(self, status_code_or_exception_class):
        """Register a handler for an HTTP status code or an exception class."""
        def decorated(f):
            self.error_handlers[status_code_or_exception_class] = f
            return f
        return decorated

    def mount(self, subapp, url_prefix='', local=False):
        """Add the routes of another application under ``url_prefix``.

        With ``local=False`` the sub-application's hooks and error handlers are
        added to this application; with ``local=True`` they only apply to its routes.
        """
        for route in subapp.url_map:
            owner = route.subapp if route.subapp is not None else subapp
            self._add_route(route.methods, url_prefix + route.pattern.url_pattern,
                            route.handler, url_prefix + route.url_prefix, owner)
        if local:
            self.local_mounts[id(subapp)] = subapp
            for key, sub in subapp.local_mounts.items():
                self.local_mounts[key] = sub
        else:
            self.before_request_handlers += subapp.before_request_handlers
            self.after_request_handlers += subapp.after_request_handlers
            self.after_error_request_handlers += subapp.after_error_request_handlers
            for key, handler in subapp.error_handlers.items():
                self.error_handlers[key] = handler
            for key, sub in subapp.local_mounts.items():
                self.local_mounts[key] = sub

    @staticmethod
    def abort(status_code, reason=None):
        raise HTTPException(status_code, reason)

    def find_route(self, req):
        """Return (route, url_args), or raise HTTPException(404/405)."""
        method = 'GET' if req.method == 'HEAD' else req.method
        path = req.path
        allowed = None
        candidates = self._literal.get(path)
        if candidates is None and '%' in path:
            try:
                candidates = self._literal.get(urldecode_str(path))
            except ValueError:
                raise HTTPException(400)
        if candidates:
            for route in candidates:
                if method in route.methods:
                    return route, {}
            allowed = []
            for route in candidates:
                allowed += route.methods
        for route in self._dynamic:
            try:
                args = route.pattern.match(path)
            except ValueError:
                raise HTTPException(400)
            if args is None:
                continue
            if method in route.methods:
                return route, args
            if allowed is None:
                allowed = []
            allowed += route.methods
        if allowed is None:
            raise HTTPException(404)
        exc = HTTPException(405)
        exc.allowed = allowed
        raise exc

    def allowed_methods(self, path):
        """The methods that some route accepts for ``path``."""
        allowed = []
        for route in self._literal.get(path, ()):
            allowed += route.methods
        for route in self._dynamic:
            try:
                if route.pattern.match(path) is not None:
                    allowed += route.methods
            except ValueError:
                pass
        return allowed

    def default_options_handler(self, req):
        """Headers for an automatic OPTIONS response."""
        allowed = self.allowed_methods(req.path)
        methods = []
        for m in allowed + ['OPTIONS'] + (['HEAD'] if 'GET' in allowed else []):
            if m not in methods:
                methods.append(m)
        return {'Allow': ', '.join(methods)}

    # -- request handling --------------------------------------------------

    def _hooks(self, req, name):
        handlers = getattr(self, name)
        sub = req.subapp
        if sub is not None and id(sub) in self.local_mounts and sub is not self:
            handlers = handlers + getattr(sub, name)
        return handlers

    def _find_error_handler(self, req, key):
        apps = [self]
        sub = req.subapp
        if sub is not None and id(sub) in self.local_mounts:
            apps.insert(0, sub)
        if isinstance(key, int):
            for app in apps:
                if key in app.error_handlers:
                    return app.error_handlers[key]
            return None
        queue = [type(key)]
        while queue:
            cls = queue.pop(0)
            for app in apps:
                if cls in app.error_handlers:
                    return app.error_handlers[cls]
            queue += list(getattr(cls, '__bases__', ()))
        return None

    @staticmethod
    def make_response(res):
        """Turn a handler's return value into a :class:`Response`."""
        if isinstance(res, Response):
            return res
        if isinstance(res, int):
            return Response('', res)
        if isinstance(res, tuple):
            body = res[0]
            if isinstance(body, int) and len(res) == 1:
                return Response('', body)
            status = 200
            headers = None
            for extra in res[1:]:
                if isinstance(extra, int):
                    status = extra
                elif isinstance(extra, dict):
                    headers = extra
            if isinstance(body, Response):
                body.status_code = status
                if headers:
                    body.headers.update(headers)
                return body
            return Response(body, status, headers)
        return Response(res)

    async def dispatch_request(self, req):
        """Run the hooks and the route for a parsed request; always return a Response."""
        error = False
        try:
            try:
                route, args = self.find_route(req)
            except HTTPException as exc:
                if req.method != 'OPTIONS' or exc.status_code != 405:
                    raise
                route = None
            if route is None:  # automatic OPTIONS
                res = Response(headers=self.options_handler(req))
            else:
                req.url_args = args
                handler = req.route = route.handler
                if route.url_prefix:
                    req.url_prefix = route.url_prefix
                if route.subapp is not None:
                    req.subapp = route.subapp
                res = None
                for hook in self._hooks(req, 'before_request_handlers'):
                    res = await _invoke(hook, req)
                    if res is not None:
                        break
                if res is None:
                    if _MICROPYTHON and type(handler) is _GEN_TYPE:  # async def: no wrapper
                        res = await (handler(req, **args) if args else handler(req))
                    else:
                        res = await _invoke(handler, req, **args)
                res = self.make_response(res)
            hooks = self._hooks(req, 'after_request_handlers')
            if req.after_request_handlers:
                hooks = hooks + req.after_request_handlers
            for hook in hooks:
                new = await _invoke(hook, req, res)
                if new is not None:
                    res = self.make_response(new)
        except HTTPException as exc:
            error = True
            res = await self._error_response(req, exc.status_code, exc)
        except Exception as exc:
            error = True
            handler = self._find_error_handler(req, exc)
            res = None
            if handler is not None:
                try:
                    res = self.make_response(await _invoke(handler, req, exc))
                except Exception as exc2:
                    exc = exc2
            if res is None:
                if self.debug:
                    _print_exc(exc)
                res = await self._error_response(req, 500, None)
        if error:
            for hook in self._hooks(req, 'after_error_request_handlers'):
                try:
                    new = await _invoke(hook, req, res)
                except Exception as exc:
                    if self.debug:
                        _print_exc(exc)
                    continue
                if new is not None:
                    res = self.make_response(new)
        g = req._g
        if g is not None and getattr(g, '_vary', None):
            # extensions (CORS, CSRF, sessions) name the request headers they read
            _add_vary(res, g._vary)
        return res

    async def _error_response(self, req, status, exc):
        handler = self._find_error_handler(req, status)
        if handler is not None:
            try:
                return self.make_response(await _invoke(handler, req))
            except Exception as exc2:
                if self.debug:
                    _print_exc(exc2)
                status = 500
        res = Response(exc.reason if exc is not None else Response.reason_for(status), status)
        if status == 405 and exc is not None and getattr(exc, 'allowed', None):
            res.headers['Allow'] = ', '.join(exc.allowed)
        return res

    async def handle_request(self, reader, writer):
        """Serve every request of one client connection (the asyncio server callback)."""
        conns = self._conns
        try:
            task = asyncio.current_task()
        except (AttributeError, RuntimeError):  # pragma: no cover
            task = None
        key = task if task is not None else writer
        try:
            if len(conns) >= self.max_connections:  # (key is not in conns: pop() is a no-op)
                writer.write(b'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n'
                             b'Connection: close\r\nRetry-After: 1\r\n\r\n')
                await writer.drain()
                await self._linger(reader)
                return
            conns[key] = ticks_ms() + int(self.request_timeout * 1000)
            send_ms = int(self.send_timeout * 1000)
            idle_ms = int(self.keepalive_timeout * 1000)
            addr = None  # Request.client_addr asks the writer when someone wants it
            scheme = 'https' if self.ssl else None
            conn = ConnectionReader(reader)
            served = 0
            while True:
                try:
                    req = await Request.create(self, conn, writer, addr, scheme)
                except HTTPException as exc:
                    res = await self._error_response(
                        Request(self, addr, 'GET', '/', '1.0', NoCaseDict()), exc.status_code, exc)
                    await res.write(writer, keep_alive=False)
                    await self._linger(reader)
                    break
                except EOFError:
                    break
                if req is None:
                    break
                conns[key] = None  # the handler may take as long as it likes
                served += 1
                res = await self.dispatch_request(req)
                if res is Response.already_handled:
                    break
                conn_hdr = req._conn
                if conn_hdr is None:
                    keep = req.http_version == '1.1'
                else:
                    conn_hdr = conn_hdr.lower()
                    keep = (req.http_version == '1.1' and conn_hdr != 'close') or \
                        (req.http_version == '1.0' and conn_hdr == 'keep-alive')
                if served >= self.max_keepalive_requests or self.shutdown_requested:
                    keep = False
                unread = getattr(req._stream, 'remaining', 0)
                if unread:
                    keep = False  # unread body bytes: the connection cannot be reused
                if req.method == 'HEAD':
                    res.is_head = True
                out = writer
                if isinstance(res.body, (bytes, bytearray)):
                    conns[key] = ticks_ms() + send_ms
                else:  # a stream: the deadline covers each wait for the client, not the body
                    from microdot.streams import Sender
                    out = Sender(writer, conns, key, send_ms)
                keep = await res.write(out, keep_alive=keep, http_version=req.http_version)
                if self.debug:
                    print('%s %s %d' % (req.method, req.path, res.status_code))
                if not keep:
                    if unread or conn.buf:  # input left over: avoid a reset that eats the reply
                        await self._linger(reader)
                    break
                conns[key] = ticks_ms() + idle_ms
                req = res = None  # an idle connection keeps nothing of its last request alive
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # a client that went away mid-response
            if self.debug:
                _print_exc(exc)
        finally:
            conns.pop(key, None)
            try:
                writer.close()
                await writer.wait_closed()
            except Exception:
                pass

    @staticmethod
    async def _linger(reader):
        """Briefly read and drop what the client still sends before an early close.

        Closing a socket with unread input makes the kernel reset the connection,
        and the client may then lose the error response it was sent.
        """
        try:
            for _ in range(16):
                if not await asyncio.wait_for(reader.read(1024), 0.1):
                    break
        except Exception:
            pass

    async def _watchdog(self):
        """Cancel connections that are past their deadline for sending a request."""
        period = max(0.05, min(1, self.request_timeout / 4, self.keepalive_timeout / 4,
                               self.send_timeout / 4))
        while True:
            await asyncio.sleep(period)
            self._expire(ticks_ms())

    def _expire(self, now):
        # a plain function, so that no reference to the last connection task seen stays in
        # the watchdog's frame while it sleeps (that kept a finished connection's request,
        # response and buffers alive)
        conns = self._conns
        for key, deadline in list(conns.items()):
            if deadline is not None and ticks_diff(now, deadline) > 0:
                conns.pop(key, None)
                if hasattr(key, 'cancel'):
                    key.cancel()

    # -- server ------------------------------------------------------------

    async def start_server(self, host='0.0.0.0', port=5000, debug=False, ssl=None):
        """Start the web server as a coroutine; returns after :meth:`shutdown`."""
        self.debug = debug
        self.ssl = ssl
        self.shutdown_requested = False
        self._stop = asyncio.Event()
        if not _MICROPYTHON:
            self._loop = asyncio.get_running_loop()

        serve = self.handle_request
        if ssl:
            self.server = await asyncio.start_server(serve, host, port, backlog=self.backlog,
                                                     ssl=ssl)
        else:
            self.server = await asyncio.start_server(serve, host, port, backlog=self.backlog)
        if debug:
            print('Starting async server on %s:%d...' % (host, port))
        watchdog = asyncio.create_task(self._watchdog())
        try:
            await self._stop.wait()
        finally:
            self.server.close()
            # idle connections are waiting for a request: end them now
            for key, deadline in list(self._conns.items()):
                if deadline is not None and hasattr(key, 'cancel'):
                    key.cancel()
            for _ in range(100):
                if not self._conns:
                    break
                await asyncio.sleep(0.05)
            watchdog.cancel()
            try:
                await self.server.wait_closed()
            except Exception:  # pragma: no cover
                pass
            self.server = None

    def run(self, host='0.0.0.0', port=5000, debug=False, ssl=None):
        """Start the web server and block until :meth:`shutdown` or Ctrl-C."""
        try:
            asyncio.run(self.start_server(host=host, port=port, debug=debug, ssl=ssl))
        except KeyboardInterrupt:
            pass

    def shutdown(self):
        """Stop the server once the current requests are complete."""
        self.shutdown_requested = True
        stop = self._stop
        if stop is None:
            return
        if self._loop is not None:
            self._loop.call_soon_threadsafe(stop.set)
        else:
            stop.set()


def __getattr__(name):
    """Upstream's module-level names the core itself does not use, made on first use
    (PEP 562), so importing the core costs no heap for them."""
    if name == 'MultiDict' or name == 'urlencode':
        return getattr(__import__('microdot.multidict', None, None, [name]), name)
    if name == 'AsyncBytesIO':
        from microdot.streams import AsyncBytesIO
        return AsyncBytesIO
    if name == 'MUTED_SOCKET_ERRORS':
        return [32, 54, 104, 128]  # EPIPE, ECONNRESET (BSD, Linux), closed socket
    if name == 'mro':
        return _mro
    if name == 'print_exception':
        return _print_exc
    if name == 'iscoroutine' or name == 'iscoroutinefunction':
        try:
            import inspect
            return getattr(inspect, name)
        except ImportError:  # MicroPython
            pass
        if name == 'iscoroutine':
            return lambda obj: hasattr(obj, 'send') and hasattr(obj, 'throw')
        return lambda f: type(f) is _GEN_TYPE
    raise AttributeError(name)
