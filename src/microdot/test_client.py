"""An in-process HTTP client for testing applications.

Requests go through the same connection handler as real clients (request parsing,
hooks, response framing), over in-memory streams instead of a socket.
"""
import asyncio
import json

from microdot.microdot import NoCaseDict, urlencode


class MemoryPipe:
    """One direction of an in-memory connection, with the read API of an asyncio stream."""
    def __init__(self):
        self.data = b''
        self.eof = False
        self.event = asyncio.Event()

    def feed(self, data):
        self.data += data
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
