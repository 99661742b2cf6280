"""Core parity: request limits at their defaults and when an app changes them. Bodies up to
Request.max_content_length are accepted and larger ones get 413; a body over
Request.max_body_length is left on request.stream; long header lines, long URLs and many
headers that upstream accepts are accepted; lines over Request.max_readline are refused
(status D2), as are more than Request.max_headers (100) header lines (D9)."""
from microdot import Microdot, Request

app = Microdot()
small = Microdot()


@app.route('/echo', methods=['POST'])
async def echo(request):
    return {'len': len(request.body), 'cl': request.content_length}


@app.route('/stream', methods=['POST'])
async def stream(request):
    data = await request.stream.readexactly(request.content_length)
    return {'body': len(request.body), 'stream': len(data), 'head': data[:5].decode()}


@app.route('/headers')
async def headers(request):
    return {'n': len(request.headers), 'long': len(request.headers.get('X-Long', ''))}


@app.route('/url/<path:rest>')
async def url(request, rest):
    return {'len': len(rest), 'args': len(request.args)}


CASES = [
    ('POST', '/echo', {'Content-Type': 'text/plain'}, 'a' * 16384),
    ('POST', '/echo', {'Content-Type': 'text/plain'}, 'a' * 16385),
    ('POST', '/echo', {'Content-Type': 'text/plain'}, 'a' * 40000),
    ('POST', '/echo', {'Content-Type': 'text/plain'}, ''),
    ('GET', '/headers', {'X-Long': 'v' * 2030}),
    ('GET', '/headers', dict(('X-H%d' % i, str(i)) for i in range(60))),
    {'method': 'GET', 'path': '/headers', 'name': '150 headers (over Request.max_headers)',
     'headers': dict(('X-H%d' % i, 'x' * 100) for i in range(150)), 'differs': 'D9'},
    ('GET', '/url/' + 'p' * 300),  # (upstream's regex overflows MicroPython's stack on ~1000)
    ('GET', '/url/x?' + '&'.join('a%d=%d' % (i, i) for i in range(200))),
    {'method': 'GET', 'path': '/headers', 'headers': {'X-Long': 'v' * 2100}, 'differs': 'D2'},
    {'method': 'GET', 'path': '/url/' + 'p' * 2100, 'differs': 'D2'},
    {'method': 'GET', 'path': '/headers', 'name': 'header line of exactly max_readline',
     'raw': b'GET /headers HTTP/1.1\r\nHost: x\r\nX-Long: ' + b'v' * (2048 - 10) + b'\r\n\r\n'},
    {'method': 'GET', 'path': '/headers', 'name': 'header line one past max_readline',
     'raw': b'GET /headers HTTP/1.1\r\nHost: x\r\nX-Long: ' + b'v' * (2048 - 9) + b'\r\n\r\n',
     'differs': 'D2'},
]


async def script(client, log):
    """Limits changed by the app: a smaller max_body_length sends the body to the stream,
    a larger max_content_length lets a bigger body in."""
    old = Request.max_body_length, Request.max_content_length
    try:
        Request.max_body_length = 64
        res = await client.post('/stream', headers={'Content-Type': 'text/plain'},
                                body='hello' + 'x' * 95)
        log('stream', res.status_code, res.json)
        res = await client.post('/echo', headers={'Content-Type': 'text/plain'}, body='y' * 64)
        log('at body limit', res.status_code, res.json)
        Request.max_body_length = 64 * 1024
        Request.max_content_length = 64 * 1024
        res = await client.post('/echo', headers={'Content-Type': 'text/plain'}, body='z' * 30000)
        log('raised limit', res.status_code, res.json)
        Request.max_content_length = 100
        res = await client.post('/echo', headers={'Content-Type': 'text/plain'}, body='z' * 101)
        log('lowered limit', res.status_code, res.text)
    finally:
        Request.max_body_length, Request.max_content_length = old
