"""Run a Microdot application under a WSGI web server such as Waitress or Gunicorn (CPython only).

    from microdot.wsgi import Microdot
    app = Microdot()            # then: waitress-serve module:app

Handlers see the WSGI environ as ``request.environ``. The framework is asynchronous, so
each server worker thread gets its own asyncio event loop, created on its first request
and reused afterwards; prefer ``async def`` handlers as with the built-in server.
Large request bodies are read from ``wsgi.input`` as the application asks for them and
response bodies that are iterators are handed to the server chunk by chunk.
WebSocket routes need the raw connection, which WSGI does not give: use ``microdot.asgi``.
"""
import asyncio
import os  # noqa: F401 (upstream's module has it: tests patch microdot.wsgi.os.kill)
import threading

from microdot.hosted import HostedMicrodot
from microdot.microdot import Request, Response, NoCaseDict, \
    HTTPException

_HOP_BY_HOP = ('connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection',
               'te', 'trailer', 'proxy-authenticate', 'proxy-authorization')




class _InputStream:
    """``wsgi.input`` with the async read methods of the framework's request streams."""

    def __init__(self, file, remaining, limit):
        self.file = file
        self.remaining = remaining   # bytes still to read (None: until EOF)
        self.limit = limit           # most bytes accepted when the length is unknown
        self.total = 0

    def _read(self, n):
        if self.remaining is not None:
            n = self.remaining if n < 0 else min(n, self.remaining)
            if n <= 0:
                return b''
        data = self.file.read(n) if n >= 0 else self.file.read()
        if self.remaining is not None:
            self.remaining -= len(data)
            if not data:
                self.remaining = 0
        self.total += len(data)
        if self.limit is not None and self.total > self.limit:
            raise HTTPException(413)
        return data

    async def read(self, n=-1):
        return self._read(n)

    async def readexactly(self, n):
        data = b''
        while len(data) < n:
            chunk = self._read(n - len(data))
            if not chunk:
                raise EOFError()
            data += chunk
        return data

    async def readline(self):
        data = b''
        while not data.endswith(b'\n'):
            chunk = self._read(1)
            if not chunk:
                break
            data += chunk
        return data

    async def readinto(self, buf):
        data = self._read(len(buf))
        buf[:len(data)] = data
        return len(data)


def _environ_headers(environ):
    headers = NoCaseDict()
    for key, value in environ.items():
        if key.startswith('HTTP_'):
            name = key[5:]
        elif key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
            if not value:
                continue  # some servers pass empty values for absent headers
            name = key
        else:
            continue
        name = '-'.join(part.capitalize() for part in name.split('_'))
        # WSGI hands over header bytes decoded as latin-1: restore UTF-8 text where it was
        try:
            value = value.encode('latin-1').decode()
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        headers[name] = value
    return headers


def _environ_url(environ):
    # (as upstream) SCRIPT_NAME + PATH_INFO as the server decoded them, then the query
    url = (environ.get('SCRIPT_NAME') or '') + (environ.get('PATH_INFO') or '')
    try:  # WSGI passes the path's bytes as latin-1 text: restore UTF-8 (D101)
        url = url.encode('latin-1').decode()
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    qs = environ.get('QUERY_STRING')
    return url + '?' + qs if qs else url


class _ResponseIterator:
    """The WSGI response body for a streamed response: pulls chunks on this thread's loop."""

    def __init__(self, loop, res):
        self.loop = loop
        self.res = res
        self.it = res.body_iter()

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return self.loop.run_until_complete(self.it.__anext__())
        except StopAsyncIteration:
            raise StopIteration

    def close(self):
        body = self.res.body
        aclose = getattr(body, 'aclose', None)
        if aclose is not None:
            try:
                self.loop.run_until_complete(aclose())
            except Exception:
                pass
        self.res._close_body()


class Microdot(HostedMicrodot):
    """A Microdot application that is also a WSGI application."""

    def __init__(self):
        super().__init__()
        self._local = threading.local()

    def _thread_loop(self):
        loop = getattr(self._local, 'loop', None)
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            self._local.loop = loop
        return loop

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    def wsgi_app(self, environ, start_response):
        """The WSGI entry point."""
        loop = self._thread_loop()
        asyncio.set_event_loop(loop)
        res, method = loop.run_until_complete(self._wsgi_dispatch(environ))
        if res is Response.already_handled:
            res = Response('WebSocket needs an ASGI server', 501)
        res.complete()
        headers = []
        for name, value in res.headers.items():
            if name.lower() in _HOP_BY_HOP:
                continue
            for v in value if isinstance(value, list) else (value,):
                headers.append((name, str(v)))
        # (as upstream) a reason only for 200 unless the response sets one
        reason = res.reason or ('OK' if res.status_code == 200 else 'N/A')
        start_response('%d %s' % (res.status_code, reason), headers)
        body = res.body
        if method == 'HEAD':  # not written after the head by servers that would (D100)
            _ResponseIterator(loop, res).close()
            return []
        if isinstance(body, (bytes, bytearray)):
            return [bytes(body)] if body else []
        return _ResponseIterator(loop, res)

    async def _wsgi_dispatch(self, environ):
        try:
            headers = _environ_headers(environ)
            body, stream, too_large = await self._wsgi_body(environ, headers)
            client = environ.get('REMOTE_ADDR')
            port = environ.get('REMOTE_PORT')
            req = Request(self, (client, int(port) if port and port.isdigit() else 0),
                          environ.get('REQUEST_METHOD', 'GET'), _environ_url(environ),
                          environ.get('SERVER_PROTOCOL', 'HTTP/1.1'), headers,  # as upstream
                          body=body, stream=stream, scheme=environ.get('wsgi.url_scheme'))
            req.environ = environ
            if too_large:
                req._too_large = True  # dispatch answers 413, as upstream's
        except HTTPException as exc:
            res = await self._error_response(
                Request(self, None, 'GET', '/', '1.1', NoCaseDict()), exc.status_code, exc)
            return res, 'GET'
        res = await self.dispatch_request(req)
        if self.debug:
            print('%s %s %d' % (req.method, req.path, res.status_code))
        return res, req.method

    @staticmethod
    async def _wsgi_body(environ, headers):
        """Return (body, stream, too_large) for the request."""
        file = environ.get('wsgi.input')
        cl = headers.get('Content-Length')
        if cl is not None:
            if not cl.isdigit():
                raise HTTPException(400)
            length = int(cl)
            if not length or file is None:
                return b'', None, False
            stream = _InputStream(file, length, None)
            if length > Request.max_body_length:
                return b'', stream, length > Request.max_content_length
            try:
                return await stream.readexactly(length), None, False
            except EOFError:
                raise HTTPException(400)
        if file is None or not environ.get('wsgi.input_terminated'):
            return b'', None, False
        # a chunked request the server de-chunked: read it whole, within the limit
        body = await _InputStream(file, None, Request.max_content_length).read()
        if body:
            headers['Content-Length'] = str(len(body))
        return body, None, False


def __getattr__(name):
    """The names upstream's module re-exports, resolved on first use (PEP 562)."""
    from microdot.hosted import reexported
    return reexported(name)
