from microdot import Microdot, URLPattern
from microdot.test_client import TestClient
from support import raises


def test_literal_and_dynamic_segments():
    p = URLPattern('/users/<int:id>/posts/<name>')
    assert p.match('/users/42/posts/hello') == {'id': 42, 'name': 'hello'}
    assert p.match('/users/x/posts/hello') is None
    assert p.match('/users/42/posts') is None
    assert p.match('/users/42/posts/a/b') is None
    assert URLPattern('/n/<int:x>').match('/n/-3') == {'x': -3}
    assert URLPattern('/n/<int:x>').match('/n/0') == {'x': 0}
    # arguments are passed as they are in the path, not percent-decoded (as upstream)
    assert URLPattern('/s/<string:s>').match('/s/a%20b') == {'s': 'a%20b'}
    assert URLPattern('/a/<x>').match('//a/x') is None  # one leading slash, as upstream
    assert URLPattern('/').match('/') == {}
    assert URLPattern('/a').match('/a/') is None


def test_path_and_regex_segments():
    assert URLPattern('/static/<path:p>').match('/static/css/site.css') == {'p': 'css/site.css'}
    assert URLPattern('/static/<path:p>').match('/static/') is None
    mid = URLPattern('/a/<path:p>/end')
    assert mid.match('/a/x/y/end') == {'p': 'x/y'}
    assert mid.match('/a/end') is None
    r = URLPattern('/u/<re:[a-z][a-z0-9]*:user>')
    assert r.match('/u/bob7') == {'user': 'bob7'}
    assert r.match('/u/7bob') is None


def test_custom_types():
    URLPattern.register_type('hex', parser=lambda v: int(v, 16))
    assert URLPattern('/h/<hex:v>').match('/h/ff') == {'v': 255}

    def even(v):
        n = int(v)
        return n if n % 2 == 0 else None
    URLPattern.register_type('even', pattern='[0-9]+', parser=even)
    p = URLPattern('/e/<even:n>')
    assert p.match('/e/4') == {'n': 4}
    assert p.match('/e/5') is None
    assert p.match('/e/x') is None
    URLPattern.register_type('late')  # a type may be registered after the pattern is made
    assert URLPattern('/l/<late:v>').match('/l/q') == {'v': 'q'}
    with raises(ValueError):  # an unknown type fails when the pattern is first used
        URLPattern('/bad/<nosuchtype:x>').match('/bad/1')


async def test_methods_404_405_head_and_options():
    app = Microdot()

    @app.route('/thing', methods=['GET', 'POST'])
    async def thing(req):
        return req.method

    @app.put('/thing')
    async def put_thing(req):
        return 'put'

    @app.delete('/items/<int:id>')
    def delete_item(req, id):
        return 'deleted %d' % id

    @app.patch('/p')
    async def p(req):
        return 'patched'

    @app.query('/search')
    async def search(req):
        return 'query ' + req.body.decode()

    client = TestClient(app)
    assert (await client.get('/thing')).text == 'GET'
    assert (await client.post('/thing')).text == 'POST'
    assert (await client.put('/thing')).text == 'put'
    assert (await client.patch('/p')).text == 'patched'
    assert (await client.delete('/items/7')).text == 'deleted 7'
    assert (await client.query('/search', body='name=x')).text == 'query name=x'
    res = await client.delete('/thing')
    assert res.status_code == 405 and res.text == 'Not found'  # upstream's body for 405 too
    assert (await client.get('/nothing')).status_code == 404
    assert (await client.get('/items/abc')).status_code == 404
    res = await client.head('/thing')
    assert res.status_code == 200
    assert res.body is None and res.text is None  # as Microdot 2.x: no body read for HEAD
    assert res.headers['Content-Length'] == '4'  # the body would be 'HEAD'
    res = await client.options('/thing')
    assert res.status_code == 200
    assert res.headers['Allow'] == 'GET, POST, PUT, HEAD, OPTIONS'  # route order, as upstream
    res = await client.options('/nothing')  # automatic OPTIONS answers any path
    assert res.status_code == 200 and res.headers['Allow'] == 'OPTIONS'


async def test_explicit_options_route_needs_options_handler_off():
    app = Microdot()

    @app.route('/x', methods=['OPTIONS'])
    async def opts(req):
        return 'mine', {'Allow': 'NOTHING'}

    # as upstream: the automatic answer wins while options_handler is set
    res = await TestClient(app).options('/x')
    assert res.text == '' and res.headers['Allow'] == 'OPTIONS, OPTIONS'
    app.options_handler = None
    res = await TestClient(app).options('/x')
    assert res.text == 'mine' and res.headers['Allow'] == 'NOTHING'


async def test_first_registered_route_wins():
    app = Microdot()

    @app.get('/users/<name>')
    async def user(req, name):
        return 'user ' + name

    @app.get('/users/me')
    async def me(req):
        return 'me'

    @app.get('/items/all')
    async def all_items(req):
        return 'all'

    @app.get('/items/<name>')
    async def item(req, name):
        return 'item ' + name

    client = TestClient(app)
    assert (await client.get('/users/me')).text == 'user me'  # added first, as upstream
    assert (await client.get('/users/bob')).text == 'user bob'
    assert (await client.get('/items/all')).text == 'all'
    assert (await client.get('/items/x')).text == 'item x'
    app.url_map.pop(0)  # url_map changed directly: the lookup tables follow
    assert (await client.get('/users/me')).text == 'me'


async def test_paths_are_matched_as_sent():
    app = Microdot()

    @app.get('/hello world')
    async def hw(req):
        return 'hw'

    @app.get('/hello%20world')
    async def encoded(req):
        return 'encoded'

    client = TestClient(app)
    assert (await client.get('/hello%20world')).text == 'encoded'  # no decoding, as upstream
    assert (await client.get('/bad%zzpath')).status_code == 404


async def test_mount_with_prefix_and_request_attributes():
    sub = Microdot()
    seen = []

    @sub.before_request
    async def sub_before(req):
        seen.append('sub-before ' + req.path)

    @sub.get('/')
    async def index(req):
        return '%s|%s|%s' % (req.url_prefix, req.subapp is sub, req.route is index)

    @sub.get('/<int:id>')
    async def one(req, id):
        return 'one %d' % id

    app = Microdot()

    @app.get('/')
    async def root(req):
        return 'root %r' % (req.subapp,)

    app.mount(sub, url_prefix='/customers')
    client = TestClient(app)
    assert (await client.get('/customers/')).text == '/customers|True|True'
    assert (await client.get('/customers/3')).text == 'one 3'
    assert (await client.get('/')).text == 'root None'
    # not local: the sub-application's hooks now apply everywhere
    assert seen == ['sub-before /customers/', 'sub-before /customers/3', 'sub-before /']


async def test_local_mount_keeps_hooks_and_error_handlers_inside():
    sub = Microdot()
    seen = []

    @sub.before_request
    def sub_before(req):
        seen.append(req.path)

    @sub.errorhandler(404)
    async def sub404(req):
        return 'sub 404', 404

    @sub.get('/x')
    async def x(req):
        return 'x'

    @sub.get('/fail')
    async def fail(req):
        return 1 / 0

    @sub.errorhandler(ZeroDivisionError)
    async def zde(req, exc):
        return 'sub zde', 500

    app = Microdot()

    @app.get('/y')
    async def y(req):
        return 1 / 0

    app.mount(sub, url_prefix='/sub', local=True)
    client = TestClient(app)
    assert (await client.get('/sub/x')).text == 'x'
    assert (await client.get('/y')).status_code == 500
    assert (await client.get('/y')).text != 'sub zde'
    assert (await client.get('/sub/fail')).text == 'sub zde'
    assert seen == ['/sub/x', '/sub/fail']
    res = await client.get('/nope')
    assert res.status_code == 404 and res.text != 'sub 404'
