"""The framework core: routing, requests, responses and the asyncio HTTP/1.1 server.

Runs unchanged on CPython 3.8+ and MicroPython 1.23+. The request path avoids regular
expressions, reads each request head with as few socket reads as possible and writes
each response in as few calls as possible.
"""
import asyncio
import json

from microdot.base import _MICROPYTHON, ticks_ms, ticks_diff, _GEN_TYPE, \
    invoke_handler as _invoke, _print_exc, _decode, HTTPException  # noqa: F401

_MISSING = object()
if not _MICROPYTHON:  # MicroPython's compiler folds const() of an _name away: no global
    from microdot.compat import const
_JSON_CT = const('application/json; charset=UTF-8')
_JSON_LINE = const(b'Content-Type: application/json; charset=UTF-8\r\n')
_JSON_TYPE = {'Content-Type': _JSON_CT}
_STATUS_LINES = {}  # status code -> status line (bytes), when there is no custom reason
_CT = (None, None, None)  # Response.default_content_type, with its charset, as a header line


class NoCaseDict(dict):
    """A dict whose string keys are looked up without regard to case.

    Keys keep the case they were first stored with. The lower-case index
    (``keymap``) is built on the first lookup that needs it, so a dict that is only
    read with the exact names it holds (request headers, mostly) never builds one.
    """
    keymap = None

    def _map(self):
        km = {}
        for key in list(super().keys()):
            if isinstance(key, str):
                low = key.lower()
                old = km.get(low)
                if old is not None and old != low:
                    # the same name in two cases, as upstream keeps them: a later one
                    # joins the first name (last value), unless that name was lower case
                    super().__setitem__(old, super().pop(key))
                    continue
                km[low] = key
        self.keymap = km
        return km

    def __iter__(self):
        if self.keymap is None:
            self._map()  # it may merge names: not while the caller iterates
        return iter(super(NoCaseDict, self).keys())

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
        return super(NoCaseDict, self).__getitem__(self._key(key))

    def __delitem__(self, key):
        key = self._key(key)
        super(NoCaseDict, self).__delitem__(key)
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
        if isinstance(key, str) and super(NoCaseDict, self).get(key, _MISSING) is not _MISSING:
            del self.keymap[key.lower()]
        return super(NoCaseDict, self).pop(key, *default)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, other_dict=(), **kwargs):
        for key, value in other_dict.items() if hasattr(other_dict, 'items') else other_dict:
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
                    if max_lines is not None and buf.count(b'\n', 0, end) > max_lines + 2:
                        raise _malformed(431)
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
                    raise _malformed(414 if nl < 0 else 431)
                if max_lines is not None and buf.count(b'\n') > max_lines + 2:
                    raise _malformed(431)
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


def _malformed(status):
    from microdot.streams import MalformedRequest
    return MalformedRequest(status)


async def _read_lines(reader, max_line, max_lines):
    """A request head read line by line from a stream that is not a ConnectionReader
    (nothing past the head is consumed), as one LF-separated bytes value. (Here, not in
    microdot.streams: the test client reads every request this way.)"""
    lines = []
    while True:
        line = await reader.readline()
        if len(line) > max_line:  # the line with its end, as upstream counts it
            raise _malformed(431 if lines else 414)
        line = line.rstrip(b'\r\n')
        if not line:
            if lines:
                break
            return None
        if max_lines is not None and len(lines) > max_lines:  # the request line + max_lines
            raise _malformed(431)
        lines.append(line)
    lines.append(b'\n')
    return b'\n'.join(lines)


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
    #: Most header lines accepted in one request (more gets 431); None: no limit, as
    #: upstream has (docs/compat.md D9).
    max_headers = 100

    class G:
        """Request-scoped storage (``request.g``): set any attribute."""
        pass

    # defaults live on the class: each instance attribute set costs time and heap
    http_version = '1.1'
    subapp = None
    after_request_handlers = ()
    _conn = None   # the Connection header, when the client sent one
    _too_large = False  # the declared body is over max_content_length (413 in dispatch)
    files = None  # uploaded files, filled in by the multipart extension
    body = b''  # the request body (empty when it is larger than max_body_length)
    _stream = None  # the body stream given to the constructor (else made on first use)
    _g = None  # request.g, once made

    def __init__(self, app, client_addr, method, url, http_version, headers,
                 body=None, stream=None, sock=None, url_prefix='', subapp=None,
                 scheme=None, route=None):
        self.app = app
        if client_addr is not None:
            self.client_addr = client_addr
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
            self.path, _, qs = url.partition('?')
            self.query_string = qs
            if '%' in qs:
                # upstream parses the query string here: a broken escape fails the request
                from microdot.multidict import parse_qs
                self.args = parse_qs(qs)
        else:
            self.path = url

    @classmethod
    async def create(cls, app, client_reader, client_writer, client_addr, scheme=None):
        """Read and parse one request from a connection; return it, or None at EOF.

        ``client_reader`` is the server's ConnectionReader or any stream with
        ``readline`` and ``readexactly`` (then nothing past the request is read).
        A request line or header that cannot be read raises a ``ValueError`` (as
        upstream) whose ``status_code`` is the answer (400, 414 or 431); a body that
        cannot be read raises :class:`HTTPException`.
        """
        max_line = cls.max_readline
        if isinstance(client_reader, ConnectionReader):
            head = await client_reader.read_head(max_line, cls.max_headers)
        else:
            head = await _read_lines(client_reader, max_line, cls.max_headers)
        if head is None:
            return None
        try:
            text = _decode(head)
        except ValueError:
            raise _malformed(400)
        # the head is scanned in place: only the strings a request keeps are made
        nl = '\n'
        if '\r' in text:
            n = text.count('\r\n')
            if text.count('\r') == n and text.count('\n') == n:
                nl = '\r\n'
            else:  # mixed line ends: lines end at LF, as upstream reads them
                text = text.replace('\r\n', '\n')
        step = len(nl)
        eol = text.find(nl)
        if eol + step > max_line:  # the line with its end, as upstream counts it
            raise _malformed(414)
        i = text.find(' ', 0, eol)
        j = text.find(' ', i + 1, eol) if i > 0 else -1
        if j > i + 1 and text.find(' ', j + 1, eol) < 0 and text.startswith('HTTP/', j + 1):
            if eol - j == 9 and text.startswith('1.1', j + 6):
                version = '1.1'
            else:
                version = text[j + 6:eol]
            method = 'GET' if i == 3 and text.startswith('GET') else text[:i]
            url = text[i + 1:j]
        else:  # not the usual shape: split as upstream does (any whitespace, any case)
            parts = text[:eol].split()
            if len(parts) != 3 or '/' not in parts[2]:
                raise _malformed(400)
            method, url, version = parts[0], parts[1], parts[2].split('/', 1)[1]
        # a plain dict while parsing: make two strings per header line (name and value);
        # lower-case only the names the server itself needs to recognise (lengths 10,
        # 14 and 17), whatever case they come in. A repeated header: the last one counts.
        h = {}
        cl = te = conn = seen = None
        pos = eol + step
        while True:
            end = text.find(nl, pos)
            if end <= pos:  # the blank line that ends the head
                break
            if end - pos + step > max_line:
                raise _malformed(431)
            i = text.find(':', pos, end)
            if i < 0:
                raise _malformed(400)
            name = text[pos:i]
            i += 1
            if text.startswith(' ', i):
                i += 1
            value = text[i:end].strip()  # strip() makes no new string when there is nothing to strip
            pos = end + step
            n = len(name)
            if n == 14 or n == 17 or n == 10:
                low = name.lower()
                if low == 'content-length' or low == 'transfer-encoding' or \
                        low == 'connection':
                    if seen is None:
                        seen = {}
                    first = seen.get(low)
                    if first is None:
                        seen[low] = name
                    else:
                        name = first  # a repeat in another case replaces the first
                    if low == 'content-length':
                        cl = value
                    elif low == 'transfer-encoding':
                        te = value
                    else:
                        conn = value
            h[name] = value
        headers = NoCaseDict(h)
        length = 0
        if cl is not None:
            if te is not None:
                raise _malformed(400)
            try:
                length = int(cl)  # what int() takes, as upstream ('+5' too)
            except ValueError:
                length = -1
            if length < 0:
                raise _malformed(400)
        body = None
        stream = None
        too_large = length > cls.max_content_length
        if te is not None:
            if te.lower() != 'chunked':
                raise HTTPException(501)
            from microdot.chunked import read_chunked
            body = await read_chunked(client_reader, cls)
            del headers['Transfer-Encoding']
            headers['Content-Length'] = str(len(body))
        elif too_large or length > cls.max_body_length:
            from microdot.streams import BodyStream
            stream = BodyStream(client_reader, length)
        elif length:
            try:
                body = await client_reader.readexactly(length)
            except EOFError:
                raise HTTPException(400, 'Bad request')
        # (a broken escape in the query string raises ValueError here, as upstream's
        # constructor does; the server answers it with a 400)
        req = cls(app, client_addr, method, url, version, headers, body, stream,
                  (client_reader, client_writer), '', None, scheme)
        if conn is not None:
            req._conn = conn
        if too_large:
            req._too_large = True
        return req

    def __getattr__(self, name):
        """The attributes made on first use (``url``, ``client_addr``, ``content_length``,
        ``content_type``, ``g``, ``args``, ``cookies``, and ``json`` and ``form`` behind
        their properties), and the defaults of those the constructor and the server set
        when they have them (``scheme``: 'http'; ``url_prefix``: ''; ``query_string``,
        ``url_args``, ``sock``, ``route``: None; ``body_used``: False): one function here
        instead of a property or class attribute each keeps the class small; assigning
        one sets it as a plain attribute."""
        from microdot.multidict import request_attr
        return request_attr(self, name)

    @property
    def json(self):
        """The body parsed as JSON, or None when the content type is not JSON."""
        return self._json  # (made by __getattr__)

    @property
    def form(self):
        """Form fields of an url-encoded body as a :class:`MultiDict`, else None."""
        return self._form  # (made by __getattr__; the multipart extension sets it)

    @property
    def stream(self):
        """The request body as an asyncio-style stream."""
        if self._stream is None:
            from microdot.streams import AsyncBytesIO
            self._stream = AsyncBytesIO(self.body)
        return self._stream

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

    #: File extension -> content type, for :meth:`send_file` (others are sent as
    #: ``application/octet-stream``)
    types_map = {
        'css': 'text/css', 'gif': 'image/gif', 'html': 'text/html', 'jpg': 'image/jpeg',
        'js': 'application/javascript', 'json': 'application/json', 'png': 'image/png',
        'txt': 'text/plain', 'svg': 'image/svg+xml',
    }

    reason = None
    is_head = False

    def __init__(self, body=b'', status_code=200, headers=None, reason=None):
        if body is None and status_code == 200:
            body = b''
            status_code = 204
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
            headers['Content-Type'] = _JSON_CT  # upstream sets it over the app's own
            return
        elif body is None:
            self.body = b''
        else:
            self.body = body  # bytes, or a generator / file / async iterable
        self.headers = NoCaseDict(headers) if headers else NoCaseDict()

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
            self.headers['Content-Type'] = self._default_type_line()[1]

    def _default_type_line(self):
        global _CT
        ct = self.default_content_type
        if _CT[0] is not ct:
            if ct == 'text/plain':  # the default: constants, nothing made on the heap
                _CT = (ct, 'text/plain; charset=UTF-8', b'Content-Type: text/plain; charset=UTF-8\r\n')
            else:
                full = ct if 'charset=' in ct else ct + '; charset=UTF-8'
                _CT = (ct, full, ('Content-Type: ' + _clean(full) + '\r\n').encode())
        return _CT

    async def write(self, stream, keep_alive=False, http_version='1.1'):
        """Send the response to ``stream`` (an asyncio writer with ``write`` and
        ``drain``, or a stream with ``awrite``); return True if the connection can
        serve another request."""
        if not hasattr(stream, 'drain'):
            from microdot.streams import AWriter
            stream = AWriter(stream)
        return await self._send(stream, keep_alive, http_version)

    async def _send(self, stream, keep_alive, http_version):
        body = self.body
        headers = self.headers
        status = self.status_code
        if self.reason is None:
            line = _STATUS_LINES.get(status)
            if line is None:
                table = self._reasons  # the standard phrase ('OK' or 'Error' if unknown)
                i = table.find('|%d ' % status)
                reason = ('OK' if status < 400 else 'Error') if i < 0 else \
                    table[i + 5:table.find('|', i + 5)]
                line = ('HTTP/1.1 %d %s\r\n' % (status, _clean(reason))).encode()
                if len(_STATUS_LINES) < 64:
                    _STATUS_LINES[status] = line
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
                    # the usual spellings without a lower-cased copy (no table at import)
                    low = 'content-type' if name == 'Content-Type' else 'content-length' \
                        if name == 'Content-Length' else 'connection' if name == 'Connection' \
                        else name.lower()
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
        ctype = b'' if has_type else self._default_type_line()[2]
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
    """A route's URL pattern, e.g. ``/users/<int:id>``, matched without regex when possible.

    Segment types: ``string`` (the default), ``int``, ``path``, ``re:<regex>`` and those
    added with :meth:`register_type`. The pattern is parsed on its first match, so a
    type may be registered after the route that uses it. URL arguments are passed as
    they appear in the path (not percent-decoded), as upstream does.
    """

    #: type name -> regular expression for one segment, including its ``/``
    segment_patterns = {
        'string': '/([^/]+)',
        'int': '/(-?\\d+)',
        'path': '/(.+)',
    }
    #: type name -> function turning the matched text into the argument (None: no match)
    segment_parsers = {
        'int': int,
    }

    regex = None  # compiled regex, for patterns the segment matcher cannot handle
    segments = None

    def __init__(self, url_pattern):
        self.url_pattern = url_pattern
        self.literal = '<' not in url_pattern
        if self.literal:
            self.path = '/' + url_pattern.lstrip('/')  # the one path it matches

    @classmethod
    def register_type(cls, type_name, pattern='[^/]+', parser=None):
        """Register a custom segment type ``<type_name:arg>``."""
        cls.segment_patterns[type_name] = '/(' + pattern + ')'
        cls.segment_parsers[type_name] = parser

    def compile(self):
        """Split the pattern into (literal or None, name, type, regex) per segment."""
        segs = []
        needs_re = False
        for seg in self.url_pattern.lstrip('/').split('/'):
            if seg.startswith('<'):
                if not seg.endswith('>'):
                    raise ValueError('invalid URL pattern')
                spec = seg[1:-1]
                if ':' in spec:
                    type_name, name = spec.rsplit(':', 1)
                else:
                    type_name, name = 'string', spec
                if type_name.startswith('re:'):
                    regex = type_name[3:]
                    type_name = 're'
                else:
                    pattern = self.segment_patterns.get(type_name)
                    if pattern is None:
                        raise ValueError('invalid URL segment type')
                    regex = None
                    if type_name != 'string' and type_name != 'int' and \
                            type_name != 'path' and pattern != '/([^/]+)':
                        regex = pattern[2:-1] if pattern.startswith('/(') and \
                            pattern.endswith(')') else pattern
                if regex is not None or (segs and segs[-1][2] == 'path'):
                    needs_re = True
                segs.append((None, name, type_name, regex))
            else:
                if segs and segs[-1][2] == 'path':
                    needs_re = True
                segs.append((seg, None, None, None))
        self.segments = segs
        if needs_re:
            from microdot.urlregex import compile_pattern
            self.regex, self.names, self.parsers = compile_pattern(segs)
        return self.regex

    def _convert(self, type_name, value):
        """Return the value converted for its type, or None if it does not match."""
        if type_name == 'string' or type_name == 'path' or type_name == 're':
            return value
        if type_name == 'int':
            v = value[1:] if value.startswith('-') else value
            if not v.isdigit():
                return None
            try:
                return int(value)
            except ValueError:  # digits int() does not take (superscripts)
                return None
        parser = self.segment_parsers.get(type_name)
        return parser(value) if parser else value

    def match(self, path):
        """Return a dict of the URL arguments if ``path`` matches, else None."""
        segs = self.segments
        if segs is None:
            if self.literal:
                return {} if path == self.path else None
            self.compile()
            segs = self.segments
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
        if not path.startswith('/'):
            return None
        parts = path[1:].split('/')
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
                args[name] = value
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

    def __repr__(self):
        return 'URLPattern: ' + self.url_pattern


def _make_response(res):
    """Turn a route's return value into a :class:`Response`, as upstream does:
    an int is a status, a tuple is (body, status[, headers]) or (body, headers)."""
    if isinstance(res, Response):
        return res
    if isinstance(res, int):
        return Response('', res)
    if isinstance(res, tuple):
        if isinstance(res[0], int):  # (status[, headers])
            return Response('', res[0], res[1] if len(res) > 1 else None)
        body = res[0]
        if isinstance(res[1], int):
            status = res[1]
            headers = res[2] if len(res) > 2 else None
        else:
            status = 200
            headers = res[1]
        if isinstance(body, Response):
            body.status_code = status
            if headers:
                body.headers.update(headers)
            return body
        return Response(body, status, headers)
    return Response(res)


def _as_response(res):
    """An error handler's or hook's return value as a Response, converted as upstream
    converts it at the end of dispatch."""
    if isinstance(res, Response):
        return res
    return Response(*res) if isinstance(res, tuple) else Response(res)


try:
    from gc import collect as _collect, mem_free as _mem_free, mem_alloc as _mem_alloc
except ImportError:  # CPython: no heap of its own to watch
    _mem_free = None
_heap_size = 0


def _heap_low(reserve):
    """Whether the free heap is below ``reserve`` bytes even after a collection. A heap over
    64 times the reserve (the unix port's, a board's PSRAM) is not watched: counting its free
    blocks on every connection costs more than the risk it guards against."""
    global _heap_size
    if not _heap_size:
        _heap_size = _mem_free() + _mem_alloc()
    if reserve << 6 < _heap_size or _mem_free() >= reserve:
        return False
    _collect()
    return _mem_free() < reserve


def _free_sockets(n):
    """How many more TCP sockets the network stack lets this program open, up to ``n``
    (on a board, lwIP's pools: ESP-IDF's CONFIG_LWIP_MAX_SOCKETS and _MAX_ACTIVE_TCP)."""
    import socket
    got = []
    try:
        while len(got) < n:
            got.append(socket.socket())
    except OSError:
        pass
    for s in got:
        s.close()
    return len(got)


class Microdot:
    """An application: routes, hooks and the web server that serves them."""

    #: Most client connections served at once. At the cap a newcomer evicts the oldest
    #: connection that has not sent a complete request head, else the oldest idle
    #: keep-alive one; it gets a 503 only when every slot is serving a request. On
    #: MicroPython the server lowers it to one less than the TCP sockets the board can
    #: still open once it listens (one is kept to answer 503 with). Long-lived
    #: connections (WebSocket, SSE, streamed responses) hold at most all slots but two.
    max_connections = 16
    #: Free heap (bytes, MicroPython) a new connection needs; below it, after a
    #: collection, it is answered 503 instead of risking MemoryError mid-request.
    heap_reserve = 8192
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
        #: (methods, URLPattern, handler, url_prefix, subapp) per route, in order
        self.url_map = []
        self._literal = {}  # path -> url_map index (a list of them) for patterns without arguments
        self._dynamic = []  # url_map indexes of the others
        self._count = 0  # routes in the two tables
        self.before_request_handlers = []
        self.after_request_handlers = []
        self.after_error_request_handlers = []
        self.error_handlers = {}
        self.shutdown_requested = False
        self.options_handler = self.default_options_handler
        self.debug = False
        self.ssl = None
        self.server = None
        self._conns = {}
        # connections that may make room: key -> 1 (no request yet), 0 (idle keep-alive),
        # 2 (evicted before its request); and those that may not: 3 (long-lived),
        # 4 (refused a long-lived slot)
        self._waiting = {}
        self._stop = None
        self._loop = None

    # -- routing -----------------------------------------------------------

    def _index(self, start):
        """Add ``url_map[start:]`` to the lookup tables; they are rebuilt when ``start`` is
        not where they end (``url_map`` was changed directly)."""
        url_map = self.url_map
        if start != self._count:
            start = 0
            self._literal = {}
            self._dynamic = []
        lits = self._literal
        for i in range(start, len(url_map)):
            pattern = url_map[i][1]
            if pattern.literal:  # one index per path; a list of them for a path routed again
                old = lits.get(pattern.path)
                if old is None:
                    lits[pattern.path] = i
                elif isinstance(old, int):
                    lits[pattern.path] = [old, i]
                else:
                    old.append(i)
            else:
                self._dynamic.append(i)
        self._count = len(url_map)

    def _add_route(self, methods, url_pattern, handler, url_prefix, subapp):
        # (no default arguments in what the import makes: each costs ~32 B of heap)
        route = (methods, URLPattern(url_pattern), handler, url_prefix, subapp)
        self.url_map.append(route)
        self._index(len(self.url_map) - 1)
        return route

    def route(self, url_pattern, methods=None):
        """Decorator that registers a function for a URL pattern and methods."""
        def decorated(f):
            self._add_route([m.upper() for m in (methods or ['GET'])], url_pattern, f, '', None)
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
        """Register a hook run after each response that did not come from a route
        (errors, 404/405, automatic OPTIONS): ``f(request, response)``."""
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

        With ``local=False`` the sub-application's hooks and error handlers move to
        this application (the sub-application keeps none); with ``local=True`` they
        stay with it and apply only to its routes.
        """
        for methods, pattern, handler, prefix, sub in subapp.url_map:
            self._add_route(methods, url_prefix + pattern.url_pattern, handler,
                            url_prefix + prefix, sub or subapp)
        if not local:
            self.before_request_handlers += subapp.before_request_handlers
            subapp.before_request_handlers = []
            self.after_request_handlers += subapp.after_request_handlers
            subapp.after_request_handlers = []
            self.after_error_request_handlers += subapp.after_error_request_handlers
            subapp.after_error_request_handlers = []
            for key, handler in subapp.error_handlers.items():
                self.error_handlers[key] = handler
            subapp.error_handlers = {}

    @staticmethod
    def abort(status_code, reason=None):
        raise HTTPException(status_code, reason)

    def find_route(self, req):
        """Return (handler, url_prefix, subapp) for a request, and set its ``url_args``.

        The handler is the route function, 404 or 405, or for OPTIONS (while
        ``options_handler`` is set) the headers of the automatic answer. Routes are
        tried in the order they were added.
        """
        found = self._match(req)
        if isinstance(found, tuple):
            if len(found) == 2:  # (405, the last route whose pattern matched)
                return 405, found[1][3], found[1][4]
            return found[2], found[3], found[4]
        return found, '', None

    def _match(self, req):
        """find_route() without a tuple per request: the matching url_map entry, the
        automatic OPTIONS headers (a dict), 404, or (405, last matching entry)."""
        method = req.method
        if method != 'GET':
            method = method.upper()
            if method == 'OPTIONS' and self.options_handler:
                return self.options_handler(req)
            if method == 'HEAD':
                method = 'GET'
        url_map = self.url_map
        if len(url_map) != self._count:  # url_map was changed directly
            self._index(0)
        path = req.path
        lit = self._literal.get(path)
        found = -1
        if lit is not None:
            if isinstance(lit, int):
                if method in url_map[lit][0]:
                    found = lit
            else:
                for i in lit:
                    if method in url_map[i][0]:
                        found = i
                        break
        for i in self._dynamic:
            if found >= 0 and i > found:
                break
            route = url_map[i]
            args = route[1].match(path)
            if args is not None and method in route[0]:
                req.url_args = args
                return route
        if found >= 0:
            req.url_args = {}
            return url_map[found]
        # 404 or 405: the last route whose pattern matches names the prefix and subapp
        last = -1 if lit is None else lit if isinstance(lit, int) else lit[-1]
        for i in self._dynamic:
            if i > last and url_map[i][1].match(path) is not None:
                last = i
        req.url_args = None
        if last < 0:
            return 404
        return 405, url_map[last]

    def allowed_methods(self, path):
        """The methods of the routes whose pattern matches ``path``, in route order."""
        allowed = []
        for methods, pattern, _, _, _ in self.url_map:
            if pattern.match(path) is not None:
                allowed += methods
        return allowed

    def default_options_handler(self, req):
        """Headers for an automatic OPTIONS response."""
        allow = self.allowed_methods(req.path)
        if 'GET' in allow:
            allow.append('HEAD')
        allow.append('OPTIONS')
        return {'Allow': ', '.join(allow)}

    # -- request handling --------------------------------------------------

    def get_request_handlers(self, req, attr, local_first=True):
        """The ``<attr>_handlers`` hooks that apply to ``req``: the application's and
        those of the sub-application its route came from."""
        handlers = getattr(self, attr + '_handlers')
        sub = req.subapp if req is not None else None
        if sub is None:
            return handlers
        local = getattr(sub, attr + '_handlers')
        if not local:
            return handlers
        return local + handlers if local_first else handlers + local

    async def error_response(self, req, status_code, reason=None):
        """Run the error handler for ``status_code`` and return what it returns, or
        ``(reason, status_code)`` when there is none."""
        sub = req.subapp if req is not None else None
        handler = None
        if sub is not None:
            handler = sub.error_handlers.get(status_code)
        if handler is None:
            handler = self.error_handlers.get(status_code)
        if handler is not None:
            return await _invoke(handler, req)
        return reason or 'N/A', status_code

    async def dispatch_request(self, req, refused=None):
        """Run the hooks and the route for a parsed request (None: one that could not
        be parsed, ``refused`` the HTTPException saying why); always return a Response."""
        handled = False
        if req is None:
            res = await self._safe_error(None, 400, 'Bad request') if refused is None else \
                await self._safe_error(None, refused.status_code, refused.reason)
        elif req._too_large:
            res = await self._safe_error(req, 413, 'Payload too large')
        else:
            try:
                f = self._match(req)
                if isinstance(f, tuple):
                    route = f[1] if len(f) == 2 else f
                    if route[3]:
                        req.url_prefix = route[3]
                    if route[4] is not None:
                        req.subapp = route[4]
                    f = 405 if len(f) == 2 else route[2]
                if isinstance(f, int):
                    res = await self.error_response(req, f, 'Not found')
                    if f == 405:  # RFC 9110 wants the allowed methods named
                        res = _as_response(res)
                        if 'Allow' not in res.headers:
                            allow = []
                            for m in self.allowed_methods(req.path):
                                if m not in allow:
                                    allow.append(m)
                            res.headers['Allow'] = ', '.join(allow)
                elif isinstance(f, dict):
                    res = Response(headers=f)
                else:
                    req.route = f
                    res = None
                    for hook in self.get_request_handlers(req, 'before_request', False):
                        res = await _invoke(hook, req)
                        if res:
                            break
                    if res is None:
                        args = req.url_args
                        if _MICROPYTHON and type(f) is _GEN_TYPE:  # async def: no wrapper
                            res = await (f(req, **args) if args else f(req))
                        else:
                            res = await _invoke(f, req, **args)
                    res = _make_response(res)
                    for hook in self.get_request_handlers(req, 'after_request', True):
                        res = await _invoke(hook, req, res) or res
                    for hook in req.after_request_handlers:
                        res = await _invoke(hook, req, res) or res
                    handled = True
            except HTTPException as exc:
                res = await self._safe_error(req, exc.status_code, exc.reason)
            except Exception as exc:
                _print_exc(exc)
                # the handler for the most specific class, the route's subapp's first
                apps = (self,) if req.subapp is None else (req.subapp, self)
                handler = None
                from microdot.helpers import mro
                for cls in mro(type(exc)):
                    for app in apps:
                        handler = app.error_handlers.get(cls)
                        if handler is not None:
                            break
                    if handler is not None:
                        break
                res = None
                if handler is not None:
                    try:
                        res = await _invoke(handler, req, exc)
                    except Exception as exc2:
                        _print_exc(exc2)
                if res is None:
                    res = await self._safe_error(req, 500, 'Internal server error')
        res = _as_response(res)
        if not handled:
            for hook in self.get_request_handlers(req, 'after_error_request', True):
                try:
                    res = await _invoke(hook, req, res) or res
                except Exception as exc:
                    _print_exc(exc)
            res = _as_response(res)
        if req is not None:
            if req.method == 'HEAD':
                res.is_head = True  # as upstream sets it here (the server reads it too)
            g = req._g
            if g is not None and getattr(g, '_vary', None):
                # extensions (CORS, CSRF, sessions) name the request headers they read
                from microdot.helpers import add_vary
                add_vary(res, g._vary)
        return res

    async def _safe_error(self, req, status, reason):
        """:meth:`error_response`, with a failing error handler answered by a 500."""
        try:
            return await self.error_response(req, status, reason)
        except Exception as exc:
            _print_exc(exc)
            return 'Internal server error', 500

    async def _error_response(self, req, status, exc):
        """The error response for ``status`` as a Response (``exc``: the HTTPException
        or a reason), for the adapters and the server's refusals."""
        reason = exc.reason if isinstance(exc, HTTPException) else exc
        return _as_response(await self._safe_error(req, status, reason))

    async def handle_request(self, reader, writer):
        """Serve every request of one client connection (the asyncio server callback)."""
        conns = self._conns
        waiting = self._waiting
        try:
            task = asyncio.current_task()
        except (AttributeError, RuntimeError):  # pragma: no cover
            task = None
        key = task if task is not None else writer
        try:
            if (_mem_free is not None and _heap_low(self.heap_reserve)) or \
                    (len(conns) >= self.max_connections and not self._evict()):  # (key is not in conns)
                await self._refuse(reader, writer)
                return
            conns[key] = ticks_ms() + int(self.request_timeout * 1000)
            waiting[key] = 1
            send_ms = int(self.send_timeout * 1000)
            idle_ms = int(self.keepalive_timeout * 1000)
            addr = None  # Request.client_addr asks the writer when someone wants it
            scheme = 'https' if self.ssl else None
            conn = ConnectionReader(reader)
            served = 0
            while True:
                try:
                    req = await Request.create(self, conn, writer, addr, scheme)
                except (HTTPException, ValueError) as exc:
                    if not hasattr(exc, 'status_code'):  # 414/431: streams.MalformedRequest
                        exc = HTTPException(400, 'Bad request')
                    res = await self.dispatch_request(None, exc)
                    await res._send(writer, False, '1.1')
                    await self._linger(reader)
                    break
                except EOFError:
                    break
                if req is None:
                    break
                conns[key] = None  # the handler may take as long as it likes
                waiting.pop(key, None)
                served += 1
                res = await self.dispatch_request(req)
                if res is Response.already_handled:
                    break
                if not isinstance(res.body, (bytes, bytearray)) and not hasattr(res.body, 'read') \
                        and not self._hold():  # a long-lived stream beyond the share
                    res._close_body()
                    res = _as_response(await self._safe_error(req, 503, 'Service unavailable'))
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
                if waiting.get(key) == 4:  # refused a long-lived slot (_hold): say when to retry
                    res.headers['Retry-After'] = '1'
                    keep = False
                out = writer
                if isinstance(res.body, (bytes, bytearray)):
                    conns[key] = ticks_ms() + send_ms
                else:  # a stream: the deadline covers each wait for the client, not the body
                    from microdot.streams import Sender
                    out = Sender(writer, conns, key, send_ms)
                keep = await res._send(out, keep, req.http_version)
                if self.debug:
                    print('%s %s %d' % (req.method, req.path, res.status_code))
                if not keep:
                    if unread or conn.buf:  # input left over: avoid a reset that eats the reply
                        await self._linger(reader)
                    break
                conns[key] = ticks_ms() + idle_ms
                waiting[key] = 0
                req = res = None  # an idle connection keeps nothing of its last request alive
        except asyncio.CancelledError:
            if waiting.get(key) == 2:  # made room before it sent a request: say so
                await self._refuse(reader, writer, False)
        except OSError as exc:  # a client that went away mid-response: one line, no traceback
            if self.debug:
                print('client went away mid-response (OSError %s)' % (exc.args[0] if exc.args else '?'))
        except Exception as exc:
            if self.debug:
                _print_exc(exc)
        finally:
            conns.pop(key, None)
            waiting.pop(key, None)
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

    def _evict(self):
        """Make room at the cap: cancel the connection that has waited longest for a
        complete request (head, or the small body read with it), else the longest idle
        keep-alive one. False when every slot is serving a request."""
        conns = self._conns
        now = ticks_ms()
        best = age = None
        rank = -1
        for key, kind in self._waiting.items():
            deadline = conns.get(key)
            if deadline is None or kind > 1 or not hasattr(key, 'cancel'):
                continue
            waited = ticks_diff(now, deadline)  # same timeout per kind: larger = older
            if kind > rank or (kind == rank and waited > age):
                best, age, rank = key, waited, kind
        if best is None:
            return False
        conns.pop(best, None)
        if rank:
            self._waiting[best] = 2  # it is answered 503 once cancelled
        else:
            self._waiting.pop(best, None)
        best.cancel()
        return True

    def _hold(self):
        """Count the connection being served as long-lived (a WebSocket, an SSE or other
        streamed response); False when long-lived ones already hold their share of the
        slots (all but two), so that a short request always finds one."""
        try:
            key = asyncio.current_task()
        except (AttributeError, RuntimeError):  # pragma: no cover
            return True
        waiting = self._waiting
        if key not in self._conns or waiting.get(key) == 3:
            return True  # not one of the server's connections (test client, adapters)
        n = 0
        for kind in waiting.values():
            if kind == 3:
                n += 1
        if n >= max(1, self.max_connections - 2):
            waiting[key] = 4
            return False
        waiting[key] = 3
        return True

    async def _refuse(self, reader, writer, linger=True):
        """Answer 503 and close; an evicted connection is not lingered over (it has sent
        nothing unread, and on MicroPython each linger that times out retains ~0.6 KB)."""
        try:
            writer.write(b'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n'
                         b'Connection: close\r\nRetry-After: 1\r\n\r\n')
            await writer.drain()
        except Exception:
            return
        if linger:
            await self._linger(reader)

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

    async def start_server(self, host='0.0.0.0', port=5000, debug=False, ssl=None,
                           start_serving=True):
        """Start the web server as a coroutine; returns after :meth:`shutdown`.

        With ``start_serving=False`` (CPython only, as upstream) it returns the asyncio
        server without accepting connections yet: call its ``serve_forever()``.
        """
        if not start_serving:
            if _MICROPYTHON:
                raise ValueError('start_serving must be True')
            self.debug = debug
            self.ssl = ssl
            self.shutdown_requested = False
            self._loop = asyncio.get_running_loop()
            kw = {'ssl': ssl} if ssl else {}
            self.server = await asyncio.start_server(self.handle_request, host, port,
                                                     backlog=self.backlog, start_serving=False,
                                                     **kw)
            self._watch = asyncio.create_task(self._watchdog())  # ends with the loop
            return self.server
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
        if _MICROPYTHON:  # the board's TCP/IP stack may hold fewer: keep one to refuse with
            self.max_connections = max(1, min(self.max_connections,
                                              _free_sockets(self.max_connections + 1) - 1))
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
            server = self.server  # start_server(start_serving=False): close it, as upstream
            if server is not None and self._loop is not None:
                self._loop.call_soon_threadsafe(server.close)
            return
        if self._loop is not None:
            self._loop.call_soon_threadsafe(stop.set)
        else:
            stop.set()


def __getattr__(name):
    """Module-level names the core does not keep, resolved on first use (PEP 562), so
    importing it costs no heap for them: the shared primitives it does not use itself
    (invoke_handler...) from microdot.base, and upstream's other names (urldecode,
    MultiDict, urlencode, AsyncBytesIO, MUTED_SOCKET_ERRORS, mro, print_exception,
    iscoroutine...) from microdot/aliases.py."""
    from microdot import base
    value = getattr(base, name, base)
    if value is base and name[0] != '_':
        from microdot import aliases
        value = getattr(aliases, name, base)
    if value is base:
        raise AttributeError(name)
    return value
