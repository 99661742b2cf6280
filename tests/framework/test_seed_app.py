"""The documentation-style app (seed_app.py) runs unchanged, in-process and over a socket."""
from microdot.test_client import TestClient
from seed_app import create_app
from support import running_server, raw_request


async def test_docs_app_through_the_test_client():
    c = TestClient(create_app())
    res = await c.get('/')
    assert res.text == 'Hello, world!' and 'X-Elapsed' in res.headers
    assert (await c.get('/form')).text == '<p>Hello Unknown</p>'
    res = await c.post('/form', body='name=Ann', headers={
        'Content-Type': 'application/x-www-form-urlencoded'})
    assert res.text == '<p>Hello Ann</p>' and res.headers['Content-Type'] == 'text/html'
    assert (await c.get('/private/data')).status_code == 401
    assert (await c.get('/private/data', headers={'X-Token': 'secret'})).json == {'secret': 42}
    assert (await c.get('/fibonacci')).text.split() == [
        '0', '1', '1', '2', '3', '5', '8', '13', '21', '34', '55', '89']
    res = await c.get('/cookie')
    assert res.headers['Set-Cookie'] == ['name=value; HttpOnly']
    assert (await c.get('/visits')).text == 'visit 1'
    assert (await c.get('/visits')).text == 'visit 2'
    res = await c.get('/old')
    assert res.status_code == 302 and res.headers['Location'] == '/'
    res = await c.get('/static/site.css')
    assert res.text == 'body { color: red; }\n'
    assert res.headers['Content-Type'] == 'text/css'
    assert res.headers['Cache-Control'] == 'max-age=86400'
    assert (await c.get('/static/../seed_app.py')).status_code == 404
    res = await c.get('/nope')
    assert res.status_code == 404 and res.json == {'error': 'resource not found'}
    assert (await c.get('/divide/7/2')).json == {'result': 3}
    res = await c.get('/divide/1/0')
    assert res.status_code == 500 and res.json == {'error': 'division by zero'}
    res = await c.get('/customers/')
    assert res.json == {'customers': ['ann', 'bob'], 'prefix': '/customers'}
    res = await c.post('/customers/', body={'name': 'cy'})
    assert res.status_code == 201 and res.json == {'created': 'cy'}
    assert (await c.get('/orders/12')).json == {'order': 12}


async def test_docs_app_over_a_real_socket_until_shutdown():
    app = create_app()
    async with running_server(app) as port:
        out = await raw_request(port, b'GET /fibonacci HTTP/1.1\r\nConnection: close\r\n\r\n')
        assert out.startswith(b'HTTP/1.1 200 OK') and out.endswith(b'89\n')
        out = await raw_request(port, b'GET /customers/ HTTP/1.0\r\n\r\n')
        assert b'"ann"' in out
        out = await raw_request(port, b'GET /shutdown HTTP/1.1\r\n\r\n')
        assert out.endswith(b'The server is shutting down...')
