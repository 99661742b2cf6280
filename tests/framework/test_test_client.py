"""The test client itself: it must behave as Microdot 2.x's TestClient (requests rendered
and parsed the same way, TestResponse made from the app's Response, the same cookie jar,
the same websocket generator protocol), since users bring tests written against it."""
import binascii

from microdot import Microdot, Response
from microdot.test_client import TestClient, TestResponse, MemoryPipe
from microdot.websocket import with_websocket
from support import raises


def echo_app():
    app = Microdot()

    @app.route('/echo', methods=['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'])
    async def echo(req):
        return {'method': req.method, 'url': req.url, 'version': req.http_version,
                'headers': sorted([k, v] for k, v in req.headers.items()),
                'body': req.body.decode(), 'addr': list(req.client_addr),
                'scheme': req.scheme, 'cookies': sorted(req.cookies.items())}
    return app


async def test_requests_as_upstream_renders_them():
    client = TestClient(echo_app())
    j = (await client.get('/echo?x=1')).json
    assert j['version'] == '1.0' and j['url'] == '/echo?x=1'
    assert j['headers'] == [['Host', 'example.com:1234']]  # no Content-Length for no body
    assert j['addr'] == ['127.0.0.1', 1234] and j['scheme'] == 'http'
    j = (await client.post('/echo', body={'a': [1]})).json
    assert j['headers'] == [['Content-Length', '10'], ['Content-Type', 'application/json'],
                            ['Host', 'example.com:1234']]
    assert j['body'] == '{"a": [1]}'
    j = (await client.put('/echo', headers={'Content-Type': 'text/x'}, body=[1])).json
    assert ['Content-Type', 'text/x'] in j['headers']
    assert (await client.patch('/echo', body=b'\x00\x01')).json['body'] == '\x00\x01'
    # the headers dict given is the one the client adds to (as upstream)
    headers = {'X-A': '1'}
    await client.post('/echo', headers=headers, body='abc')
    assert headers == {'X-A': '1', 'Content-Length': '3'}
    other = TestClient(echo_app(), scheme='https', host='dev.local')
    j = (await other.get('/echo')).json
    assert j['scheme'] == 'https' and j['headers'] == [['Host', 'dev.local']]
    assert (await other.get('/echo', headers={'Host': 'mine'})).json['headers'] == \
        [['Host', 'mine']]


async def test_header_value_ending_in_newline_ends_the_head():
    # binascii.b2a_base64 ends with '\n': upstream's head ends there (later headers and
    # the body are not seen) and the request is still answered
    auth = 'Basic ' + binascii.b2a_base64(b'user:pass').decode()
    client = TestClient(echo_app())
    res = await client.get('/echo', headers={'Authorization': auth, 'X-Later': 'lost'})
    assert res.status_code == 200
    assert res.json['headers'] == [['Authorization', 'Basic dXNlcjpwYXNz'],
                                   ['Host', 'example.com:1234']]
    res = await client.post('/echo', headers={'Authorization': auth}, body='gone')
    assert res.status_code == 200 and res.json['body'] == ''


async def test_malformed_request_raises_value_error():
    client = TestClient(echo_app())
    with raises(ValueError):
        await client.get('/echo', headers={'X-A': 'v\nno colon here'})
    with raises(ValueError):
        await client.get('/echo x')


async def test_response_attributes():
    app = Microdot()

    @app.get('/reason')
    async def reason(req):
        return Response('r', 201, {'X-A': 'b'}, reason='Made')

    @app.get('/plain')
    async def plain(req):
        return 'text'

    @app.get('/none')
    async def none(req):
        return None

    @app.get('/gen')
    async def gen(req):
        def chunks():
            yield 'a'
            yield b'b'
        return chunks()

    @app.get('/bin')
    async def binary(req):
        return b'\xff'

    @app.get('/badjson')
    async def badjson(req):
        return 'nope', {'Content-Type': 'application/json'}

    @app.get('/handled')
    async def handled(req):
        return Response.already_handled

    client = TestClient(app)
    res = await client.get('/reason')
    assert (res.status_code, res.reason, res.body, res.text) == (201, 'Made', b'r', 'r')
    assert res.headers['x-a'] == 'b' and res.json is None and res.events is None
    res = await client.get('/plain')
    assert res.reason is None  # not the standard phrase: only what the app set
    assert res.headers == {'Content-Length': '4', 'Content-Type': 'text/plain; charset=UTF-8'}
    res = await client.get('/none')
    assert res.status_code == 204 and res.body == b''
    res = await client.get('/gen')
    assert res.body == b'ab' and 'Content-Length' not in res.headers
    res = await client.request('HEAD', '/gen')
    assert res.status_code == 200 and res.body is None and res.text is None
    res = await client.get('/bin')
    assert res.body == b'\xff' and res.text is None
    with raises(ValueError):
        await client.get('/badjson')
    res = await client.get('/handled')
    assert res.status_code is None and res.headers == {} and res.body is None
    blank = TestResponse()
    assert (blank.status_code, blank.reason, blank.body, blank.json) == (None, None, None, None)
    made = await TestResponse.create(Response('direct', 202))
    assert made.status_code == 202 and made.text == 'direct'


async def test_sse_events_parsed_as_upstream():
    app = Microdot()

    @app.get('/e')
    async def e(req):
        return (b'data: a\n\nevent:tick\nid:7\ndata: {"x": 1}\n\nretry: 2500\ndata: 3\n\n'
                b': comment\n\ndata: one\ndata: two\n\n'), {'Content-Type': 'text/event-stream'}

    ev = (await TestClient(app).get('/e')).events
    assert [e['data'] for e in ev] == [b'a', b'{"x": 1}', b'3', b'two']
    assert ev[1]['event'] == 'tick' and ev[1]['event_id'] == '7'
    assert ev[1]['data_json'] == {'x': 1} and ev[0]['data_json'] is None
    assert ev[2]['retry'] == 2.5 and ev[0]['retry'] is None


async def test_cookie_jar():
    app = Microdot()

    @app.get('/set')
    async def set_(req):
        res = Response('s')
        res.set_cookie('a', '1')
        res.set_cookie('b', '2', path='/Shop')
        res.set_cookie('c', '3', http_only=True)
        return res

    @app.get('/delete')
    async def delete(req):
        res = Response('d')
        res.delete_cookie('a')
        res.delete_cookie('b')                 # stored for /shop: not this one
        res.delete_cookie('c', path='/other')  # stored for /: not this one
        return res

    @app.get('/delete-path')
    async def delete_path(req):
        res = Response('d')
        res.delete_cookie('b', path='/shop')
        res.set_cookie('c', 'x', max_age=0)
        res.set_cookie('d', 'y', expires='Thu, 01 Jan 1970 00:00:00 GMT')
        return res

    @app.route('/<path:p>')
    async def page(req, p):
        return req.headers.get('Cookie', '')

    jar = {'d': '4', 'e': ('5', '/shop')}
    client = TestClient(app, cookies=jar)
    assert client.cookies is jar  # the dict given is the jar
    assert (await client.get('/page')).text == 'd=4'
    assert sorted((await client.get('/shop/x')).text.split('; ')) == ['d=4', 'e=5']
    await client.get('/set')
    assert jar == {'a': '1', 'b': ('2', '/shop'), 'c': '3', 'd': '4', 'e': ('5', '/shop')}
    sent = (await client.get('/page', headers={'Cookie': 'own=1'})).text.split('; ')
    assert sent[0] == 'own=1' and sorted(sent[1:]) == ['a=1', 'c=3', 'd=4']
    await client.get('/delete')
    assert sorted(jar) == ['b', 'c', 'd', 'e']
    await client.get('/delete-path')
    assert jar == {'e': ('5', '/shop')}


def make_ws_app():
    app = Microdot()

    @app.route('/echo')
    @with_websocket
    async def echo(request, ws):
        while True:
            await ws.send(await ws.receive())

    @app.route('/greet')
    @with_websocket
    async def greet(request, ws):
        await ws.send('dropped')  # sent before the first receive
        msg = await ws.receive()
        await ws.send('first')
        await ws.send('got ' + msg)  # the generator answers this one
        await ws.send(await ws.receive())

    return app


async def test_websocket_generator_client():
    client = TestClient(make_ws_app())
    got = []

    def session():
        got.append((yield 'hello'))
        got.append((yield b'\x00bin'))

    res = await client.websocket('/echo', session)
    assert res.status_code is None and res.body is None
    assert got == ['hello', b'\x00bin'] and isinstance(got[1], bytearray)
    got = []

    def talk():
        got.append((yield 'a'))
        got.append((yield 'b'))
        got.append((yield 'c'))

    await client.websocket('/greet', talk)
    assert got == ['first', 'got a', 'c']


async def test_memory_pipe_reads_across_feeds():
    pipe = MemoryPipe()
    pipe.feed(b'GET / HTTP/1.1\r\nHo')
    pipe.feed(b'st: x\r\n\r\nbody')
    assert await pipe.readline() == b'GET / HTTP/1.1\r\n'
    assert await pipe.readline() == b'Host: x\r\n'
    assert await pipe.readexactly(2) == b'\r\n'
    pipe.feed(b'+more')
    assert await pipe.read(3) == b'bod'
    pipe.feed_eof()
    assert await pipe.read() == b'y+more'
    assert await pipe.readline() == b''
    with raises(EOFError):
        await pipe.readexactly(1)
