"""CORS extension: allowed origins ('*', lists), credentials, exposed and allowed headers,
preflights, max age, Vary merging."""
from microdot import Microdot
from microdot.cors import CORS

app = Microdot()
CORS(app, allowed_origins=['https://a.example', 'https://b.example'],
     allow_credentials=True, expose_headers=['X-Total', 'X-Page'],
     allowed_headers=['Content-Type', 'X-Token'], max_age=600,
     allowed_methods=['GET', 'POST'])

star = Microdot()
CORS(star, allowed_origins='*')

plain = Microdot()
CORS(plain)

limited = Microdot()
CORS(limited, allowed_origins=['https://a.example'], allowed_methods=['PUT'],
     handle_cors=True)


@app.route('/data', methods=['GET', 'POST', 'DELETE'])
async def data(request):
    return {'ok': True}


@app.get('/vary')
async def vary(request):
    return 'v', {'Vary': 'Accept-Encoding'}


@app.get('/fail')
async def fail(request):
    raise ValueError('x')


@star.route('/s', methods=['GET', 'PUT'])
async def s(request):
    return 's'


@plain.get('/p')
async def p(request):
    return 'p'


@limited.route('/l', methods=['GET', 'PUT'])
async def lroute(request):
    return 'l'


app.mount(star, url_prefix='/star', local=True)
app.mount(limited, url_prefix='/lim', local=True)
app.mount(plain, url_prefix='/plain')

A = {'Origin': 'https://a.example'}
EVIL = {'Origin': 'https://evil.example'}


def _pre(origin, method, headers=None):
    h = {'Access-Control-Request-Method': method}
    if origin:
        h['Origin'] = origin
    if headers:
        h['Access-Control-Request-Headers'] = headers
    return h


CASES = [
    ('GET', '/data'),
    ('GET', '/data', A),
    ('GET', '/data', {'Origin': 'https://b.example'}),
    ('GET', '/data', EVIL),
    ('POST', '/data', A, b''),
    ('GET', '/vary', A),
    ('GET', '/fail', A),
    ('GET', '/missing', A),
    ('PUT', '/data', A),
    ('OPTIONS', '/data', _pre('https://a.example', 'POST')),
    ('OPTIONS', '/data', _pre('https://a.example', 'post', 'content-type, X-Token')),
    ('OPTIONS', '/data', _pre('https://a.example', 'DELETE', 'X-Other, X-Token')),
    ('OPTIONS', '/data', _pre('https://evil.example', 'GET')),
    ('OPTIONS', '/data', _pre(None, 'GET')),
    ('OPTIONS', '/data', A),
    ('OPTIONS', '/data'),
    ('OPTIONS', '/missing', _pre('https://a.example', 'GET')),
    ('GET', '/star/s', EVIL),
    ('GET', '/star/s'),
    ('PUT', '/star/s', {'Origin': 'null'}, b'x'),
    ('OPTIONS', '/star/s', _pre('https://c.example', 'PUT', 'X-Any')),
    ('GET', '/lim/l', A),
    ('OPTIONS', '/lim/l', _pre('https://a.example', 'PUT')),
    ('OPTIONS', '/lim/l', _pre('https://a.example', 'GET')),
    ('GET', '/plain/p', A),
]
