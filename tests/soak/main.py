"""Soak app: what `make soak` (tools/bench/soak.py) runs on the virtual board for a long time.

Routes cover the paths a board serves day to day (small pages, JSON, forms, streamed
responses, static files, WebSocket, SSE) and ``/__soak/heap`` reports the heap after a
full collection. Listens on SMOKE_HOST:PORT (set by the virtual board).
"""
import asyncio
import gc
import os

from microdot import Microdot, Request, Response
from microdot.websocket import with_websocket
from microdot.sse import with_sse
from microdot.static import Static


def _env(name, default):
    getenv = getattr(os, 'getenv', None)
    value = getenv(name) if getenv is not None else None
    return value or default


HOST = _env('SMOKE_HOST', '0.0.0.0')
PORT = int(_env('PORT', '5000'))
HERE = __file__.rsplit('/', 1)[0] if '/' in __file__ else '.'

app = Microdot()
app.request_timeout = 5
STATE = {'requests': 0, 'ws': 0, 'sse': 0}
static = Static(HERE + '/www', max_age=60).mount(app, '/static')


@app.before_request
def count(request):
    STATE['requests'] += 1


@app.get('/')
async def index(request):
    return 'soak ok\n'


@app.get('/__soak/heap')
async def heap(request):
    gc.collect()
    return {'alloc': gc.mem_alloc(), 'free': gc.mem_free(), 'requests': STATE['requests'],
            'ws': STATE['ws'], 'sse': STATE['sse'], 'conns': len(app._conns)}


@app.get('/item/<int:n>')
async def item(request, n):
    return {'n': n, 'q': request.args.get('q'), 'square': n * n}


@app.post('/json')
async def json_echo(request):
    data = request.json
    if data is None:
        return {'error': 'json expected'}, 400
    return {'keys': len(data), 'sum': sum(v for v in data.values() if isinstance(v, int))}


@app.post('/form')
async def form(request):
    f = request.form
    return 'fields=%d' % (len(f) if f is not None else -1)


@app.post('/upload')
async def upload(request):
    total = 0
    while True:
        chunk = await request.stream.read(512)
        if not chunk:
            break
        total += len(chunk)
    return {'bytes': total}


@app.get('/stream')
async def stream(request):
    n = int(request.args.get('n', '8'))

    def gen():
        for i in range(n):
            yield 'line %d\n' % i
    return gen()


@app.get('/cookie')
async def cookie(request):
    res = Response('visits=%s' % request.cookies.get('v', '0'))
    res.set_cookie('v', str(int(request.cookies.get('v', '0')) + 1), http_only=True)
    return res


@app.get('/error')
async def error(request):
    raise RuntimeError('on purpose')  # a 500 the soak counts as expected


@app.route('/ws')
@with_websocket
async def ws(request, ws):
    STATE['ws'] += 1
    while True:
        msg = await ws.receive()
        if msg == 'bye':
            break
        await ws.send(msg)


@app.route('/sse')
@with_sse
async def sse(request, sse):
    STATE['sse'] += 1
    n = int(request.args.get('n', '5'))
    for i in range(n):
        await sse.send({'i': i})
        await asyncio.sleep(0)


Request.max_body_length = 4 * 1024  # /upload streams anything larger
print('soak app on %s:%d' % (HOST, PORT))
app.run(host=HOST, port=PORT)
