"""Core parity: cookies a response sets. set_cookie with each option (path, domain, expires
as a string, max_age, secure, http_only, partitioned), several cookies on one response,
delete_cookie (with options, and expires/max_age it ignores), values set_cookie refuses, and
cookies set from hooks and error handlers."""
from microdot import Microdot, Response

app = Microdot()


@app.route('/one')
async def one(request):
    res = Response('one')
    res.set_cookie('session', 'abc123')
    return res


@app.route('/options')
async def options(request):
    res = Response('options')
    res.set_cookie('full', 'v', path='/app', domain='example.com',
                   expires='Wed, 21 Oct 2037 07:28:00 GMT', max_age=3600, secure=True,
                   http_only=True, partitioned=True)
    return res


@app.route('/each')
async def each(request):
    res = Response('each')
    res.set_cookie('p', '1', path='/')
    res.set_cookie('d', '2', domain='d.example')
    res.set_cookie('e', '3', expires='Thu, 01 Jan 2037 00:00:00 GMT')
    res.set_cookie('m', '4', max_age=0)
    res.set_cookie('s', '5', secure=True)
    res.set_cookie('h', '6', http_only=True)
    res.set_cookie('n', '7', partitioned=True)
    res.set_cookie('empty', '')
    return res


@app.route('/delete')
async def delete(request):
    res = Response('deleted')
    res.delete_cookie('session')
    res.delete_cookie('scoped', path='/app', domain='example.com', secure=True,
                      http_only=True, expires='ignored', max_age=99)
    return res


@app.route('/set-and-delete')
async def set_and_delete(request):
    res = Response('both')
    res.set_cookie('a', '1')
    res.delete_cookie('b')
    res.set_cookie('c', '3', path='/x')
    return res


@app.route('/semicolon')
async def semicolon(request):
    res = Response('never')
    res.set_cookie('bad', 'a;b')
    return res


@app.route('/newline')
async def newline(request):
    res = Response('never')
    res.set_cookie('bad', 'a', path='/\r\nX-Injected: 1')
    return res


@app.route('/with-headers')
async def with_headers(request):
    res = Response('headers', headers={'X-Other': 'o'})
    res.set_cookie('k', 'v')
    res.headers['X-Late'] = 'l'
    return res


@app.route('/echo')
async def echo(request):
    return {'cookies': request.cookies}


@app.after_request
async def hook_cookie(request, response):
    if request.path == '/one':
        response.set_cookie('from_hook', 'yes', path='/')
    return response


@app.errorhandler(404)
async def nf(request):
    res = Response('nf', 404)
    res.set_cookie('seen404', '1')
    return res


CASES = [
    ('GET', '/one'), ('GET', '/options'), ('GET', '/each'), ('GET', '/delete'),
    ('GET', '/set-and-delete'), ('GET', '/semicolon'), ('GET', '/newline'),
    ('GET', '/with-headers'), ('GET', '/missing'), ('HEAD', '/one'),
    ('GET', '/echo', {'Cookie': 'session=abc123; other=x'}),
]


async def script(client, log):
    """The TestClient's cookie jar across responses that set and delete cookies."""
    res = await client.get('/one')
    log('after /one', res.status_code, sorted(client.cookies.items()))
    res = await client.get('/echo')
    log('echo', res.json)
    await client.get('/set-and-delete')
    log('after set-and-delete', sorted([k, v if isinstance(v, str) else list(v)]
                                       for k, v in client.cookies.items()))
    await client.get('/delete')
    log('after delete', sorted([k, v if isinstance(v, str) else list(v)]
                               for k, v in client.cookies.items()))
    res = await client.get('/echo')
    log('echo again', res.json)
