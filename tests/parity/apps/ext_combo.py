"""Extensions together and in mounted sub-applications: CORS + CSRF + sessions + auth on
one app, hooks and error handlers around them, sessions and logins in mounted apps."""
from microdot import Microdot, abort
from microdot.auth import BasicAuth, TokenAuth
from microdot.cors import CORS
from microdot.csrf import CSRF
from microdot.session import Session, with_session

RUNTIMES = ('cpython',)  # sessions: upstream needs a jwt module MicroPython lacks here
app = Microdot()
cors = CORS(app, allowed_origins=['https://ui.example'], allow_credentials=True)
csrf = CSRF(app, cors)
Session(app, secret_key='combo-secret-0123456789abcdef0123')
token = TokenAuth()
basic = BasicAuth(realm='Combo')


@token.authenticate
async def check_token(request, tok):
    return {'name': 'robot'} if tok == 't1' else None


@basic.authenticate
async def check_basic(request, user, password):
    return user if password == 'pw' else None


@app.errorhandler(401)
async def unauthorized(request):
    return {'error': 'who are you?'}, 401


@app.errorhandler(403)
async def forbidden(request):
    return {'error': 'not from there'}, 403


@app.after_request
async def stamp(request, response):
    response.headers['X-Stamp'] = 'yes'


@app.route('/api', methods=['GET', 'POST'])
@token
async def api(request):
    return {'user': request.g.current_user['name'], 'method': request.method}


@app.post('/visit')
@with_session
async def visit(request, session):
    session['n'] = session.get('n', 0) + 1
    session.save()
    return {'n': session['n']}


@app.get('/admin')
@basic
async def admin(request):
    return 'admin ' + request.g.current_user


@app.get('/abort')
async def do_abort(request):
    abort(403)


sub = Microdot()


@sub.get('/whoami')
@with_session
async def whoami(request, session):
    return {'session': session}


@sub.post('/change')
@with_session
async def change(request, session):
    session['sub'] = True
    session.save()
    return 'changed'


app.mount(sub, url_prefix='/sub')
UI = {'Origin': 'https://ui.example'}


def h(*dicts):
    out = {}
    for d in dicts:
        out.update(d)
    return out


CASES = [
    ('GET', '/api'), ('GET', '/api', {'Authorization': 'Bearer t1'}),
    ('GET', '/api', h(UI, {'Authorization': 'Bearer nope'})),
    ('POST', '/api', h(UI, {'Authorization': 'Bearer t1'}), b''),
    ('POST', '/api', {'Origin': 'https://evil.example', 'Authorization': 'Bearer t1'}, b''),
    ('POST', '/api', {'Sec-Fetch-Site': 'cross-site', 'Authorization': 'Bearer t1'}, b''),
    ('OPTIONS', '/api', h(UI, {'Access-Control-Request-Method': 'POST',
                                'Access-Control-Request-Headers': 'Authorization'})),
    ('POST', '/visit', {'Sec-Fetch-Site': 'same-origin'}, b''),
    ('POST', '/visit', h(UI, {'Sec-Fetch-Site': 'same-site'}), b''),
    ('GET', '/admin'), ('GET', '/admin', {'Authorization': 'Basic dTpwdw=='}),
    ('GET', '/admin', h(UI, {'Authorization': 'Basic dTp4'})),
    ('GET', '/abort', UI), ('GET', '/missing', UI),
    ('GET', '/sub/whoami'), ('POST', '/sub/change', {'Sec-Fetch-Site': 'same-origin'}, b''),
    ('POST', '/sub/change', {'Sec-Fetch-Site': 'cross-site'}, b''),
]


async def script(client, log):
    res = await client.post('/visit', headers={'Sec-Fetch-Site': 'same-origin'})
    res = await client.post('/visit', headers={'Sec-Fetch-Site': 'none'})
    log('visits', res, sorted(client.cookies))
    res = await client.post('/sub/change', headers={'Sec-Fetch-Site': 'same-origin'})
    res = await client.get('/sub/whoami')
    log('sub', res)
