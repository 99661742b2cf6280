"""WSGI adapter (CPython only): the application driven as a WSGI server drives it
(environ, start_response status and headers, streamed bodies, errors), and the same app
through the test client and its embedded server."""
import asyncio
import io

from microdot import Response
from microdot.wsgi import Microdot

RUNTIMES = ('cpython',)
app = Microdot()


@app.route('/hello/<name>', methods=['GET', 'POST'])
async def hello(request, name):
    return {'name': name, 'method': request.method, 'args': dict(request.args),
            'body': request.body.decode(), 'type': request.content_type,
            'client': request.client_addr[0], 'port': isinstance(request.client_addr[1], int),
            'scheme': request.scheme,
            'ua': request.headers.get('User-Agent'), 'x': request.headers.get('X-Long-Name'),
            'environ': hasattr(request, 'environ')}


@app.get('/cookie')
async def cookie(request):
    res = Response('set', 201, {'X-Custom': 'yes'})
    res.set_cookie('a', '1')
    res.set_cookie('b', '2', http_only=True)
    return res


@app.get('/stream')
async def stream(request):
    async def gen():
        for i in range(3):
            yield 'part %d\n' % i
    return gen()


@app.get('/teapot')
async def teapot(request):
    return 'short and stout', 418


@app.get('/fail')
def fail(request):  # a sync handler
    return 1 // 0


@app.get('/empty')
async def empty(request):
    return 204


@app.post('/big')
async def big(request):
    first = await request.stream.read(1000)
    rest = await request.stream.read(100000)
    return {'first': len(first), 'rest': len(rest), 'body': len(request.body)}


CASES = [('GET', '/hello/ann?x=1'), ('POST', '/hello/bob', {'Content-Type': 'text/plain'}, b'hi'),
         ('GET', '/cookie'), ('GET', '/stream'), ('GET', '/teapot'), ('GET', '/fail'),
         ('GET', '/missing')]


def _environ(path, method='GET', query='', body=b'', headers=None):
    env = {'REQUEST_METHOD': method, 'SCRIPT_NAME': '', 'PATH_INFO': path,
           'QUERY_STRING': query, 'SERVER_PROTOCOL': 'HTTP/1.1', 'REMOTE_ADDR': '10.1.2.3',
           'REMOTE_PORT': '4567', 'wsgi.url_scheme': 'https', 'wsgi.input': io.BytesIO(body),
           'HTTP_USER_AGENT': 'parity/1', 'HTTP_X_LONG_NAME': 'v'}
    if body:
        env['CONTENT_LENGTH'] = str(len(body))
    env.update(headers or {})
    return env


def _call(env):
    started = []

    def start_response(status, headers, exc_info=None):
        started.append([status, [list(h) for h in headers]])

    chunks = [c.decode() if isinstance(c, bytes) else c for c in app(env, start_response)]
    return started, chunks


async def script(client, log):
    loop = asyncio.get_event_loop()

    async def call(*args, **kwargs):
        # the WSGI app runs its own event loop: call it from a thread, as a server does
        return await loop.run_in_executor(None, lambda: _call(_environ(*args, **kwargs)))

    log('get', await call('/hello/zoe', query='a=1&a=2&b='))
    log('post', await call('/hello/max', 'POST', body=b'abcdefghi',
                           headers={'CONTENT_TYPE': 'text/plain'}))
    log('cookie', await call('/cookie'))
    log('stream', await call('/stream'))
    log('teapot', await call('/teapot'))
    log('fail', await call('/fail'))
    log('missing', await call('/nowhere', 'DELETE'))
    # (a HEAD's body: docs/compat.md D100, checked in tests/cpython/test_wsgi.py)
    log('empty', await call('/empty'))
    log('encoded', await call('/hello/a b', query='q=%C3%A9'))
    log('big', await call('/big', 'POST', body=b'z' * 17000))
    log('too big', await call('/big', 'POST', body=b'z' * 20000))
