"""Core parity: what a route sees of the request. method, path, url, query_string, args
(repeated names, empty values, odd query strings, escapes), headers (any case, repeated),
cookies, content_type/content_length, json, form, body, stream, g, scheme, http_version,
url_prefix, client_addr, url_args."""
from microdot import Microdot

app = Microdot()


def args_of(md):
    return {k: md.getlist(k) for k in md}


@app.route('/args')
async def args(request):
    a = request.args
    return {'args': args_of(a), 'first': {k: a[k] for k in a}, 'qs': request.query_string,
            'url': request.url, 'path': request.path, 'json': a,
            'items': sorted([list(kv) for kv in a.items()]) if a else []}


@app.route('/typed')
async def typed(request):
    a = request.args
    return {'n': a.get('n', type=int), 'missing': a.get('missing', 'dflt'),
            'list': a.getlist('n', type=int), 'none': a.getlist('none')}


@app.route('/typed-bad')
async def typed_bad(request):
    return {'n': request.args.get('n', type=int)}


@app.route('/headers', methods=['GET', 'POST'])
async def headers(request):
    h = request.headers
    return {'ua': h.get('user-agent'), 'x': h.get('X-Thing'), 'X': h.get('x-thing'),
            'in': 'x-thing' in h, 'missing': h.get('X-Missing', 'none'),
            'ct': request.content_type, 'cl': request.content_length,
            'method': request.method, 'scheme': request.scheme, 'hv': request.http_version}


@app.route('/cookies')
async def cookies(request):
    return {'cookies': request.cookies}


@app.route('/body', methods=['POST', 'PUT'])
async def body(request):
    return {'body': request.body.decode('latin1'), 'len': len(request.body),
            'cl': request.content_length, 'ct': request.content_type,
            'json': request.json, 'form': args_of(request.form) if request.form else None}


@app.route('/json', methods=['POST'])
async def json_body(request):
    return {'json': request.json}


@app.route('/form', methods=['POST'])
async def form(request):
    f = request.form
    return {'form': None if f is None else {k: [v if isinstance(v, str) else 'bytes:' + v.decode()
                                               for v in f.getlist(k)] for k in f}}


@app.route('/stream', methods=['POST'])
async def stream(request):
    data = await request.stream.read()
    return {'read': data.decode(), 'body': request.body.decode()}


@app.route('/g')
async def g(request):
    request.g.value = 42
    return {'g': request.g.value, 'has': hasattr(request.g, 'other')}


@app.route('/misc/<int:id>/<name>')
async def misc(request, id, name):
    return {'url_args': request.url_args, 'route': request.route is misc,
            'prefix': request.url_prefix, 'subapp': request.subapp,
            'addr': isinstance(request.client_addr, (tuple, list, bytes)),
            'app': request.app is app}


CASES = [
    ('GET', '/args?foo=bar&nothing=&abc=def&'), ('GET', '/args?a=1&a=2&b'), ('GET', '/args?x=%'),
    ('GET', '/args?x=100%25&y=a+b&z=%2B'), ('GET', '/args?x=%4'), ('GET', '/args?%41=b'),
    ('GET', '/args?'), ('GET', '/args?=x'), ('GET', '/args?&&a=1&&'), ('GET', '/args?a=b=c'),
    ('GET', '/args?caf%C3%A9=%E2%9C%93'), ('GET', '/args'), ('GET', '/args?a=%zz'),
    ('GET', '/args?a=%C3'), ('GET', '/args?a=1#frag'), ('GET', '/args?a=%%'),
    ('GET', '/args?q=a%2Bb%20c+d'), ('GET', '/args?list=1&list=2&list=3'),
    ('GET', '/typed?n=5&n=6'), ('GET', '/typed-bad?n=x'),
    ('GET', '/headers', {'User-Agent': 'probe/1', 'x-thing': 'v'}),
    ('GET', '/headers', [('X-Thing', 'one'), ('X-Thing', 'two')]),
    ('POST', '/headers', {'Content-Type': 'text/plain; charset=latin1'}, b'abc'),
    ('GET', '/cookies', {'Cookie': 'a=1; b="2"; c; d=x=y; e='}),
    ('GET', '/cookies', {'Cookie': 'a=1;b=2;  c=3 '}), ('GET', '/cookies'),
    ('GET', '/cookies', {'Cookie': ''}), ('GET', '/cookies', {'Cookie': 'a=1; '}),
    ('GET', '/cookies', [('Cookie', 'a=1'), ('Cookie', 'b=2')]),
    ('POST', '/body', {'Content-Type': 'application/octet-stream'}, b'\x00\xff raw'),
    ('POST', '/body', {}, b''), ('PUT', '/body', {'Content-Type': 'text/plain'}, 'caf\u00e9'),
    ('POST', '/json', {'Content-Type': 'application/json'}, '{"a": [1, 2], "b": null}'),
    ('POST', '/json', {'Content-Type': 'application/json; charset=utf-8'}, '[1, 2]'),
    ('POST', '/json', {'Content-Type': 'text/plain'}, '{"a": 1}'),
    ('POST', '/json', {'Content-Type': 'application/json'}, '{not json'),
    ('POST', '/json', {'Content-Type': 'Application/JSON'}, '{"a": 1}'),
    ('POST', '/form', {'Content-Type': 'application/x-www-form-urlencoded'}, 'a=1&b=x+y&c=%20&a=2'),
    ('POST', '/form', {'Content-Type': 'application/x-www-form-urlencoded'}, 'flag&e=&f=%'),
    ('POST', '/form', {'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8'}, 'k=v'),
    ('POST', '/form', {'Content-Type': 'application/x-www-form-urlencoded'}, 'bad=%zz'),
    ('POST', '/form', {'Content-Type': 'text/plain'}, 'a=1'),
    ('POST', '/stream', {'Content-Type': 'text/plain'}, 'streamed body'),
    ('GET', '/g'), ('GET', '/misc/7/bob'),
]
