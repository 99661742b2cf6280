"""Core parity: mounted sub-applications. A non-local mount (its hooks and error handlers
move to the parent), a local mount (they apply only to its own routes), nested mounts,
url_prefix and subapp as the request sees them, and 404/405 under a prefix."""
from microdot import Microdot

app = Microdot()
api = Microdot()       # mounted non-local at /api
local = Microdot()     # mounted local at /local
inner = Microdot()     # mounted local inside local, at /local/inner
shared = Microdot()    # mounted non-local inside local


def trail(request, name):
    t = getattr(request.g, 'trail', None)
    if t is None:
        t = request.g.trail = []
    t.append(name)


@app.before_request
async def app_before(request):
    trail(request, 'app')


@app.after_request
async def app_after(request, response):
    response.headers['X-App-After'] = ','.join(getattr(request.g, 'trail', []))
    return response


@app.after_error_request
async def app_after_error(request, response):
    response.headers['X-App-Error'] = '1'
    return response


@app.errorhandler(404)
async def app_404(request):
    return 'app 404 for ' + request.path, 404


@app.route('/')
async def root(request):
    return {'prefix': request.url_prefix, 'subapp': request.subapp is not None}


@api.before_request
async def api_before(request):
    trail(request, 'api')


@api.errorhandler(RuntimeError)
async def api_runtime(request, exc):
    return 'api runtime handler', 500


@api.route('/items/<int:n>')
async def api_item(request, n):
    return {'n': n, 'prefix': request.url_prefix, 'sub': request.subapp is api}


@api.route('/boom')
async def api_boom(request):
    raise RuntimeError('x')


@api.route('/only-post', methods=['POST'])
async def api_post(request):
    return 'posted'


@local.before_request
async def local_before(request):
    trail(request, 'local')


@local.after_request
async def local_after(request, response):
    response.headers['X-Local-After'] = ','.join(request.g.trail)
    return response


@local.errorhandler(404)
async def local_404(request):
    return 'local 404', 404


@local.errorhandler(ValueError)
async def local_value(request, exc):
    return 'local value handler', 400


@local.route('/')
async def local_root(request):
    return {'prefix': request.url_prefix, 'sub': request.subapp is local}


@local.route('/bad')
async def local_bad(request):
    raise ValueError('v')


@local.route('/boom')
async def local_boom(request):
    raise RuntimeError('r')


@inner.before_request
async def inner_before(request):
    trail(request, 'inner')


@inner.route('/deep/<name>')
async def inner_deep(request, name):
    return {'name': name, 'prefix': request.url_prefix, 'sub': request.subapp is inner,
            'trail': request.g.trail}


@shared.before_request
async def shared_before(request):
    trail(request, 'shared')


@shared.route('/s')
async def shared_s(request):
    return {'prefix': request.url_prefix, 'sub': request.subapp is shared,
            'trail': request.g.trail}


local.mount(inner, url_prefix='/inner', local=True)
local.mount(shared, url_prefix='/shared')
app.mount(api, url_prefix='/api')
app.mount(local, url_prefix='/local', local=True)


@app.route('/after-mount')
async def after_mount(request):
    return 'added after the mounts'


@app.route('/bad')
async def app_bad(request):
    raise ValueError('not handled by local')


@app.route('/hooks')
async def hooks(request):
    return {'api': len(api.before_request_handlers), 'local': len(local.before_request_handlers),
            'shared': len(shared.before_request_handlers),
            'api_handlers': len(api.error_handlers), 'local_handlers': len(local.error_handlers)}


CASES = [
    ('GET', '/'), ('GET', '/api/items/3'), ('GET', '/api/items/x'), ('GET', '/api/boom'),
    ('GET', '/api/only-post'), ('POST', '/api/only-post'), ('GET', '/api/nothing'),
    ('GET', '/local/'), ('GET', '/local'), ('GET', '/local/bad'), ('GET', '/local/boom'),
    ('GET', '/local/nothing'), ('GET', '/local/inner/deep/x'), ('GET', '/local/inner/nothing'),
    ('GET', '/local/shared/s'), ('GET', '/after-mount'), ('GET', '/bad'), ('GET', '/hooks'),
    ('OPTIONS', '/local/'), ('OPTIONS', '/api/items/1'), ('HEAD', '/local/inner/deep/y'),
    ('POST', '/local/'),
]
