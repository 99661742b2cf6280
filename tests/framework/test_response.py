import os

from microdot import Microdot, Response, redirect, send_file
from microdot.test_client import TestClient

HERE = __file__.rsplit('/', 1)[0] if '/' in __file__ else '.'


async def test_return_value_forms():
    app = Microdot()

    @app.get('/str')
    async def s(req):
        return 'text'

    @app.get('/bytes')
    async def b(req):
        return b'\x00\x01'

    @app.get('/dict')
    async def d(req):
        return {'a': 1}

    @app.get('/list')
    async def l(req):
        return [1, 2]

    @app.get('/status')
    async def st(req):
        return 'made', 201

    @app.get('/headers')
    async def h(req):
        return '<p>x</p>', {'Content-Type': 'text/html'}

    @app.get('/three')
    async def t(req):
        return 'x', 202, {'X-A': 'b'}

    @app.get('/int')
    async def i(req):
        return 204

    @app.get('/none')
    async def n(req):
        pass

    @app.get('/resp')
    async def r(req):
        return Response('r', status_code=418, headers={'X-R': '1'}, reason='Teapot')

    c = TestClient(app)
    res = await c.get('/str')
    assert res.text == 'text' and res.headers['Content-Type'] == 'text/plain; charset=UTF-8'
    assert (await c.get('/bytes')).body == b'\x00\x01'
    res = await c.get('/dict')
    assert res.json == {'a': 1}
    assert res.headers['Content-Type'] == 'application/json; charset=UTF-8'  # as upstream
    assert (await c.get('/list')).json == [1, 2]
    assert (await c.get('/status')).status_code == 201
    res = await c.get('/headers')
    assert res.headers['Content-Type'] == 'text/html' and res.text == '<p>x</p>'
    res = await c.get('/three')
    assert res.status_code == 202 and res.headers['X-A'] == 'b'
    res = await c.get('/int')
    assert res.status_code == 204 and res.body == b''
    res = await c.get('/none')
    assert res.status_code == 204 and res.body == b''  # None: 204, as upstream
    res = await c.get('/resp')
    assert res.status_code == 418 and res.reason == 'Teapot' and res.headers['X-R'] == '1'


async def test_default_content_type_can_change():
    app = Microdot()

    @app.get('/')
    async def index(req):
        return '<b>x</b>'

    saved = Response.default_content_type
    Response.default_content_type = 'text/html'
    try:
        res = await TestClient(app).get('/')
        assert res.headers['Content-Type'].startswith('text/html')
    finally:
        Response.default_content_type = saved


async def test_streaming_generators():
    app = Microdot()

    @app.get('/sync')
    async def sync_gen(req):
        def gen():
            for i in range(3):
                yield 'line %d\n' % i
        return gen()

    class Countdown:
        def __init__(self, n):
            self.n = n

        def __aiter__(self):
            return self

        async def __anext__(self):
            if self.n == 0:
                raise StopAsyncIteration
            self.n -= 1
            return (str(self.n) + ',').encode()

    @app.get('/async')
    async def async_iter(req):
        return Countdown(3)

    c = TestClient(app)
    res = await c.get('/sync')
    assert res.text == 'line 0\nline 1\nline 2\n'
    assert res.headers.get('Content-Length') is None
    res = await c.get('/async')
    assert res.text == '2,1,0,'


async def test_streaming_uses_chunked_encoding_on_keepalive():
    app = Microdot()

    @app.get('/')
    async def index(req):
        def gen():
            yield 'ab'
            yield 'cde'
        return gen()

    c = TestClient(app)
    raw = b'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    to_server, from_server, task = c.open(raw)
    to_server.feed_eof()
    await task
    out = await from_server.read()
    assert out.count(b'Transfer-Encoding: chunked') == 1  # the second one closes instead
    assert b'2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n' in out
    assert out.count(b'HTTP/1.1 200') == 2


async def test_cookies_set_and_delete():
    app = Microdot()

    @app.get('/')
    async def index(req):
        res = Response('x')
        res.set_cookie('a', '1', path='/', domain='example.com', max_age=60, secure=True,
                       http_only=True, partitioned=True, same_site='Lax')
        res.set_cookie('b', '2', expires='Wed, 21 Oct 2037 07:28:00 GMT')
        res.set_cookie('c', '3', expires=1)  # epoch seconds (upstream takes str/datetime)
        res.set_cookie('e', '5', expires=0)  # a false expires adds nothing, as upstream
        res.delete_cookie('d', path='/p')
        return res

    res = await TestClient(app).get('/')
    cookies = res.headers['Set-Cookie']
    assert cookies[0] == ('a=1; Path=/; Domain=example.com; Max-Age=60; Secure; HttpOnly; '
                          'Partitioned; SameSite=Lax')
    assert cookies[1] == 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT'
    assert cookies[2] == 'c=3; Expires=Thu, 01 Jan 1970 00:00:01 GMT'
    assert cookies[3] == 'e=5'
    assert cookies[4].startswith('d=; Path=/p; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0')


async def test_test_client_cookie_jar():
    app = Microdot()

    @app.get('/set')
    async def set_(req):
        res = Response('set')
        res.set_cookie('session', 'abc')
        return res

    @app.get('/read')
    async def read(req):
        return req.cookies.get('session', 'none')

    @app.get('/clear')
    async def clear(req):
        res = Response('cleared')
        res.delete_cookie('session')
        return res

    c = TestClient(app)
    assert (await c.get('/read')).text == 'none'
    await c.get('/set')
    assert (await c.get('/read')).text == 'abc'
    await c.get('/clear')
    assert (await c.get('/read')).text == 'none'


async def test_redirect_and_header_injection():
    app = Microdot()

    @app.get('/r')
    async def r(req):
        return redirect('/target')

    @app.get('/p')
    async def p(req):
        return redirect('/perm', status_code=301)

    @app.get('/evil')
    async def evil(req):
        return redirect('/x\r\nSet-Cookie: pwned=1')

    @app.get('/evil-header')
    async def evil_header(req):
        return 'x', {'X-A': 'v\r\nSet-Cookie: pwned=1'}

    c = TestClient(app)
    res = await c.get('/r')
    assert res.status_code == 302 and res.headers['Location'] == '/target'
    assert (await c.get('/p')).status_code == 301
    res = await c.get('/evil')
    assert res.status_code == 500 and 'Set-Cookie' not in res.headers
    res = await c.get('/evil-header')
    assert 'Set-Cookie' not in res.headers  # the test client shows the headers as set
    assert res.headers['X-A'] == 'v\r\nSet-Cookie: pwned=1'
    # on the wire the CR/LF are gone: no header is injected
    to_server, from_server, task = c.open(c.build_request('GET', '/evil-header'))
    to_server.feed_eof()
    await task
    head = (await from_server.read()).split(b'\r\n\r\n')[0].split(b'\r\n')
    assert b'X-A: vSet-Cookie: pwned=1' in head
    assert not [line for line in head if line.lower().startswith(b'set-cookie')]


def _write(path, data):
    with open(path, 'wb') as f:
        f.write(data)


async def test_send_file_types_caching_and_compression():
    d = HERE + '/_tmp_files'
    try:
        os.mkdir(d)
    except OSError:
        pass
    _write(d + '/page.html', b'<h1>hi</h1>')
    _write(d + '/app.js.gz', b'\x1f\x8bfakegzip')
    _write(d + '/big.bin', bytes(range(256)) * 20)
    app = Microdot()

    @app.get('/page')
    async def page(req):
        return send_file(d + '/page.html', max_age=3600)

    @app.get('/js')
    async def js(req):
        return send_file(d + '/app.js', compressed=True, file_extension='.gz')

    @app.get('/big')
    async def big(req):
        return send_file(d + '/big.bin')

    @app.get('/stream')
    async def stream(req):
        return send_file('report.csv', stream=open(d + '/page.html', 'rb'))

    @app.get('/missing')
    async def missing(req):
        return send_file(d + '/nope.txt')

    c = TestClient(app)
    try:
        res = await c.get('/page')
        assert res.body == b'<h1>hi</h1>'
        assert res.headers['Content-Type'] == 'text/html'
        assert res.headers['Cache-Control'] == 'max-age=3600'
        assert res.headers['Content-Length'] == '11'
        res = await c.get('/js')
        assert res.headers['Content-Type'] == 'application/javascript'
        assert res.headers['Content-Encoding'] == 'gzip'
        assert res.body == b'\x1f\x8bfakegzip'
        res = await c.get('/big')
        assert res.body == bytes(range(256)) * 20
        assert res.headers['Content-Type'] == 'application/octet-stream'
        res = await c.get('/stream')  # send_file knows upstream's nine types only
        assert res.headers['Content-Type'] == 'application/octet-stream'
        assert res.body == b'<h1>hi</h1>'
        assert (await c.get('/missing')).status_code == 404
    finally:
        for f in ('page.html', 'app.js.gz', 'big.bin'):
            os.remove(d + '/' + f)
        os.rmdir(d)


def test_mime_map_covers_web_assets():
    from microdot.sendfile import TYPES
    for ext in ('html', 'css', 'js', 'json', 'svg', 'png', 'jpg', 'gif', 'ico', 'woff2',
                'txt', 'wasm', 'webp', 'mjs'):
        assert ext in TYPES


async def test_write_to_a_stream_with_only_awrite():
    class AWriter:
        def __init__(self):
            self.data = b''

        async def awrite(self, data):
            self.data += data

    out = AWriter()
    await Response('body', 201, {'X-A': 'b'}).write(out)
    head, _, body = out.data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 201 Created\r\n') and b'\r\nX-A: b' in head
    assert b'\r\nContent-Length: 4' in head and body == b'body'

    def gen():
        yield 'a'
        yield b'b'
    out = AWriter()
    await Response(gen()).write(out)
    assert out.data.endswith(b'\r\n\r\nab')
