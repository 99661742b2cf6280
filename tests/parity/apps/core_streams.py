"""Core parity: the lower-level API. Request.create() over a reader offering readline/read/
readexactly (nothing past the request is consumed; a large body stays on the reader),
app.dispatch_request(), Response.complete(), Response.body_iter() and Response.write() to a
stream offering only awrite; AsyncBytesIO; streamed responses over HTTP."""
from microdot import Microdot, Request, Response, AsyncBytesIO

app = Microdot()


@app.route('/hello', methods=['GET', 'POST'])
async def hello(request):
    return {'method': request.method, 'body': request.body.decode(), 'args': request.args,
            'addr': request.client_addr is not None}


@app.route('/gen')
async def gen(request):
    def numbers():
        for i in range(5):
            yield '%d\n' % i
    return numbers()


@app.route('/agen')
async def agen(request):
    async def numbers():
        for i in range(5):
            yield b'%d;' % i
    return numbers(), 200, {'Content-Type': 'text/csv'}


@app.route('/big-gen')
async def big_gen(request):
    def blocks():
        for i in range(20):
            yield bytes([65 + i]) * 1000
    return blocks()


class Reader:
    """A stream with readline, read and readexactly, like an asyncio StreamReader."""
    def __init__(self, data):
        self.data = data
        self.pos = 0

    async def readline(self):
        i = self.data.find(b'\n', self.pos)
        end = len(self.data) if i < 0 else i + 1
        line = self.data[self.pos:end]
        self.pos = end
        return line

    async def read(self, n=-1):
        end = len(self.data) if n < 0 else min(len(self.data), self.pos + n)
        out = self.data[self.pos:end]
        self.pos = end
        return out

    async def readexactly(self, n):
        out = await self.read(n)
        if len(out) < n:
            raise EOFError()
        return out

    def left(self):
        return self.data[self.pos:]


class Writer:
    """A stream with only awrite (and aclose), as upstream's writers have."""
    def __init__(self):
        self.data = b''

    async def awrite(self, data):
        self.data += data

    async def aclose(self):
        pass


def parse(raw):
    head, _, body = raw.partition(b'\r\n\r\n')
    lines = head.decode().split('\r\n')
    status = int(lines[0].split(' ')[1])
    headers = sorted([line.split(': ', 1) for line in lines[1:]
                      if line.split(':')[0].lower() not in ('connection', 'transfer-encoding')])
    return status, headers, body


def plain(headers):
    return {k: headers[k] for k in headers}


async def collect(res):
    out = b''
    async for chunk in res.body_iter():
        out += chunk.encode() if isinstance(chunk, str) else chunk
    return out


CASES = [('GET', '/hello?x=1'), ('POST', '/hello', {'Content-Type': 'text/plain'}, 'posted'),
         ('GET', '/gen'), ('GET', '/agen'), ('GET', '/big-gen'), ('HEAD', '/gen')]


async def script(client, log):
    reader = Reader(b'POST /hello?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\n'
                    b'Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhelloNEXT REQUEST')
    req = await Request.create(app, reader, Writer(), ('10.0.0.1', 4321))
    log('create', req.method, req.path, req.query_string, req.url, req.http_version,
        req.headers.get('Host'), req.content_type, req.content_length, req.body,
        list(req.client_addr), req.args.getlist('a'), req.scheme)
    log('left on the reader', reader.left())
    res = await app.dispatch_request(req)
    log('dispatch', res.status_code, res.body, plain(res.headers))
    res.complete()
    log('complete', sorted(plain(res.headers).items()))

    reader = Reader(b'GET /hello HTTP/1.0\nHost: lf-only\n\n')
    req = await Request.create(app, reader, Writer(), None, scheme='https')
    log('lf head', req.method, req.path, req.http_version, req.headers.get('Host'), req.scheme)

    reader = Reader(b'')
    log('empty reader', await Request.create(app, reader, Writer(), None))

    old = Request.max_body_length
    Request.max_body_length = 4
    try:
        reader = Reader(b'POST /hello HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789')
        req = await Request.create(app, reader, Writer(), None)
        log('stream body', req.body, await req.stream.read(10))
    finally:
        Request.max_body_length = old

    for body, status, headers in [('text', 200, None), (b'bytes', 201, {'X-A': 'b'}),
                                  ({'j': 1}, 200, None), ('', 204, None),
                                  ('teapot', 418, {'Content-Type': 'text/html'})]:
        w = Writer()
        res = Response(body, status, headers)
        await res.write(w)
        log('write', parse(w.data))

    def chunks():
        yield 'a'
        yield b'b'
    w = Writer()
    await Response(chunks()).write(w)
    log('write generator', parse(w.data)[2])
    res = Response('head only')
    res.is_head = True
    w = Writer()
    await res.write(w)
    log('write head', parse(w.data))

    log('body_iter bytes', await collect(Response(b'abc')))
    log('body_iter str', await collect(Response('h\u00e9')))
    log('body_iter gen', await collect(Response(chunks())))

    async def achunks():
        yield b'x'
        yield b'y'
    log('body_iter agen', await collect(Response(achunks())))

    s = AsyncBytesIO(b'line1\nline2\nrest')
    log('AsyncBytesIO', await s.readline(), await s.read(3), await s.readexactly(2), await s.read())
