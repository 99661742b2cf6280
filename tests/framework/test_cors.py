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
    # (as upstream) merged as a set: the order is not fixed
    assert sorted(v.strip() for v in res.headers['Vary'].split(',')) == ['Accept-Encoding', 'Origin']
    for path, status in (('/missing', 404), ('/boom', 500)):
        res = await client.get(path, headers={'Origin': ORIGIN})
        assert res.status_code == status
        assert res.headers['Access-Control-Allow-Origin'] == ORIGIN


async def test_preflight():
    app, _ = make_app(allowed_origins=[ORIGIN], allow_credentials=True,
                      allowed_methods=['GET', 'POST'], allowed_headers=['Content-Type', 'X-Token'],
                      max_age=600)
    client = TestClient(app)
    res = await client.request('OPTIONS', '/items', headers={
        'Origin': ORIGIN, 'Access-Control-Request-Method': 'post',
        'Access-Control-Request-Headers': 'content-type, X-Other, x-token'})
    assert res.status_code == 200
    assert res.headers['Access-Control-Allow-Origin'] == ORIGIN
    assert res.headers['Access-Control-Allow-Credentials'] == 'true'
    # (as upstream) the asked method is echoed when allowed; asked headers are filtered
    assert res.headers['Access-Control-Allow-Methods'] == 'POST'
    assert res.headers['Access-Control-Allow-Headers'] == 'content-type, x-token'
    assert res.headers['Access-Control-Max-Age'] == '600'
    assert res.headers['Vary'] == 'Origin'
    assert 'POST' in res.headers['Allow']
    # an unlisted origin gets no Allow-Origin/Credentials; a refused method no Allow-Methods
    res = await client.request('OPTIONS', '/items', headers={
        'Origin': 'https://evil.example', 'Access-Control-Request-Method': 'POST'})
    assert res.status_code == 200
    assert 'Access-Control-Allow-Origin' not in res.headers
    assert 'Access-Control-Allow-Credentials' not in res.headers
    assert res.headers['Access-Control-Allow-Methods'] == 'POST'
    res = await client.request('OPTIONS', '/items', headers={
        'Origin': ORIGIN, 'Access-Control-Request-Method': 'DELETE'})
    assert res.headers['Access-Control-Allow-Origin'] == ORIGIN
    assert 'Access-Control-Allow-Methods' not in res.headers
    res = await client.request('OPTIONS', '/items', headers={'Origin': ORIGIN})
    assert 'Access-Control-Allow-Methods' not in res.headers
    assert res.headers['Access-Control-Max-Age'] == '600'


async def test_preflight_reflects_request_when_unconfigured():
    app, _ = make_app(allowed_origins=[ORIGIN])
    res = await TestClient(app).request('OPTIONS', '/items', headers={
        'Origin': ORIGIN, 'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'X-A, X-B'})
    assert res.headers['Access-Control-Allow-Methods'] == 'PUT'
    assert res.headers['Access-Control-Allow-Headers'] == 'X-A, X-B'
    assert 'Access-Control-Max-Age' not in res.headers


async def test_wildcard_origin():
    app, _ = make_app(allowed_origins='*')
    client = TestClient(app)
    # '*' echoes the request's origin (and varies on it); without an Origin it says '*'
    res = await client.get('/items', headers={'Origin': 'https://anyone.example'})
    assert res.headers['Access-Control-Allow-Origin'] == 'https://anyone.example'
    assert res.headers['Vary'] == 'Origin'
    res = await client.get('/items')
    assert res.headers['Access-Control-Allow-Origin'] == '*'
    assert 'Vary' not in res.headers
    app, _ = make_app(allowed_origins='*', allow_credentials=True)
    res = await TestClient(app).get('/items', headers={'Origin': 'https://anyone.example'})
    assert res.headers['Access-Control-Allow-Origin'] == 'https://anyone.example'
    assert res.headers['Access-Control-Allow-Credentials'] == 'true'


async def test_initialize_later_and_handle_cors_false():
    app = Microdot()
    cors = CORS(allowed_origins=[ORIGIN])
    cors.initialize(app)

    @app.get('/')
    async def index(request):
        return 'x'

    res = await TestClient(app).get('/', headers={'Origin': ORIGIN})
    assert res.headers['Access-Control-Allow-Origin'] == ORIGIN

    app2 = Microdot()
    cors2 = CORS(app2, allowed_origins=[ORIGIN], handle_cors=False)

    @app2.get('/')
    async def index2(request):
        # with handle_cors=False the app adds the headers itself
        return 'x', cors2.get_cors_headers(request)

    res = await TestClient(app2).get('/', headers={'Origin': ORIGIN})
    assert res.headers['Access-Control-Allow-Origin'] == ORIGIN
    res = await TestClient(app2).get('/', headers={'Origin': 'https://x.example'})
    assert 'Access-Control-Allow-Origin' not in res.headers
