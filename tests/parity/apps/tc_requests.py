"""TestClient parity: how requests are rendered and sent (method, path, headers, bodies),
and how TestResponse is made from the app's response (reason, headers, body, text, json,
events; HEAD, streamed bodies, already-handled responses, a body that is not JSON)."""
import binascii

from microdot import Microdot, Response

app = Microdot()
MODES = ('testclient',)


@app.route('/echo', methods=['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'QUERY', 'HEAD'])
async def echo(request):
    return {'method': request.method, 'path': request.path, 'url': request.url,
            'query': request.query_string, 'version': request.http_version,
            'headers': sorted([k, v] for k, v in request.headers.items()),
            'body': request.body.decode(), 'cookies': sorted(request.cookies.items()),
            'scheme': request.scheme, 'addr': list(request.client_addr),
            'length': request.content_length, 'type': request.content_type,
            'json': request.json}


@app.get('/none')
async def none(request):
    return None


@app.get('/status')
async def status(request):
    return 202


@app.get('/reason')
async def reason(request):
    return Response('brewed', 201, {'X-Pot': 'tea'}, reason='Brewed')


@app.get('/gen')
async def gen(request):
    def chunks():
        yield 'one '
        yield b'two '
        yield 'three'
    return chunks()


class Chunks:
    """An async iterator body (MicroPython has no async generators)."""
    def __init__(self, *parts):
        self.parts = list(parts)

    def __aiter__(self):
        return self

    async def __anext__(self):
        if not self.parts:
            raise StopAsyncIteration
        return self.parts.pop(0)


@app.get('/aiter')
async def aiter_body(request):
    return Chunks('3', b'2', '1', b'0')


class Reader:
    """A file-like body, read in chunks."""
    def __init__(self, size):
        self.data = bytes(i % 251 for i in range(size))
        self.pos = 0

    def read(self, n):
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk


@app.get('/file')
async def file_body(request):
    return Reader(3000), {'Content-Type': 'application/octet-stream'}


@app.get('/binary')
async def binary(request):
    return b'\xff\xfe\x00'


@app.get('/json-list')
async def json_list(request):
    return [1, 'two', None]


@app.get('/json-text')
async def json_text(request):
    return '{"a": [1, 2]}', {'Content-Type': 'application/json'}


@app.get('/json-upper')
async def json_upper(request):
    return '[1]', {'Content-Type': 'Application/JSON'}


@app.get('/not-json')
async def not_json(request):
    return 'not json', {'Content-Type': 'application/json'}


@app.get('/handled')
async def handled(request):
    return Response.already_handled


EVENTS = (b'data: a\n\nevent:tick\nid:7\ndata:{"x": 1}\n\nretry: 2500\ndata: 3\n\n'
          b': comment\n\ndata:\n\nevent: lonely\n\ndata: one\ndata: two\n\n'
          b'retry:5000\ndata: [1, 2]\n\ndata: null\n')


@app.get('/events')
async def events(request):
    return EVENTS, {'Content-Type': 'text/event-stream; charset=UTF-8'}


@app.get('/set-cookies')
async def set_cookies(request):
    res = Response('set')
    res.set_cookie('a', '1')
    res.set_cookie('b', '2', path='/echo', http_only=True)
    return res


AUTH = 'Basic ' + binascii.b2a_base64(b'user:secret').decode()  # ends with '\n'

CASES = [
    ('GET', '/echo'),
    ('GET', '/echo?a=1&b=two'),
    ('POST', '/echo', {}, 'text body'),
    ('POST', '/echo', {'Content-Type': 'text/plain'}, b'\x00bytes'),
    ('PUT', '/echo', {}, {'a': [1, 2]}),
    ('PATCH', '/echo', {'Content-Type': 'text/plain'}, [1, 2]),
    ('DELETE', '/echo'),
    ('QUERY', '/echo', {}, 'q=1'),
    ('POST', '/echo', {'Content-Length': '3'}, 'abcdef'),
    ('GET', '/echo', {'Host': 'other.example', 'X-Number': 5}),
    ('GET', '/echo', {'Cookie': 'mine=1'}),
    ('GET', '/echo', {'Authorization': AUTH, 'X-After': 'lost'}),
    ('POST', '/echo', {'Authorization': AUTH}, 'the body goes too'),
    ('GET', '/echo', {'X-First': 'kept', 'Authorization': AUTH}),
    ('HEAD', '/echo'),
    ('HEAD', '/gen'),
    ('OPTIONS', '/echo'),
    ('GET', '/none'),
    ('GET', '/status'),
    ('GET', '/reason'),
    ('GET', '/gen'),
    ('GET', '/aiter'),
    ('GET', '/file'),
    ('GET', '/binary'),
    ('GET', '/json-list'),
    ('GET', '/json-text'),
    ('GET', '/json-upper'),
    ('GET', '/not-json'),
    ('GET', '/handled'),
    ('GET', '/events'),
    ('GET', '/set-cookies'),
    ('GET', '/missing'),
    ('BREW', '/echo'),
]


async def script(client, log):
    # the headers dict a test passes is the one the client adds to
    headers = {'X-Mine': 'yes'}
    res = await client.post('/echo', headers=headers, body='abc')
    log('post', res, sorted(headers.items()))
    res = await client.get('/set-cookies')
    log('cookies', res, sorted(client.cookies.items()))
    res = await client.get('/echo', headers=headers)  # Content-Length from before, cookies added
    log('reused', res, sorted(headers.items()))
    empty = {}
    await client.get('/echo', headers=empty)
    log('empty dict untouched', empty)
    log('attributes', client.host, client.scheme, type(client.cookies).__name__)
