"""microdot.static: a directory served below a prefix, confined to its root."""
import os

from microdot import Microdot
from microdot.static import Static
from microdot.test_client import TestClient
from support import cpython_only, running_server

try:
    from test_hostile import exchange
except ImportError:  # pragma: no cover
    exchange = None

_counter = [0]


def _rmtree(path):
    try:
        os.remove(path)  # a file, or a symlink (never followed)
        return
    except OSError:
        pass
    try:
        entries = os.listdir(path)
    except OSError:
        return
    for name in entries:
        _rmtree(path + '/' + name)
    os.rmdir(path)


def _write(path, data):
    with open(path, 'wb') as f:
        f.write(data)


class Tree:
    """A scratch directory: ``root/`` is served, ``secret.txt`` sits next to it."""
    def __enter__(self):
        _counter[0] += 1
        base = '/tmp/md-static-%d-%d' % (os.getpid() if hasattr(os, 'getpid') else 0,
                                         _counter[0])
        _rmtree(base)
        os.mkdir(base)
        self.base = base
        self.root = base + '/root'
        os.mkdir(self.root)
        os.mkdir(self.root + '/sub')
        os.mkdir(self.root + '/empty')
        _write(base + '/secret.txt', b'top secret')
        _write(self.root + '/index.html', b'<h1>home</h1>')
        _write(self.root + '/hello.txt', b'hello world')
        _write(self.root + '/sub/index.html', b'sub index')
        _write(self.root + '/sub/data.json', b'{"a": 1}')
        _write(self.root + '/app.js', b'console.log(1)')
        _write(self.root + '/app.js.gz', b'\x1f\x8bFAKEGZIP')
        _write(self.root + '/only.css.gz', b'\x1f\x8bCSSGZ')
        _write(self.root + '/.env', b'PASSWORD=1')
        _write(self.root + '/big.bin', b'0123456789' * 3000)
        return self

    def __exit__(self, *exc):
        _rmtree(self.base)
        return False

    def app(self, **kwargs):
        app = Microdot()
        Static(self.root, **kwargs).mount(app, '/static')
        return app


async def test_serves_files_with_type_length_etag_and_cache_control():
    with Tree() as t:
        client = TestClient(t.app(max_age=600))
        res = await client.get('/static/hello.txt')
        assert res.status_code == 200
        assert res.body == b'hello world'
        assert res.headers['Content-Type'].startswith('text/plain')
        assert res.headers['Content-Length'] == '11'
        assert res.headers['Cache-Control'] == 'max-age=600'
        assert res.headers['ETag'].startswith('"b-')
        res = await client.get('/static/sub/data.json')
        assert res.json == {'a': 1}
        assert res.headers['Content-Type'] == 'application/json'
        res = await client.get('/static/big.bin')
        assert res.body == b'0123456789' * 3000
        assert res.headers['Content-Type'] == 'application/octet-stream'
        res = await client.head('/static/hello.txt')
        assert res.status_code == 200 and res.headers['Content-Length'] == '11'


async def test_default_cache_control_is_no_cache():
    with Tree() as t:
        res = await TestClient(t.app()).get('/static/hello.txt')
        assert res.headers['Cache-Control'] == 'no-cache'


async def test_index_files():
    with Tree() as t:
        client = TestClient(t.app())
        assert (await client.get('/static/')).body == b'<h1>home</h1>'
        assert (await client.get('/static/sub/')).body == b'sub index'
        assert (await client.get('/static/sub')).body == b'sub index'
        assert (await client.get('/static/empty/')).status_code == 404
        client = TestClient(t.app(index=None))
        assert (await client.get('/static/sub/')).status_code == 404


async def test_if_none_match_gives_304():
    with Tree() as t:
        client = TestClient(t.app())
        etag = (await client.get('/static/hello.txt')).headers['ETag']
        res = await client.get('/static/hello.txt', headers={'If-None-Match': etag})
        assert res.status_code == 304
        assert res.body == b''
        assert res.headers['ETag'] == etag
        res = await client.get('/static/hello.txt', headers={'If-None-Match': '"x", W/' + etag})
        assert res.status_code == 304
        res = await client.get('/static/hello.txt', headers={'If-None-Match': '*'})
        assert res.status_code == 304
        res = await client.get('/static/hello.txt', headers={'If-None-Match': '"other"'})
        assert res.status_code == 200 and res.body == b'hello world'
        # a changed file gets a new tag
        _write(t.root + '/hello.txt', b'hello world, again')
        res = await client.get('/static/hello.txt', headers={'If-None-Match': etag})
        assert res.status_code == 200 and res.headers['ETag'] != etag


async def test_pre_gzipped_variant():
    with Tree() as t:
        client = TestClient(t.app())
        res = await client.get('/static/app.js', headers={'Accept-Encoding': 'gzip, deflate, br'})
        assert res.status_code == 200
        assert res.body == b'\x1f\x8bFAKEGZIP'
        assert res.headers['Content-Encoding'] == 'gzip'
        assert res.headers['Content-Type'] == 'application/javascript'
        assert res.headers['Vary'] == 'Accept-Encoding'
        gz_etag = res.headers['ETag']
        res = await client.get('/static/app.js')
        assert res.body == b'console.log(1)'
        assert 'Content-Encoding' not in res.headers
        assert res.headers['Vary'] == 'Accept-Encoding'
        assert res.headers['ETag'] != gz_etag
        res = await client.get('/static/app.js', headers={'Accept-Encoding': 'gzip;q=0'})
        assert res.body == b'console.log(1)'
        res = await client.get('/static/only.css', headers={'Accept-Encoding': 'gzip'})
        assert res.body == b'\x1f\x8bCSSGZ' and res.headers['Content-Type'] == 'text/css'
        assert (await client.get('/static/only.css')).status_code == 406
        res = await client.get('/static/app.js', headers={'Accept-Encoding': 'gzip',
                                                           'If-None-Match': gz_etag})
        assert res.status_code == 304
        client = TestClient(t.app(gzip=False))
        res = await client.get('/static/app.js', headers={'Accept-Encoding': 'gzip'})
        assert res.body == b'console.log(1)'


TRAVERSALS = [
    '/static/../secret.txt',
    '/static/sub/../../secret.txt',
    '/static/%2e%2e/secret.txt',
    '/static/%2E%2E%2Fsecret.txt',
    '/static/..%2fsecret.txt',
    '/static/sub%2f..%2f..%2fsecret.txt',
    '/static//tmp/secret.txt',
    '/static/%2ftmp%2fsecret.txt',
    '/static/..%5csecret.txt',
    '/static/sub\\..\\..\\secret.txt',
    '/static/hello.txt%00.png',
    '/static/./hello.txt',
    '/static/.env',
    '/static/sub/%2e%2e/%2e%2e/secret.txt',
    '/static/%252e%252e/secret.txt',
]


async def test_paths_outside_the_root_are_refused():
    with Tree() as t:
        client = TestClient(t.app())
        for path in TRAVERSALS:
            res = await client.get(path)
            assert res.status_code in (400, 404), (path, res.status_code)
            assert b'secret' not in res.body and b'PASSWORD' not in res.body, path


def test_resolve_is_confined():
    s = Static('/srv/www')
    assert s.resolve('a/b.txt') == '/srv/www/a/b.txt'
    assert s.resolve('a/') == '/srv/www/a'
    for bad in ('', '/', '/etc/passwd', '..', 'a/../../b', 'a//b', './a', 'a\\..\\b', 'a\x00b',
                '.git/config', 'a/.hidden'):
        assert s.resolve(bad) is None, bad


async def test_traversal_over_raw_sockets():
    # no client-side normalisation: the raw bytes reach the server as sent
    with Tree() as t:
        app = t.app()
        async with running_server(app) as port:
            for path in TRAVERSALS:
                out = await exchange(port, ('GET %s HTTP/1.1\r\nConnection: close\r\n\r\n'
                                            % path).encode())
                assert out[9:12] in (b'400', b'404'), (path, out[:40])
                assert b'secret' not in out
            out = await exchange(port, b'GET /static/hello.txt HTTP/1.1\r\nConnection: close'
                                       b'\r\n\r\n')
            assert out.endswith(b'\r\n\r\nhello world')


@cpython_only
async def test_symlink_out_of_the_root_is_refused():
    with Tree() as t:
        os.symlink(t.base + '/secret.txt', t.root + '/link.txt')
        os.symlink(t.base, t.root + '/up')
        os.symlink(t.root + '/hello.txt', t.root + '/inside.txt')
        client = TestClient(t.app())
        assert (await client.get('/static/link.txt')).status_code == 404
        assert (await client.get('/static/up/secret.txt')).status_code == 404
        assert (await client.get('/static/inside.txt')).body == b'hello world'


async def test_route_of_your_own():
    with Tree() as t:
        app = Microdot()
        static = Static(t.root, max_age=60)

        @app.get('/')
        async def index(req):
            return static.response(req, 'index.html')

        res = await TestClient(app).get('/')
        assert res.body == b'<h1>home</h1>' and res.headers['Content-Type'] == 'text/html'
        assert res.headers['Cache-Control'] == 'max-age=60'

