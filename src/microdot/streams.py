"""Body streams, imported on first use: in-memory and length-limited request bodies, and
the writer for response bodies that are not plain bytes (files, generators, async
iterators)."""
from microdot.base import ticks_ms


class AsyncBytesIO:
    """An in-memory body that offers the read methods of an asyncio stream."""
    def __init__(self, data):
        self.data = data
        self.pos = 0

    async def read(self, n=-1):
        end = len(self.data) if n < 0 else min(self.pos + n, len(self.data))
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    async def readexactly(self, n):
        chunk = await self.read(n)
        if len(chunk) < n:
            raise EOFError()
        return chunk

    async def readline(self):
        i = self.data.find(b'\n', self.pos)
        return await self.read(-1 if i < 0 else i + 1 - self.pos)

    async def readinto(self, buf):
        chunk = await self.read(len(buf))
        buf[:len(chunk)] = chunk
        return len(chunk)

    async def readuntil(self, separator=b'\n'):
        i = self.data.find(separator, self.pos)
        return await self.read(-1 if i < 0 else i + len(separator) - self.pos)

    async def awrite(self, data):
        """Write at the current position, as an io.BytesIO does."""
        end = self.pos + len(data)
        self.data = self.data[:self.pos] + bytes(data) + self.data[end:]
        self.pos = end
        return len(data)

    async def aclose(self):
        pass

    def close(self):
        pass


class BodyStream(AsyncBytesIO):
    """A request body read from the connection as the application asks for it.

    ``remaining`` counts the body bytes not read yet: the connection can only serve
    another request once it is zero.
    """
    def __init__(self, reader, length):
        self.reader = reader
        self.remaining = length

    async def read(self, n=-1):
        if self.remaining <= 0:
            return b''
        if n < 0 or n > self.remaining:
            n = self.remaining
        data = await self.reader.read(n)
        self.remaining -= len(data)
        return data

    async def readexactly(self, n):
        if n > self.remaining:
            raise EOFError()
        data = await self.reader.readexactly(n)
        self.remaining -= n
        return data

    async def readline(self):
        data = b''
        while self.remaining > 0 and not data.endswith(b'\n'):
            chunk = await self.read(1)
            if not chunk:
                break
            data += chunk
        return data


class Sender:
    """The connection's writer while a streamed body is sent.

    Each wait for the client to take data (``drain``) gets a deadline in the server's
    connection table, so the watchdog ends a connection whose client stopped reading;
    the time the body itself takes to produce its next chunk is not limited.
    """
    def __init__(self, writer, conns, key, ms):
        self.writer = writer
        self.conns = conns
        self.key = key
        self.ms = ms

    def write(self, data):
        self.writer.write(data)

    async def drain(self):
        self.conns[self.key] = ticks_ms() + self.ms
        await self.writer.drain()
        self.conns[self.key] = None


async def write_body(res, stream, chunked):
    """Write a streamed response body: a file (``readinto``/``read``), an async
    iterator or a plain iterator of str/bytes chunks."""
    body = res.body
    size = res.send_file_buffer_size
    if hasattr(body, 'readinto'):
        buf = bytearray(size)
        mv = memoryview(buf)
        while True:
            n = body.readinto(buf)
            if n is not None and not isinstance(n, int):
                n = await n  # an async readinto
            if not n:
                return
            if chunked:
                stream.write(b'%x\r\n' % n)
            stream.write(mv[:n])
            if chunked:
                stream.write(b'\r\n')
            await stream.drain()
    it = BodyIter(res)
    while True:
        try:
            chunk = await it.__anext__()
        except StopAsyncIteration:
            return
        if chunk:
            if chunked:
                stream.write(b'%x\r\n' % len(chunk) + chunk + b'\r\n')
            else:
                stream.write(chunk)
            await stream.drain()


class BodyIter:
    """A response body as an async iterator of byte chunks (``Response.body_iter``)."""
    def __init__(self, res):
        self.res = res
        self.it = None

    def __aiter__(self):
        return self

    async def __anext__(self):
        res = self.res
        body = res.body
        if isinstance(body, (bytes, bytearray)):
            if self.it is None:
                self.it = True
                if body:
                    return bytes(body)
            raise StopAsyncIteration
        it = self.it
        if it is None:
            if hasattr(body, 'read'):
                it = body
            elif hasattr(body, '__aiter__'):
                it = body.__aiter__()
            elif hasattr(body, '__anext__'):
                it = body
            else:
                it = iter(body)
            self.it = it
        if hasattr(it, 'read'):
            chunk = it.read(res.send_file_buffer_size)
            if not isinstance(chunk, (bytes, bytearray, str)):
                chunk = await chunk
            if not chunk:
                res._close_body()
                raise StopAsyncIteration
        elif hasattr(it, '__anext__'):
            chunk = await it.__anext__()
        else:
            try:
                chunk = next(it)
            except StopIteration:
                raise StopAsyncIteration
        return chunk.encode() if isinstance(chunk, str) else chunk


class AWriter:
    """A stream that only offers ``awrite`` (as upstream's writers do), given the
    ``write``/``drain`` pair that :meth:`Response.write` uses."""
    def __init__(self, stream):
        self.stream = stream
        self.parts = []

    def write(self, data):
        self.parts.append(bytes(data))

    async def drain(self):
        parts = self.parts
        if parts:
            self.parts = []
            await self.stream.awrite(b''.join(parts))


class MalformedRequest(ValueError):
    """A request head that cannot be read (``Request.create``): a ``ValueError``, as
    upstream raises, that carries the status the server answers, as an
    :class:`HTTPException` does: 400, 414 (request line too long) or 431 (a header line
    too long, or more header lines than ``Request.max_headers``)."""
    def __init__(self, status_code, reason=None):
        super().__init__('malformed request (%d)' % status_code)
        self.status_code = status_code
        self.reason = reason or ('Bad request' if status_code == 400 else
                                 str(status_code) + ' error')
