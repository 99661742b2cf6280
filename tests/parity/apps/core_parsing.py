"""Core parity: how a request head is read. Request lines and header lines in unusual but
accepted shapes (LF line ends, extra spaces, lower-case version, absolute and odd targets,
any method token), header names in several cases and repeated, Content-Length forms, raw
UTF-8 in the path; and options_handler switched off or replaced."""
from microdot import Microdot, abort

app = Microdot()


@app.route('/hdr')
async def hdr(request):
    return {'headers': sorted([k, request.headers[k]] for k in request.headers if k != 'Host'),
            'method': request.method, 'path': request.path, 'hv': request.http_version}


@app.route('/broken-handler')
async def broken_handler(request):
    abort(409)


@app.errorhandler(409)
async def raising_409_handler(request):
    raise RuntimeError('the error handler fails')


@app.route('/<path:p>', methods=['GET', 'POST', 'M-SEARCH', 'PURGE'])
async def anything(request, p):
    return {'p': p, 'method': request.method, 'body': request.body.decode(),
            'cl': request.content_length}


@app.route('/opts', methods=['GET', 'OPTIONS'])
async def opts(request):
    return 'route saw ' + request.method


def raw(name, data):
    return {'method': 'GET', 'path': '/', 'name': name, 'raw': data}


CASES = [
    ('GET', '/hdr', {'X-Empty': '', 'X-Pad': '  padded  ', 'x-lower': 'l', 'X-UPPER': 'U'}),
    ('GET', '/hdr', [('X-Rep', 'one'), ('X-Rep', 'two'), ('x-rep', 'three')]),
    ('GET', '/caf%C3%A9'), ('PURGE', '/thing'), ('OPTIONS', '/opts'), ('GET', '/opts'),
    raw('name with a space before the colon, same name in two cases',
        b'GET /hdr HTTP/1.1\r\nHost: a\r\nX-A : b\r\nx-dup: 1\r\nX-Dup: 2\r\n\r\n'),
    raw('two spaces in the request line', b'GET  /hdr HTTP/1.1\r\nHost: a\r\n\r\n'),
    raw('lower-case version', b'GET /hdr http/1.1\r\nHost: a\r\n\r\n'),
    raw('HTTP/1.0', b'GET /hdr HTTP/1.0\r\nHost: a\r\n\r\n'),
    raw('HTTP/2.0 in the request line', b'GET /hdr HTTP/2.0\r\nHost: a\r\n\r\n'),
    raw('LF line ends', b'GET /hdr HTTP/1.1\nHost: a\nX-B: c\n\n'),
    raw('no space after the colon', b'GET /hdr HTTP/1.1\r\nHost:a\r\nX-C:d\r\n\r\n'),
    raw('raw UTF-8 in the path', b'GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n'),
    raw('Content-Length +3', b'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc'),
    raw('Content-Length with spaces', b'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length:  3 \r\n\r\nabc'),
    raw('Content-Length twice', b'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n'
        b'Content-Length: 4\r\n\r\nabcd'),
    raw('Content-Length not a number', b'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n'),
    raw('lower-case content-length', b'POST /x HTTP/1.1\r\nHost: a\r\ncontent-length: 2\r\n\r\nok'),
    raw('a target without a leading slash', b'GET x HTTP/1.1\r\nHost: a\r\n\r\n'),
    raw('absolute target', b'GET http://host/x HTTP/1.1\r\nHost: a\r\n\r\n'),
    raw('method with a dash', b'M-SEARCH /x HTTP/1.1\r\nHost: a\r\n\r\n'),
    raw('lower-case method', b'get /x HTTP/1.1\r\nHost: a\r\n\r\n'),
    raw('four words in the request line', b'GET /x HTTP/1.1 extra\r\nHost: a\r\n\r\n'),
    raw('no version', b'GET /x\r\nHost: a\r\n\r\n'),
    raw('invalid UTF-8 in the path', b'GET /\xff\xfe HTTP/1.1\r\nHost: a\r\n\r\n'),
    dict(raw('a chunked body', b'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n'
             b'Connection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'), differs='D5'),
    dict(raw('a blank line before the request line', b'\r\nGET /x HTTP/1.1\r\nHost: a\r\n'
             b'Connection: close\r\n\r\n'), differs='D6'),
    {'method': 'GET', 'path': '/broken-handler', 'differs': 'D7'},
]

off = Microdot()
off.options_handler = None


@off.route('/o', methods=['GET', 'OPTIONS'])
async def off_o(request):
    return 'explicit ' + request.method


@off.route('/g')
async def off_g(request):
    return 'g'


custom = Microdot()


def my_options(request):
    return {'Allow': 'GET', 'X-Custom-Options': request.path}


custom.options_handler = my_options


@custom.route('/c')
async def custom_c(request):
    return 'c'


app.mount(off, url_prefix='/off')
app.mount(custom, url_prefix='/custom')


async def script(client, log):
    """options_handler on the app that serves the request decides automatic OPTIONS."""
    from microdot.test_client import TestClient
    for sub, paths in ((off, ('/o', '/g', '/missing')), (custom, ('/c', '/missing'))):
        c = TestClient(sub)
        for path in paths:
            res = await c.request('OPTIONS', path)
            # (Allow on a 405 is RFC 9110's, which the parity rules let ours add)
            log('OPTIONS', path, res.status_code, res.text,
                res.headers.get('Allow') if res.status_code != 405 else '-',
                res.headers.get('X-Custom-Options'))
