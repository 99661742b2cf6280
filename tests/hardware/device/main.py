"""Smoke app: exercises the frozen framework on a board (or on the virtual board).

Deploy it as the board's main.py (`make smoke`), or let `make test-hw` run it on the MicroPython
unix port. The hardware suite in tests/hardware/ talks to it over the network.

Settings come from environment variables where the port has them (the unix port), else the
defaults below: SMOKE_HOST (0.0.0.0), SMOKE_PORT (5000), SMOKE_BOARD (board name for
/__smoke/info), SMOKE_BREAK (name of one route to break on purpose, to prove the suite can fail),
SMOKE_WIFI (the file holding the OTA token instead of /wifi.json).

Routes of an extension that is not in the image answer 501, and the suite skips their tests.
The OTA routes (/ota/..., kitota) are kitota's own: without it they answer 404.
"""
import gc
import os
import sys
import time

gc.collect()
try:
    _BOOT_FREE = gc.mem_free()
except AttributeError:  # CPython
    _BOOT_FREE = None

try:
    _ticks = time.ticks_ms
    _diff = time.ticks_diff
except AttributeError:  # CPython
    def _ticks():
        return int(time.monotonic() * 1000)

    def _diff(a, b):
        return a - b

_START = _ticks()


def _env(name, default=None):
    getenv = getattr(os, 'getenv', None)
    value = getenv(name) if getenv is not None else None
    return value if value else default


HOST = _env('SMOKE_HOST', '0.0.0.0')
PORT = int(_env('SMOKE_PORT', '5000'))
BOARD = _env('SMOKE_BOARD')
BROKEN = _env('SMOKE_BREAK', '')

import asyncio  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
from binascii import hexlify  # noqa: E402

from microdot import Microdot, Request, Response, abort, send_file  # noqa: E402

# The extensions the suite knows about. Each is imported if the image has it.
EXTENSIONS = ('auth', 'cors', 'csrf', 'login', 'multipart', 'pubsub', 'session', 'sse',
              'static', 'test_client', 'utemplate', 'websocket')
MODULES = ['microdot', 'microdot.microdot', 'microdot.helpers'] + \
    ['microdot.' + e for e in EXTENSIONS] + ['kitnet', 'kitota', 'utemplate']

with_websocket = with_sse = with_form_data = Session = with_session = None
CORS = BasicAuth = PubSub = Static = None
try:
    from microdot.websocket import with_websocket
except ImportError:
    pass
try:
    from microdot.sse import with_sse
except ImportError:
    pass
try:
    from microdot.multipart import with_form_data
except ImportError:
    pass
try:
    from microdot.session import Session, with_session
except ImportError:
    pass
try:
    from microdot.cors import CORS
except ImportError:
    pass
try:
    from microdot.auth import BasicAuth
except ImportError:
    pass
try:
    from microdot.pubsub import PubSub
except ImportError:
    pass
try:
    from microdot.static import Static
except ImportError:
    pass
try:
    import kitota
except ImportError:
    kitota = None

Request.max_content_length = 16 * 1024
Request.max_body_length = 16 * 1024
Request.max_readline = 2 * 1024
Request.max_headers = 32

app = Microdot()
STATE = {'requests': 0}
ORIGINS = {}


def _origin(name):
    mod = sys.modules.get(name)
    if mod is None:
        try:
            __import__(name)
        except ImportError:
            return 'missing'
        mod = sys.modules.get(name)
    path = getattr(mod, '__file__', None)
    if not path or path.startswith('.frozen'):
        return 'frozen'
    if path.endswith('.mpy'):
        return 'mpy'
    try:
        os.stat(path)
    except OSError:  # not on the filesystem: frozen into the image
        return 'frozen'
    return 'py'


for _m in MODULES:
    ORIGINS[_m] = _origin(_m)


def _missing(name):
    return {'error': name + ' is not in this image'}, 501


def _hex(data):
    return hexlify(hashlib.sha256(data).digest()).decode()


# -- info -----------------------------------------------------------------------------------

def _extensions():
    out = dict((e, ORIGINS['microdot.' + e] != 'missing') for e in EXTENSIONS)
    out['ota'] = kitota is not None
    return out


@app.get('/__smoke/info')
async def info(request):
    try:
        before = gc.mem_free()
        gc.collect()
        after = gc.mem_free()
        alloc = gc.mem_alloc()
    except AttributeError:  # CPython
        before = after = alloc = None
    impl = sys.implementation
    machine = getattr(impl, '_machine', None)
    if machine is None and hasattr(os, 'uname'):
        machine = os.uname().machine
    ip = None
    try:
        import kitnet
        ip = kitnet.ip()
    except ImportError:
        pass
    return {
        'micropython': '.'.join(str(v) for v in impl.version[:3]) +
        ('-' + impl.version[3] if len(impl.version) > 3 and impl.version[3] else ''),
        'version': sys.version,
        'implementation': impl.name,
        'platform': sys.platform,
        'machine': machine,
        'board': BOARD or machine,
        'ip': ip,
        'modules': ORIGINS,
        'extensions': _extensions(),
        'heap': {'boot_free': _BOOT_FREE, 'free_before_gc': before, 'free': after,
                 'alloc': alloc},
        'uptime_ms': _diff(_ticks(), _START),
        'requests': STATE['requests'],
        'limits': {'max_content_length': Request.max_content_length,
                   'max_readline': Request.max_readline,
                   'max_headers': Request.max_headers},
        'broken': BROKEN or None,
    }


@app.before_request
def count(request):
    STATE['requests'] += 1


@app.get('/')
async def index(request):
    return 'Microdot smoke app\n'


# -- methods, query args, dynamic segments ------------------------------------------------

@app.route('/echo', methods=['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])
async def echo(request):
    body = request.body
    if BROKEN == 'echo':
        body = body[1:]
    return {'method': request.method, 'path': request.path,
            'args': dict((k, request.args.getlist(k)) for k in request.args),
            'length': len(body), 'sha256': _hex(body),
            'content_type': request.content_type}


@app.get('/query')
async def query(request):
    args = request.args
    return {'args': dict((k, args.getlist(k)) for k in args),
            'n': args.get('n', type=int), 'missing': args.get('nope', 'default')}


@app.get('/items/<int:item_id>')
async def item(request, item_id):
    return {'id': item_id, 'double': item_id * 2}


@app.get('/users/<name>/files/<path:rest>')
async def user_file(request, name, rest):
    return {'name': name, 'path': rest}


# -- bodies -------------------------------------------------------------------------------

@app.post('/json')
async def json_echo(request):
    try:
        data = request.json
    except ValueError:  # a body that is not JSON raises, as in upstream Microdot
        abort(400)
    if data is None:
        abort(415)
    if BROKEN == 'json':
        return {'received': None}
    return {'received': data, 'type': type(data).__name__}


@app.post('/form')
async def form(request):
    if request.form is None:
        abort(415)
    return {'form': dict((k, request.form.getlist(k)) for k in request.form)}


async def _upload(request):
    files = {}
    for name in request.files or {}:
        upload = request.files[name]
        data = await upload.read()
        files[name] = {'filename': upload.filename, 'content_type': upload.content_type,
                       'size': len(data), 'sha256': _hex(data)}
    form = request.form or {}
    return {'form': dict((k, form[k]) for k in form), 'files': files}

if with_form_data is not None:
    _upload = with_form_data(_upload)


@app.post('/upload')
async def upload(request):
    if with_form_data is None:
        return _missing('multipart')
    return await _upload(request)


def _pattern(size):
    block = bytes(range(256)) * 4
    full, rest = divmod(size, 1024)
    for _ in range(full):
        yield block
    if rest:
        yield block[:rest]


@app.get('/large')
async def large(request):
    """``size`` bytes of 0, 1, ..., 255, 0, 1, ... with a Content-Length (default 64 KB)."""
    size = request.args.get('size', 64 * 1024, type=int)
    if size is None or size < 0 or size > 1024 * 1024:
        abort(400)
    return Response(_pattern(size), headers={'Content-Length': str(size),
                                             'Content-Type': 'application/octet-stream'})


class _Lines:
    """An async iterator (MicroPython has no async generators): ``n`` lines, one per step."""
    def __init__(self, n):
        self.i = 0
        self.n = n

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.i >= self.n:
            raise StopAsyncIteration
        await asyncio.sleep(0)
        self.i += 1
        return 'line %d\n' % (self.i - 1)


def _sync_lines(n):
    for i in range(n):
        yield 'line %d\n' % i


@app.get('/stream')
async def stream(request):
    """``n`` lines produced one at a time (chunked); ``kind=sync`` uses a plain generator."""
    n = request.args.get('n', 5, type=int)
    if request.args.get('kind') == 'sync':
        return Response(_sync_lines(n))
    return Response(_Lines(n))


@app.get('/static/smoke.txt')
async def static_file(request):
    return send_file('static/smoke.txt', compressed=True, file_extension='.gz', max_age=60)


# -- cookies and session --------------------------------------------------------------------

@app.get('/cookies/set')
async def set_cookies(request):
    res = Response({'set': dict((k, request.args[k]) for k in request.args)})
    for k in request.args:
        res.set_cookie(k, request.args[k], path='/', http_only=True)
    return res


@app.get('/cookies')
async def get_cookies(request):
    return {'cookies': request.cookies}


if Session is not None:
    Session(app, secret_key='smoke-test-secret')

    @with_session
    async def _counter(request, session):
        session['count'] = session.get('count', 0) + 1
        session.save()
        return {'count': session['count']}

    @with_session
    async def _logout(request, session):
        session.delete()
        return {'deleted': True}


@app.get('/session/count')
async def session_count(request):
    if Session is None:
        return _missing('session')
    return await _counter(request)


@app.post('/session/clear')
async def session_clear(request):
    if Session is None:
        return _missing('session')
    return await _logout(request)


# -- WebSocket and SSE ------------------------------------------------------------------------

async def _ws_echo(request, ws):
    while True:
        message = await ws.receive()
        if message == 'bye':
            await ws.send('goodbye')
            break
        await ws.send(message)

if with_websocket is not None:
    _ws_echo = with_websocket(_ws_echo)


@app.get('/ws')
async def ws_echo(request):
    if with_websocket is None:
        return _missing('websocket')
    return await _ws_echo(request)


async def _events(request, sse):
    n = request.args.get('n', 3, type=int)
    for i in range(n):
        await sse.send({'i': i})
        await asyncio.sleep(0.01)
    await sse.send('done', event='end')

if with_sse is not None:
    _events = with_sse(_events)


@app.get('/sse')
async def events(request):
    if with_sse is None:
        return _missing('sse')
    return await _events(request)


# -- other extensions -------------------------------------------------------------------------

if CORS is not None:
    CORS(app, allowed_origins=['http://smoke.example'], allow_credentials=True)


@app.get('/cors')
async def cors(request):
    if CORS is None:
        return _missing('cors')
    return {'cors': True}


if BasicAuth is not None:
    basic = BasicAuth()

    @basic.authenticate
    async def check_user(request, username, password):
        if username == 'smoke' and password == 'board':
            return {'name': username}

    @basic
    async def _secret(request):
        return {'user': request.g.current_user['name']}


@app.get('/auth')
async def auth(request):
    if BasicAuth is None:
        return _missing('auth')
    return await _secret(request)


if PubSub is not None:
    hub = PubSub(max_queue=8)


@app.get('/pubsub')
async def pubsub(request):
    """Subscribe, let a task publish ``n`` messages, return what arrived."""
    if PubSub is None:
        return _missing('pubsub')
    n = request.args.get('n', 3, type=int)
    sub = hub.subscribe('smoke')

    async def publisher():
        for i in range(n):
            await hub.publish('smoke', i)
            await asyncio.sleep(0)
    task = asyncio.create_task(publisher())
    got = []
    try:
        for _ in range(n):
            got.append(await sub.get(timeout=2))
    finally:
        sub.close()
    await task
    return {'received': got, 'subscribers': hub.subscribers('smoke')}


if Static is not None:
    Static('static', max_age=60).mount(app, '/files')
else:
    @app.get('/files/<path:path>')
    async def files(request, path):
        return _missing('static')


# -- OTA updates ------------------------------------------------------------------------------

if kitota is not None:
    # /ota/...: every request needs the ota_token stored in /wifi.json (none stored: all 401).
    # Nothing here commits an update; kitota also confirms a new ESP32 firmware once it answers.
    kitota.install(app, path=_env('SMOKE_WIFI'))


# -- errors --------------------------------------------------------------------------------

class SmokeError(Exception):
    pass


@app.errorhandler(404)
async def not_found(request):
    return {'error': 'not found', 'path': request.path}, 404


@app.errorhandler(SmokeError)
async def smoke_error(request, exc):
    return {'error': 'smoke', 'detail': str(exc.args[0]) if exc.args else ''}, 409


@app.get('/error/<kind>')
async def error(request, kind):
    if kind == 'abort':
        abort(403)
    if kind == 'custom':
        raise SmokeError('handled')
    if kind == 'crash':
        return 1 // 0
    return 'no error'


def main():
    where = HOST
    try:
        import kitnet
        where = kitnet.ip() or HOST
    except ImportError:
        pass
    gc.collect()
    print('smoke: listening on http://%s:%d' % (where, PORT))
    app.run(host=HOST, port=PORT)


main()
