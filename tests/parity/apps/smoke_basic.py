"""Harness smoke app: a few plain routes whose answers both implementations agree on."""
from microdot import Microdot, Response

app = Microdot()


@app.route('/')
async def index(request):
    return 'hello'


@app.route('/echo', methods=['POST'])
async def echo(request):
    return request.body, 201, {'Content-Type': 'application/octet-stream'}


@app.route('/users/<int:uid>')
async def user(request, uid):
    return 'user %d' % uid


@app.route('/custom')
async def custom(request):
    return Response('brewing', status_code=418, reason='Teapot', headers={'X-Pot': 'tea'})


@app.route('/args')
async def args(request):
    return ','.join('%s=%s' % (k, request.args[k]) for k in sorted(request.args))


CASES = [
    ('GET', '/'),
    ('POST', '/echo', {'Content-Type': 'text/plain'}, b'\x00binary\xff'),
    ('GET', '/users/42'),
    ('GET', '/custom'),
    ('GET', '/args?b=2&a=1'),
    {'method': 'HEAD', 'path': '/', 'name': 'head'},
]
