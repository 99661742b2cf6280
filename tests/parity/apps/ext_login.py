"""Login extension: Login, login_user/logout_user, @login, @login.fresh, remember-me
cookies, the login redirect with ?next=."""
from microdot import Microdot
from microdot.login import Login
from microdot.session import Session

# upstream needs a jwt module: PyJWT on CPython; micropython-lib's jwt is not installed
# here (and writes tokens with other JSON spacing), so MicroPython is covered by
# tests/framework/test_session.py and test_login.py on our side only
RUNTIMES = ('cpython',)
SECRET = 'parity-secret-key-0123456789abcdef'
app = Microdot()
Session(app, secret_key=SECRET)
login = Login()
USERS = {7: 'susan', 8: 'david'}


class User:
    def __init__(self, uid):
        self.id = uid
        self.name = USERS[uid]


@login.user_loader
async def load_user(user_id):
    return User(user_id) if user_id in USERS else None


@app.route('/login', methods=['GET', 'POST'])
async def login_page(request):
    uid = int(request.args.get('uid', '7'))
    remember = request.args.get('remember')
    if remember == 'yes':
        remember = True
    elif remember:
        remember = int(remember)
    return await login.login_user(request, User(uid), remember=remember or False)


@app.get('/')
@login
async def index(request):
    return 'hello ' + request.g.current_user.name


@app.get('/fresh')
@login.fresh
async def fresh(request):
    return 'fresh ' + request.g.current_user.name


@app.get('/who')
async def who(request):
    user = await login.get_current_user(request)
    return {'user': user.name if user else None}


@app.post('/logout')
async def logout(request):
    await login.logout_user(request)
    return 'bye'


# tokens made with PyJWT for SECRET
FRESH = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJfdXNlcl9pZCI6NywiX2ZyZXNoIjp0cnVlfQ.' \
    'm_D_cuvbt_-j1uoLCuKzvilCGxZoJ9JJd1RqyXBLy4c'
STALE = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJfdXNlcl9pZCI6NywiX2ZyZXNoIjpmYWxzZX0.' \
    'uQZ8Q7QkSMCcJs7U0Xx3bGt_6JXWZJtdhRfbuM_61Is'
REMEMBER = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjo3LCJkYXlzIjozLCJleHAiOjQxMDI0' \
    'NDQ4MDB9.-LDHRH_pdjTVTwccCy7CiSmMTenjc9nFyNHXGBOPcEQ'
REMEMBER_FORGED = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjo3LCJkYXlzIjozLCJleHAiOjQx' \
    'MDI0NDQ4MDB9.e7V9EmlBImqorMCJPkcg5judm3Id2bQEDRDB96ibuKQ'
REMEMBER_GONE_USER = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjo5OSwiZGF5cyI6MywiZXhw' \
    'Ijo0MTAyNDQ0ODAwfQ.9znmYwTTBcjUWAjEYgKBVoW9OTQ61Csl8QYX0XB23uQ'
REMEMBER_EXPIRED = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjo3LCJleHAiOjJ9.' \
    'qBmAH6SNX84WKHin6q7Af_TuhrMFvSpfyJdU0v39Now'


def _c(value):
    return {'Cookie': value}


CASES = [
    ('GET', '/'), ('GET', '/fresh'), ('GET', '/who'),
    ('GET', '/?a=1&b=two%20words'), ('GET', '/fresh?x=a+b'),
    ('GET', '/login'), ('GET', '/login?next=/fresh'), ('GET', '/login?next=http://evil.example/'),
    {'method': 'GET', 'path': '/login?next=//evil.example/', 'differs': 'D106'},
    {'method': 'GET', 'path': '/login?next=/%5Cevil.example/', 'differs': 'D106'},
    ('GET', '/login?uid=8&next=%2Fwho%3Fx%3D1'),
    ('GET', '/', _c('session=' + FRESH)), ('GET', '/fresh', _c('session=' + FRESH)),
    ('GET', '/', _c('session=' + STALE)), ('GET', '/fresh', _c('session=' + STALE)),
    ('GET', '/who', _c('session=' + FRESH)),
    ('POST', '/logout', _c('session=' + FRESH)),
    ('GET', '/fresh', _c('_remember=' + REMEMBER)),
    ('GET', '/', _c('_remember=' + REMEMBER_FORGED)),
    ('GET', '/fresh', _c('_remember=' + REMEMBER_GONE_USER)),
    ('GET', '/', _c('_remember=' + REMEMBER_EXPIRED)),
    ('GET', '/', _c('_remember=garbage')),
]


def _names(res):
    # remember-me tokens carry the time: log each Set-Cookie without its value
    out = []
    cookies = res.headers.get('Set-Cookie') or []
    if isinstance(cookies, str):
        cookies = [cookies]
    for c in cookies:
        name, _, rest = c.partition('=')
        value, _, attrs = rest.partition(';')
        out.append([name, bool(value), attrs])
    return out


async def script(client, log):
    res = await client.get('/')
    log('anonymous', res.status_code, res.headers.get('Location'))
    res = await client.get('/login?remember=3&next=/fresh')
    log('login', res.status_code, res.headers.get('Location'), _names(res))
    log('index', (await client.get('/')).text, (await client.get('/fresh')).text)
    res = await client.post('/logout')
    log('logout', res.text, _names(res), sorted(client.cookies))
    res = await client.get('/')
    log('after logout', res.status_code, res.headers.get('Location'))
    res = await client.get('/login?remember=yes')
    log('login remember', _names(res))
    # the session goes, the remember-me cookie stays: a stale login comes back
    client.cookies.pop('session', None)
    res = await client.get('/')
    log('restored', res.text, _names(res))
    res = await client.get('/fresh')
    log('not fresh', res.status_code, res.headers.get('Location'))
