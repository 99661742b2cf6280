from microdot import Microdot, HTTPException, abort
from microdot.test_client import TestClient


async def test_before_request_can_short_circuit():
    app = Microdot()
    calls = []

    @app.before_request
    async def first(req):
        calls.append('first')

    @app.before_request
    def auth(req):
        calls.append('auth')
        if req.headers.get('Authorization') != 'yes':
            return 'denied', 401

    @app.get('/')
    async def index(req):
        calls.append('index')
        return 'ok'

    c = TestClient(app)
    res = await c.get('/')
    assert res.status_code == 401 and res.text == 'denied'
    assert calls == ['first', 'auth']
    res = await c.get('/', headers={'Authorization': 'yes'})
    assert res.text == 'ok'


async def test_after_request_can_replace_or_modify():
    app = Microdot()

    @app.after_request
    async def modify(req, res):
        res.headers['X-One'] = '1'

    @app.after_request
    def replace(req, res):
        if req.path == '/replace':
            return 'replaced'

    @app.get('/')
    async def index(req):
        return 'index'

    @app.get('/replace')
    async def rep(req):
        return 'original'

    c = TestClient(app)
    res = await c.get('/')
    assert res.text == 'index' and res.headers['X-One'] == '1'
    assert (await c.get('/replace')).text == 'replaced'


async def test_error_handlers_and_after_error_request():
    app = Microdot()
    errors = []

    @app.after_error_request
    async def after_error(req, res):
        errors.append(res.status_code)
        res.headers['X-Error'] = 'yes'
        return res

    @app.after_request
    async def after(req, res):
        res.headers['X-After'] = 'yes'

    @app.errorhandler(404)
    async def not_found(req):
        return {'error': 'not found'}, 404

    @app.errorhandler(LookupError)
    async def lookup(req, exc):
        return 'lookup: ' + type(exc).__name__, 400

    @app.get('/key')
    async def key(req):
        return {}['missing']

    @app.get('/abort')
    async def ab(req):
        abort(403, 'Nope')

    @app.get('/abort2')
    async def ab2(req):
        Microdot.abort(409)

    @app.get('/crash')
    async def crash(req):
        raise RuntimeError('secret detail')

    c = TestClient(app)
    res = await c.get('/missing')
    assert res.status_code == 404 and res.json == {'error': 'not found'}
    assert res.headers['X-Error'] == 'yes' and 'X-After' not in res.headers
    res = await c.get('/key')  # KeyError -> LookupError handler via the class hierarchy
    assert res.status_code == 400 and res.text == 'lookup: KeyError'
    res = await c.get('/abort')
    assert res.status_code == 403 and res.text == 'Nope'
    assert (await c.get('/abort2')).status_code == 409
    res = await c.get('/crash')
    assert res.status_code == 500
    assert 'secret' not in res.text and 'Traceback' not in res.text
    assert errors == [404, 400, 403, 409, 500]


async def test_most_specific_exception_handler_wins():
    app = Microdot()

    class AppError(Exception):
        pass

    class NotAllowed(AppError):
        pass

    @app.errorhandler(Exception)
    async def generic(req, exc):
        return 'generic', 500

    @app.errorhandler(AppError)
    async def app_error(req, exc):
        return 'app error', 400

    @app.get('/a')
    async def a(req):
        raise NotAllowed()

    @app.get('/b')
    async def b(req):
        raise ValueError()

    c = TestClient(app)
    assert (await c.get('/a')).text == 'app error'
    assert (await c.get('/b')).text == 'generic'


async def test_error_handler_that_fails_gives_500():
    app = Microdot()

    @app.errorhandler(404)
    async def broken(req):
        raise RuntimeError('oops')

    res = await TestClient(app).get('/x')
    assert res.status_code == 500


async def test_http_exception_handler_by_status():
    app = Microdot()

    @app.errorhandler(403)
    async def forbidden(req):
        return 'custom forbidden', 403

    @app.get('/')
    async def index(req):
        raise HTTPException(403)

    res = await TestClient(app).get('/')
    assert res.status_code == 403 and res.text == 'custom forbidden'


async def test_sync_handlers_and_hooks_work():
    app = Microdot()

    @app.before_request
    def before(req):
        req.g.x = 1

    @app.get('/<int:n>')
    def double(req, n):
        return {'n': n * 2, 'x': req.g.x}

    res = await TestClient(app).get('/21')
    assert res.json == {'n': 42, 'x': 1}
