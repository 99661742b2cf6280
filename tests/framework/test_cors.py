from microdot import Microdot
from microdot.cors import CORS
from microdot.test_client import TestClient

ORIGIN = 'https://app.example.com'


def make_app(**kwargs):
    app = Microdot()
    cors = CORS(app, **kwargs)

    @app.route('/items', methods=['GET', 'POST'])
    async def items(request):
        return {'ok': True}

    @app.get('/varied')
    async def varied(request):
        return 'v', {'Vary': 'Accept-Encoding'}

    @app.get('/boom')
    async def boom(request):
        raise RuntimeError('boom')
    return app, cors


async def test_simple_requests_from_listed_origin():
    app, _ = make_app(allowed_origins=[ORIGIN], expose_headers=['X-Total'])
    client = TestClient(app)
    res = await client.get('/items', headers={'Origin': ORIGIN})
    assert res.status_code == 200
    assert res.headers['Access-Control-Allow-Origin'] == ORIGIN
    assert res.headers['Vary'] == 'Origin'
    assert res.headers['Access-Control-Expose-Headers'] == 'X-Total'
    assert 'Access-Control-Allow-Credentials' not in res.headers
    res = await client.get('/items', headers={'Origin': 'https://evil.example'})
    assert res.status_code == 200 and 'Access-Control-Allow-Origin' not in res.headers
    res = await client.get('/items')
    assert 'Access-Control-Allow-Origin' not in res.headers
    # existing Vary values are kept; errors get CORS headers too
    res = await client.get('/varied', headers={'Origin': ORIGIN})
    assert res.headers['Vary'] == 'Accept-Encoding, Origin'
    for path, status in (('/missing', 404), ('/boom', 500)):
        res = await client.get(path, headers={'Origin': ORIGIN})
        assert res.status_code == status
        assert res.headers['Access-Control-Allow-Origin'] == ORIGIN


async def test_preflight():
    app, _ = make_app(allowed_origins=[ORIGIN], allow_credentials=True,
                      allowed_methods=['GET', 'POST'], allowed_headers=['Content-Type', 'X-Token'],
                      max_age=600)
    client = TestClient(app)
    res = await client.options('/items', headers={
        'Origin': ORIGIN, 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type, x-token'})
    assert res.status_code == 200
    assert res.headers['Access-Control-Allow-Origin'] == ORIGIN
    assert res.headers['Access-Control-Allow-Credentials'] == 'true'
    assert res.headers['Access-Control-Allow-Methods'] == 'GET, POST'
    assert res.headers['Access-Control-Allow-Headers'] == 'Content-Type, X-Token'
    assert res.headers['Access-Control-Max-Age'] == '600'
    assert res.headers['Vary'] == 'Origin'
    assert 'POST' in res.headers['Allow']
    # bad preflights get a plain (non-CORS) answer, never an error
    for headers in ({'Origin': 'https://evil.example', 'Access-Control-Request-Method': 'POST'},
                    {'Origin': ORIGIN, 'Access-Control-Request-Method': 'DELETE'},
                    {'Origin': ORIGIN, 'Access-Control-Request-Method': 'POST',
                     'Access-Control-Request-Headers': 'X-Other'},
                    {'Origin': ORIGIN, 'Access-Control-Request-Method': ''},
                    {'Origin': '', 'Access-Control-Request-Method': 'POST'}):
        res = await client.options('/items', headers=headers)
        assert res.status_code == 200, headers
        assert 'Access-Control-Allow-Methods' not in res.headers
        assert 'Access-Control-Allow-Headers' not in res.headers
    res = await client.options('/nowhere', headers={
        'Origin': ORIGIN, 'Access-Control-Request-Method': 'GET'})
    assert res.status_code == 404


async def test_preflight_reflects_request_when_unconfigured():
    app, _ = make_app(allowed_origins=[ORIGIN])
    res = await TestClient(app).options('/items', headers={
        'Origin': ORIGIN, 'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'X-A, X-B'})
    assert res.headers['Access-Control-Allow-Methods'] == 'PUT'
    assert res.headers['Access-Control-Allow-Headers'] == 'X-A, X-B'
    assert 'Access-Control-Max-Age' not in res.headers


async def test_wildcard_origin():
    app, _ = make_app(allowed_origins='*')
    client = TestClient(app)
    res = await client.get('/items', headers={'Origin': 'https://anyone.example'})
    assert res.headers['Access-Control-Allow-Origin'] == '*'
    assert 'Vary' not in res.headers
    # with credentials '*' is not allowed by browsers: the origin is reflected
    app, _ = make_app(allowed_origins='*', allow_credentials=True)
    res = await TestClient(app).get('/items', headers={'Origin': 'https://anyone.example'})
    assert res.headers['Access-Control-Allow-Origin'] == 'https://anyone.example'
    assert res.headers['Vary'] == 'Origin'
    assert res.headers['Access-Control-Allow-Credentials'] == 'true'


async def test_initialize_later_and_handle_cors_false():
    app = Microdot()
    cors = CORS()
    cors.initialize(app, allowed_origins=[ORIGIN])

    @app.get('/')
    async def index(request):
        return 'x'

    res = await TestClient(app).get('/', headers={'Origin': ORIGIN})
    assert res.headers['Access-Control-Allow-Origin'] == ORIGIN

    app2 = Microdot()
    cors2 = CORS(app2, allowed_origins=[ORIGIN], handle_cors=False)

    @app2.get('/')
    async def index2(request):
        return 'x'

    res = await TestClient(app2).get('/', headers={'Origin': ORIGIN})
    assert 'Access-Control-Allow-Origin' not in res.headers
    assert cors2.origin_allowed(ORIGIN) and not cors2.origin_allowed('https://x.example')
