"""Core parity: request hooks and errors. before_request (answering early or passing),
after_request (replacing or updating the response), request.after_request, after_error_request,
abort() with and without a reason, error handlers by status code (404, 405, 500, 400 for a
request that could not be parsed, 413) and by exception class, including a subclass found
through its bases, error handlers that return None or raise, and the default error bodies."""
from microdot import Microdot, Response, abort

app = Microdot()


class AppError(Exception):
    pass


class DetailError(AppError):
    pass


class OtherError(Exception):
    pass


@app.before_request
async def before(request):
    request.g.trail = ['before']
    if request.headers.get('X-Stop') == 'yes':
        return 'stopped early', 202
    if request.headers.get('X-Stop') == 'abort':
        abort(401)
    if request.headers.get('X-Stop') == 'empty':
        return ''  # falsy: upstream goes on to the next hook and skips the route


@app.before_request
def before2(request):
    request.g.trail.append('before2')


@app.after_request
async def after(request, response):
    response.headers['X-After'] = ','.join(request.g.trail)
    if request.path == '/replace':
        return Response('replaced', 203)
    return response


@app.after_request
def after_none(request, response):
    response.headers['X-After2'] = '1'  # returns None: the response stays


@app.after_error_request
async def after_error(request, response):
    response.headers['X-Error-Hook'] = 'none' if request is None else request.path
    return response


@app.route('/ok')
async def ok(request):
    request.g.trail.append('route')

    @request.after_request
    def per_request(req, res):
        res.headers['X-Per-Request'] = 'yes'
        return res
    return 'ok'


@app.route('/replace')
async def replace(request):
    return 'original'


@app.route('/abort')
async def r_abort(request):
    abort(403)


@app.route('/abort-reason')
async def r_abort_reason(request):
    abort(406, 'Not acceptable here')


@app.route('/abort-404')
async def r_abort_404(request):
    abort(404)


@app.route('/abort-teapot')
async def r_abort_teapot(request):
    Microdot.abort(418)


@app.route('/runtime')
async def r_runtime(request):
    raise RuntimeError('boom')


@app.route('/app-error')
async def r_app_error(request):
    raise AppError('app')


@app.route('/detail-error')
async def r_detail_error(request):
    raise DetailError('detail')


@app.route('/other-error')
async def r_other_error(request):
    raise OtherError('other')


@app.route('/key-error')
async def r_key_error(request):
    return {}['missing']


@app.route('/zero')
def r_zero(request):
    return 1 // 0


@app.route('/post-only', methods=['POST'])
async def post_only(request):
    return 'posted'


@app.route('/after-raises')
async def after_raises(request):
    @request.after_request
    def boom(req, res):
        raise ValueError('in after')
    return 'never sent'


@app.errorhandler(404)
async def not_found(request):
    return {'error': 'not found', 'path': request.path}, 404


@app.errorhandler(405)
def not_allowed(request):
    return 'method not allowed here', 405, {'X-Handler': '405'}


@app.errorhandler(400)
async def bad_request(request):
    return 'bad request (request is %s)' % ('None' if request is None else 'set'), 400


@app.errorhandler(413)
async def too_large(request):
    return 'too large: %d' % request.content_length, 413


@app.errorhandler(AppError)
async def app_error(request, exc):
    return 'AppError handler: %s %s' % (type(exc).__name__, exc), 409


@app.errorhandler(ZeroDivisionError)
async def zero(request, exc):
    return Response('zero', 500, {'X-Zero': '1'})


@app.errorhandler(ArithmeticError)
async def arith(request, exc):
    return 'arith', 500


@app.errorhandler(OtherError)
async def other_none(request, exc):
    return None  # no response: upstream falls back to a 500


@app.errorhandler(KeyError)
async def key_error_raises(request, exc):
    raise RuntimeError('the handler itself fails')


odd = Microdot()  # error handlers returning plain values: converted as upstream converts them


@odd.errorhandler(404)
async def odd_404(request):
    return {'error': 'json from a 404 handler'}  # a dict alone: a 200 JSON response


@odd.errorhandler(LookupError)
async def odd_lookup(request, exc):
    return 'a string from an exception handler'


@odd.errorhandler(403)
async def odd_403(request):
    return 'forbidden', 403, {'X-Odd': '1'}


@odd.route('/lookup')
async def odd_lookup_route(request):
    raise IndexError('i')


@odd.route('/forbid')
async def odd_forbid(request):
    abort(403)


app.mount(odd, url_prefix='/odd', local=True)

plain = Microdot()  # no handlers: the default bodies


@plain.route('/ok')
async def plain_ok(request):
    return 'ok'


@plain.route('/boom')
async def plain_boom(request):
    raise RuntimeError('x')


@plain.route('/abort')
async def plain_abort(request):
    abort(401)


@plain.route('/abort-reason')
async def plain_abort_reason(request):
    abort(400, 'Custom reason')


app.mount(plain, url_prefix='/plain')


CASES = [
    ('GET', '/ok'), ('HEAD', '/ok'), ('GET', '/ok', {'X-Stop': 'yes'}), ('GET', '/ok', {'X-Stop': 'abort'}),
    ('GET', '/ok', {'X-Stop': 'empty'}), ('GET', '/replace'),
    ('GET', '/abort'), ('GET', '/abort-reason'), ('GET', '/abort-404'), ('GET', '/abort-teapot'),
    ('GET', '/runtime'), ('GET', '/app-error'), ('GET', '/detail-error'), ('GET', '/other-error'),
    ('GET', '/key-error'), ('GET', '/zero'), ('GET', '/after-raises'),
    ('GET', '/missing'), ('HEAD', '/missing'), ('GET', '/post-only'), ('PUT', '/post-only'),
    ('OPTIONS', '/ok'),
    ('GET', '/ok?x=%zz'), ('GET', '/ok?x=%'),
    ('POST', '/post-only', {'Content-Type': 'text/plain'}, 'x' * 17000),
    ('POST', '/post-only', {'Content-Type': 'text/plain'}, 'x' * 16384),
    ('GET', '/odd/nothing'), ('GET', '/odd/lookup'), ('GET', '/odd/forbid'), ('HEAD', '/odd/forbid'),
    ('GET', '/plain/ok'), ('GET', '/plain/boom'), ('GET', '/plain/abort'), ('GET', '/plain/abort-reason'),
    {'method': 'GET', 'path': '/', 'name': 'no colon in a header line',
     'raw': b'GET /ok HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n'},
    {'method': 'GET', 'path': '/', 'name': 'two words in the request line',
     'raw': b'GET /ok\r\nHost: x\r\n\r\n'},
]
