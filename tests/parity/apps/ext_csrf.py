"""CSRF extension: Sec-Fetch-Site, Origin checked against a CORS allow-list, sub-domains,
protect_all, exempt and protected routes, Vary: Sec-Fetch-Site."""
from microdot import Microdot
from microdot.cors import CORS
from microdot.csrf import CSRF

app = Microdot()
cors = CORS(app, allowed_origins=['https://app.example', 'http://other.example:8000'])
csrf = CSRF(app, cors)


@app.route('/submit', methods=['GET', 'POST', 'PUT', 'DELETE'])
async def submit(request):
    return 'done ' + request.method


@app.post('/hook')
@csrf.exempt
async def hook(request):
    return 'hooked'


@app.get('/danger')
@csrf.protect
async def danger(request):
    return 'danger'


# protect_all=False with sub-domains: only protected routes are checked
sub = Microdot()
subcors = CORS(sub, allowed_origins=['https://app.example'])
subcsrf = CSRF(sub, subcors, protect_all=False, allow_subdomains=True)


@sub.post('/open')
async def sub_open(request):
    return 'open'


@sub.post('/guarded')
@subcsrf.protect
async def sub_guarded(request):
    return 'guarded'


app.mount(sub, url_prefix='/sub', local=True)

# no CORS object: only Sec-Fetch-Site decides
bare = Microdot()
CSRF(bare)


@bare.post('/b')
async def bare_b(request):
    return 'b'


app.mount(bare, url_prefix='/bare', local=True)

SITES = ('same-origin', 'none', 'same-site', 'cross-site')
ORIGINS = ('https://app.example', 'https://evil.example', 'https://x.app.example',
           'http://x.app.example', 'http://other.example:8000')

CASES = [('GET', '/submit'), ('POST', '/submit'), ('GET', '/submit', {'Sec-Fetch-Site': 'cross-site'})]
for _path in ('/submit', '/hook', '/danger', '/sub/open', '/sub/guarded', '/bare/b'):
    _m = 'GET' if _path == '/danger' else 'POST'
    for _site in SITES:
        CASES.append((_m, _path, {'Sec-Fetch-Site': _site}, b''))
        CASES.append((_m, _path, {'Sec-Fetch-Site': _site, 'Origin': 'https://app.example'}, b''))
    for _origin in ORIGINS:
        CASES.append((_m, _path, {'Origin': _origin}, b''))
CASES += [
    ('PUT', '/submit', {'Sec-Fetch-Site': 'cross-site', 'Origin': 'https://app.example'}, b'x'),
    ('DELETE', '/submit', {'Sec-Fetch-Site': 'same-origin'}),
    ('OPTIONS', '/submit', {'Sec-Fetch-Site': 'cross-site'}),
    ('HEAD', '/submit', {'Sec-Fetch-Site': 'cross-site'}),
]
