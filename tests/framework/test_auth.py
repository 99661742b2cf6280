import binascii

from microdot import Microdot
from microdot.auth import BasicAuth, TokenAuth
from microdot.test_client import TestClient

USERS = {'susan': 'hello', 'd\u00e9j\u00e0': 'p:ss'}


def basic(user, password):
    raw = (user + ':' + password).encode()
    return 'Basic ' + binascii.b2a_base64(raw).decode().strip()


def make_basic_app(**kwargs):
    app = Microdot()
    auth = BasicAuth(**kwargs)

    @auth.authenticate
    async def check(request, username, password):
        if USERS.get(username) == password:
            return {'name': username}

    @app.get('/')
    @auth
    async def index(request):
        return 'Hello, ' + request.g.current_user['name']

    @app.get('/maybe')
    @auth.optional
    def maybe(request):  # sync handlers work too
        user = request.g.current_user
        return 'Hello, ' + (user['name'] if user else 'anonymous')

    @app.get('/items/<int:n>')
    @auth
    async def item(request, n):
        return {'n': n, 'user': request.g.current_user['name']}
    return app, auth


async def test_basic_auth():
    app, _ = make_basic_app()
    client = TestClient(app)
    res = await client.get('/')
    assert res.status_code == 401 and res.body == b''  # (as upstream) an empty 401
    assert res.headers['WWW-Authenticate'] == 'Basic realm="Please login", charset="UTF-8"'
    res = await client.get('/', headers={'Authorization': basic('susan', 'hello')})
    assert res.status_code == 200 and res.text == 'Hello, susan'
    res = await client.get('/', headers={'Authorization': basic('d\u00e9j\u00e0', 'p:ss')})
    assert res.text == 'Hello, d\u00e9j\u00e0'  # UTF-8 names, ':' in the password
    res = await client.get('/items/3', headers={'Authorization': basic('susan', 'hello')})
    assert res.json == {'n': 3, 'user': 'susan'}
    for bad in (basic('susan', 'nope'), basic('bob', 'hello'), 'Basic !!!notbase64',
                'Basic ' + binascii.b2a_base64(b'nocolon').decode().strip(),
                'Bearer ' + basic('susan', 'hello')[6:], 'Basic', ''):
        res = await client.get('/', headers={'Authorization': bad})
        assert res.status_code == 401, bad
        assert 'WWW-Authenticate' in res.headers
    # (as upstream) the scheme is matched as written: 'Basic '
    res = await client.get('/', headers={'Authorization': 'basic ' + basic('susan', 'hello')[6:]})
    assert res.status_code == 401


async def test_basic_auth_optional():
    app, _ = make_basic_app()
    client = TestClient(app)
    assert (await client.get('/maybe')).text == 'Hello, anonymous'
    res = await client.get('/maybe', headers={'Authorization': basic('susan', 'hello')})
    assert res.text == 'Hello, susan'
    res = await client.get('/maybe', headers={'Authorization': basic('susan', 'bad')})
    assert res.status_code == 200 and res.text == 'Hello, anonymous'


async def test_basic_auth_options_and_error_handler():
    app, auth = make_basic_app(realm='Device', charset='latin-1', scheme='Custom',
                               error_status=403)
    client = TestClient(app)
    res = await client.get('/')
    # (as upstream) the challenge goes with any error status, with the options as given
    assert res.status_code == 403 and res.body == b''
    assert res.headers['WWW-Authenticate'] == 'Custom realm="Device", charset="latin-1"'
    res = await client.get('/', headers={'Authorization': basic('susan', 'hello')})
    assert res.text == 'Hello, susan'  # credentials are read from 'Basic ' whatever the scheme
    app, auth = make_basic_app()

    async def denied(request):
        return {'error': 'login required'}, 401, {'WWW-Authenticate': 'Basic realm="x"'}
    auth.error_callback = denied  # (upstream's BasicAuth has no errorhandler decorator)

    res = await TestClient(app).get('/')
    assert res.status_code == 401 and res.json == {'error': 'login required'}
    assert res.headers['WWW-Authenticate'] == 'Basic realm="x"'


async def test_token_auth():
    app = Microdot()
    auth = TokenAuth()
    api_key = TokenAuth(header='X-API-Key')
    seen = []

    @auth.authenticate
    def check(request, token):  # a sync callback
        seen.append(token)
        return 'ann' if token == 'tok-123' else None

    @api_key.authenticate
    async def check_key(request, token):
        return 'robot' if token == 'k1' else None

    @app.get('/')
    @auth
    async def index(request):
        return request.g.current_user

    @app.get('/opt')
    @auth.optional
    async def opt(request):
        return str(request.g.current_user)

    @app.get('/machine')
    @api_key
    async def machine(request):
        return request.g.current_user

    client = TestClient(app)
    res = await client.get('/')
    # (as upstream) abort(401): the app's error body, no challenge
    assert res.status_code == 401 and 'WWW-Authenticate' not in res.headers
    assert res.text == '401 error'
    res = await client.get('/', headers={'Authorization': 'Bearer tok-123'})
    assert res.status_code == 200 and res.text == 'ann'
    res = await client.get('/', headers={'Authorization': 'bearer  tok-123 '})
    assert res.status_code == 200 and res.text == 'ann'
    res = await client.get('/', headers={'Authorization': 'Bearer wrong'})
    assert res.status_code == 401
    res = await client.get('/', headers={'Authorization': 'Basic tok-123'})
    assert res.status_code == 401
    assert seen == ['tok-123', 'tok-123', 'wrong']  # the callback is not called for another scheme
    assert (await client.get('/opt')).text == 'None'
    assert (await client.get('/opt', headers={'Authorization': 'Bearer tok-123'})).text == 'ann'
    assert (await client.get('/machine', headers={'X-API-Key': 'k1'})).text == 'robot'
    # a custom header's whole value is the token
    assert (await client.get('/machine', headers={'X-API-Key': 'Bearer k1'})).status_code == 401
    assert (await client.get('/machine', headers={'X-API-Key': 'k2'})).status_code == 401
    assert (await client.get('/machine')).status_code == 401


async def test_custom_token_error_status():
    app = Microdot()
    auth = TokenAuth(error_status=403)

    @auth.authenticate
    async def check(request, token):
        return None

    @app.get('/')
    @auth
    async def index(request):
        return 'no'

    res = await TestClient(app).get('/', headers={'Authorization': 'Bearer x'})
    assert res.status_code == 403 and 'WWW-Authenticate' not in res.headers


async def test_token_error_goes_through_the_apps_error_handlers():
    app = Microdot()
    auth = TokenAuth()

    @auth.authenticate
    async def check(request, token):
        return None

    @app.get('/')
    @auth
    async def index(request):
        return 'no'

    @app.errorhandler(401)
    async def unauthorized(request):
        return {'error': 'unauthorized'}, 401

    res = await TestClient(app).get('/')
    assert res.status_code == 401 and res.json == {'error': 'unauthorized'}
