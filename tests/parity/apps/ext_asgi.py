"""ASGI adapter (CPython only): the application driven as an ASGI server drives it
(scopes, receive/send messages, lifespan, streamed bodies, cookies, errors), and the
same app through the test client and its embedded server."""
import asyncio

from microdot import Request
from microdot.asgi import Microdot

RUNTIMES = ('cpython',)
EVENTS = []


async def startup(scope):
    EVENTS.append('startup')


async def shutdown(scope):
    raise RuntimeError('cannot stop')


Request.max_content_length = 18 * 1024  # bodies past max_body_length (16 KB) stream
app = Microdot(lifespan_startup=startup, lifespan_shutdown=shutdown)


@app.route('/hello/<name>', methods=['GET', 'POST'])
async def hello(request, name):
    return {'name': name, 'method': request.method, 'args': dict(request.args),
            'body': request.body.decode(), 'type': request.content_type,
            'client': request.client_addr[0], 'scheme': request.scheme,
            'scope': sorted(getattr(request, 'asgi_scope', {}) or {})}


@app.get('/cookie')
async def cookie(request):
    from microdot import Response
    res = Response('set')
    res.set_cookie('a', '1')
    res.set_cookie('b', '2', http_only=True)
    return res


@app.get('/stream')
async def stream(request):
    async def gen():
        for i in range(3):
            yield 'part %d\n' % i
    return gen()


@app.get('/fail')
async def fail(request):
    raise ValueError('boom')


@app.get('/empty')
async def empty(request):
    return '', 204


@app.post('/big')
async def big(request):
    data = await request.stream.read(100000)
    return {'len': len(data), 'body': len(request.body)}



CASES = [('GET', '/hello/ann?x=1'), ('POST', '/hello/bob', {'Content-Type': 'text/plain'}, b'hi'),
         ('GET', '/cookie'), ('GET', '/stream'), ('GET', '/fail'), ('GET', '/missing')]


async def _call(scope, messages):
    queue = list(messages)
    sent = []

    async def receive():
        if queue:
            return queue.pop(0)
        await asyncio.sleep(0.01)
        return {'type': 'http.disconnect'}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _scope(path, method='GET', query=b'', headers=(), kind='http'):
    return {'type': kind, 'http_version': '1.1', 'method': method, 'path': path,
            'query_string': query, 'headers': list(headers), 'client': ('10.0.0.7', 5555),
            'scheme': 'https'}


def _tidy(messages):
    out = []
    for m in messages:
        m = dict(m)
        if 'headers' in m:
            m['headers'] = [[k.decode(), v.decode()] for k, v in m['headers']]
        if 'body' in m:
            m['body'] = m['body'].decode()
        out.append(m)
    return out


async def script(client, log):
    log('lifespan', _tidy(await _call({'type': 'lifespan'}, [
        {'type': 'lifespan.startup'}, {'type': 'lifespan.shutdown'}])), EVENTS)
    log('get', _tidy(await _call(_scope('/hello/zoe', query=b'a=1&a=2&b='), [])))
    log('post', _tidy(await _call(
        _scope('/hello/max', 'POST', headers=[(b'content-type', b'text/plain'),
                                              (b'content-length', b'9')]),
        [{'type': 'http.request', 'body': b'abc', 'more_body': True},
         {'type': 'http.request', 'body': b'defghi', 'more_body': False}])))
    log('cookie', _tidy(await _call(_scope('/cookie'), [])))
    log('stream', _tidy(await _call(_scope('/stream'), [])))
    log('fail', _tidy(await _call(_scope('/fail'), [])))
    log('missing', _tidy(await _call(_scope('/nowhere', 'DELETE'), [])))
    log('head', _tidy(await _call(_scope('/hello/h', 'HEAD'), [])))
    log('empty', _tidy(await _call(_scope('/empty'), [])))
    mid = b'm' * 17000
    log('mid', _tidy(await _call(
        _scope('/big', 'POST', headers=[(b'content-length', str(len(mid)).encode())]),
        [{'type': 'http.request', 'body': mid[:7000], 'more_body': True},
         {'type': 'http.request', 'body': mid[7000:], 'more_body': False}])))
    big = b'z' * 20000
    log('big', _tidy(await _call(
        _scope('/big', 'POST', headers=[(b'content-length', str(len(big)).encode())]),
        [{'type': 'http.request', 'body': big[:7000], 'more_body': True},
         {'type': 'http.request', 'body': big[7000:], 'more_body': False}])))
