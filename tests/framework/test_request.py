from microdot import Microdot, Request, MultiDict
from microdot.test_client import TestClient


def make_echo_app():
    app = Microdot()

    @app.route('/echo', methods=['GET', 'POST', 'PUT'])
    async def echo(req):
        return {
            'method': req.method, 'path': req.path, 'url': req.url,
            'query_string': req.query_string, 'args': req.args.getlist('a'),
            'content_type': req.content_type, 'content_length': req.content_length,
            'body': req.body.decode(), 'json': req.json,
            'form': None if req.form is None else {k: req.form[k] for k in req.form},
            'cookies': req.cookies, 'host': req.headers.get('host'),
            'client': list(req.client_addr), 'scheme': req.scheme,
            'files': req.files, 'app': req.app is app,
        }
    return app


async def test_request_attributes():
    client = TestClient(make_echo_app())
    res = await client.get('/echo?a=1&a=two&b=x%20y', headers={'Cookie': 'k=v; s="q"; e'})
    j = res.json
    assert res.status_code == 200
    assert j['method'] == 'GET' and j['path'] == '/echo'
    assert j['url'] == '/echo?a=1&a=two&b=x%20y'
    assert j['query_string'] == 'a=1&a=two&b=x%20y'
    assert j['args'] == ['1', 'two']
    assert j['cookies'] == {'k': 'v', 's': '"q"', 'e': ''}  # as upstream: quotes kept
    assert j['host'] == 'example.com:1234'  # the TestClient's default Host, as upstream
    assert j['client'][0] == '127.0.0.1'
    assert j['scheme'] == 'http'
    assert j['content_length'] == 0 and j['body'] == ''
    assert j['json'] is None and j['form'] is None and j['files'] is None
    assert j['app'] is True


async def test_json_and_form_bodies():
    client = TestClient(make_echo_app())
    j = (await client.post('/echo', body={'x': [1, 2]})).json
    assert j['json'] == {'x': [1, 2]}
    assert j['content_type'] == 'application/json'
    j = (await client.post('/echo', body='name=Ann+Lee&age=3',
                           headers={'Content-Type': 'application/x-www-form-urlencoded'})).json
    assert j['form'] == {'name': 'Ann Lee', 'age': '3'}
    # as upstream, a body that does not parse raises in the route (500 unless handled)
    res = await client.post('/echo', body='{bad json', headers={'Content-Type': 'application/json'})
    assert res.status_code == 500
    res = await client.post('/echo', body='a=%zz', headers={
        'Content-Type': 'application/x-www-form-urlencoded'})
    assert res.status_code == 500
    from microdot.multidict import parse_qs
    form = parse_qs(b'flag&e=&x=1')  # a form body: a name without '=' gets b'', as upstream
    assert form['flag'] == b'' and form['e'] == '' and form['x'] == '1'
    assert parse_qs('flag&e=')['flag'] == ''  # a query string: ''


async def test_bad_query_string_is_400():
    from microdot import AsyncBytesIO
    app = make_echo_app()
    reader = AsyncBytesIO(b'GET /echo?a=%G1 HTTP/1.1\r\nHost: x\r\n\r\n')
    try:  # as upstream: the request cannot be made ...
        await Request.create(app, reader, None, None)
        raise AssertionError('no ValueError')
    except ValueError:
        pass
    res = await app.dispatch_request(None)  # ... and the server answers it like this
    assert res.status_code == 400 and res.body == b'Bad request'
    reader = AsyncBytesIO(b'GET /echo?a=%&b=%4 HTTP/1.1\r\nHost: x\r\n\r\n')
    req = await Request.create(app, reader, None, None)  # escapes upstream lets through
    assert req.args['a'] == '%' and req.args['b'] == '\x04'


async def test_g_and_request_after_request():
    app = Microdot()

    @app.before_request
    async def before(req):
        req.g.user = 'ann'

    @app.get('/')
    async def index(req):
        @req.after_request
        def add(req, res):
            res.headers['X-User'] = req.g.user
            return res
        return 'hi ' + req.g.user

    res = await TestClient(app).get('/')
    assert res.text == 'hi ann' and res.headers['X-User'] == 'ann'


async def test_large_body_stays_on_stream():
    app = Microdot()
    saved = Request.max_body_length
    Request.max_body_length = 100

    @app.post('/up')
    async def up(req):
        total = 0
        while True:
            chunk = await req.stream.read(37)
            if not chunk:
                break
            total += len(chunk)
        return {'body': len(req.body), 'streamed': total}

    try:
        res = await TestClient(app).post('/up', body=b'x' * 1000)
        assert res.json == {'body': 0, 'streamed': 1000}
        res = await TestClient(app).post('/up', body=b'y' * 50)
        assert res.json == {'body': 50, 'streamed': 50}
    finally:
        Request.max_body_length = saved


async def test_content_length_limit_gives_413():
    app = Microdot()

    @app.post('/')
    async def index(req):
        return 'ok'

    saved = Request.max_content_length
    Request.max_content_length = 10
    try:
        assert (await TestClient(app).post('/', body=b'x' * 11)).status_code == 413
        assert (await TestClient(app).post('/', body=b'x' * 10)).status_code == 200
    finally:
        Request.max_content_length = saved


async def test_chunked_request_body_is_decoded():
    app = Microdot()

    @app.post('/')
    async def index(req):
        return req.body

    client = TestClient(app)
    raw = (b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
           b'5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n')
    to_server, from_server, task = client.open(raw)
    to_server.feed_eof()
    await task
    out = await from_server.read()
    assert out.startswith(b'HTTP/1.1 200 ')
    assert out.endswith(b'\r\n\r\nhello world')


def test_multidict_is_exported_for_args():
    assert issubclass(MultiDict, dict)


def test_computed_attributes_can_still_be_assigned():
    # url, client_addr and content_type are computed on access, yet assignable as in Microdot
    req = Request(None, ('10.0.0.2', 4000), 'GET', '/a/b?x=1', '1.0', {'Content-Type': 'text/csv'})
    assert (req.path, req.query_string, req.url) == ('/a/b', 'x=1', '/a/b?x=1')
    assert req.http_version == '1.0' and req.client_addr == ('10.0.0.2', 4000)
    assert req.content_type == 'text/csv'
    req.url = '/rewritten'
    req.client_addr = ('10.0.0.3', 1)
    req.content_type = 'application/json'
    assert (req.url, req.path) == ('/rewritten', '/a/b')
    assert req.client_addr == ('10.0.0.3', 1) and req.content_type == 'application/json'
    plain = Request(None, None, 'GET', '/', '1.1', {})
    assert plain.url == '/' and plain.client_addr is None and plain.http_version == '1.1'


class _LineReader:
    """A stream offering readline/read/readexactly only (like an asyncio StreamReader)."""
    def __init__(self, data):
        self.data = data

    async def readline(self):
        i = self.data.find(b'\n')
        i = len(self.data) if i < 0 else i + 1
        line, self.data = self.data[:i], self.data[i:]
        return line

    async def read(self, n=-1):
        n = len(self.data) if n < 0 else n
        out, self.data = self.data[:n], self.data[n:]
        return out

    async def readexactly(self, n):
        out = await self.read(n)
        if len(out) < n:
            raise EOFError()
        return out


async def test_create_reads_a_plain_stream_line_by_line():
    app = make_echo_app()
    reader = _LineReader(b'POST /echo?a=1 HTTP/1.1\r\nContent-Type: text/plain\r\n'
                         b'Content-Length: 2\r\n\r\nhiNEXT')
    req = await Request.create(app, reader, None, ('10.0.0.1', 1))
    assert req.method == 'POST' and req.path == '/echo' and req.args['a'] == '1'
    assert req.body == b'hi' and req.client_addr == ('10.0.0.1', 1)
    assert reader.data == b'NEXT'  # nothing past the request was taken
    assert await Request.create(app, _LineReader(b''), None, None) is None
    res = await app.dispatch_request(req)
    assert res.status_code == 200 and b'"body": "hi"' in res.body
