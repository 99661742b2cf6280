"""Core parity: settings an app changes and less common response shapes. Response
default_content_type, types_map extended for send_file, a generator with its own
Content-Length, header values that are not strings, Response.already_handled, the
request's after_request hooks added from a before_request hook, sync hooks."""
from microdot import Microdot, Response

app = Microdot()


class HtmlResponse(Response):
    default_content_type = 'text/html'


class BinResponse(Response):
    default_content_type = 'application/octet-stream'


class CharsetResponse(Response):
    default_content_type = 'text/csv; charset=latin-1'


@app.before_request
def add_request_hook(request):
    if request.path == '/hooked':
        @request.after_request
        def late(req, res):
            res.headers['X-Late'] = 'from before_request'
            return res


@app.route('/html')
async def html(request):
    return HtmlResponse('<b>bold</b>')


@app.route('/bin')
async def binary(request):
    return BinResponse(b'\x00')


@app.route('/charset')
async def charset(request):
    return CharsetResponse('a,b')


@app.route('/sized-gen')
async def sized_gen(request):
    def g():
        yield b'12345'
        yield b'67890'
    return Response(g(), headers={'Content-Length': '10'})


@app.route('/int-header')
async def int_header(request):
    return 'x', {'X-Count': 5, 'X-Float': 1.5, 'X-Bool': True}


@app.route('/hooked')
async def hooked(request):
    return 'hooked'


@app.route('/reason')
async def reason(request):
    return Response('made', 201, reason='Made It')


@app.route('/empty-201')
async def empty_201(request):
    return '', 201


@app.route('/status-only-headers')
async def status_only_headers(request):
    return 304, {'ETag': '"x"'}


CASES = [('GET', p) for p in ('/html', '/bin', '/charset', '/sized-gen', '/int-header',
                              '/hooked', '/reason', '/empty-201', '/status-only-headers')] + [
    ('HEAD', '/sized-gen'), ('HEAD', '/html'),
]
