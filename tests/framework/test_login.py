import time

from microdot import Microdot, redirect
from microdot.session import Session, jwt_decode, jwt_encode
from microdot.login import Login
from microdot.test_client import TestClient

SECRET = 'login-test-secret-0123456789abcdef'
FORM = {'Content-Type': 'application/x-www-form-urlencoded'}


class User:
    def __init__(self, id, username, password):
        self.id = id
        self.username = username
        self.password = password


USERS = {1: User(1, 'susan', 'hello'), 2: User(2, 'david', 'bye')}


def make_app():
    app = Microdot()
    Session(app, secret_key=SECRET)
    login = Login()
    loads = []

    @login.user_loader
    async def get_user(user_id):
        loads.append(user_id)
        return USERS.get(user_id)

    @app.route('/login', methods=['GET', 'POST'])
    async def login_page(request):
        if request.method == 'GET':
            return '<form method="POST">...</form>', {'Content-Type': 'text/html'}
        username = request.form.get('username')
        password = request.form.get('password')
        for user in USERS.values():
            if user.username == username and user.password == password:
                return await login.login_user(request, user,
                                              remember=bool(request.form.get('remember')))
        return redirect('/login')

    @app.get('/')
    @login
    async def index(request):
        return 'Hello, ' + request.g.current_user.username

    @app.get('/fresh')
    @login.fresh
    async def fresh(request):
        return 'Fresh ' + request.g.current_user.username

    @app.get('/whoami')
    async def whoami(request):
        user = await login.get_current_user(request)
        return user.username if user else 'nobody'

    @app.post('/logout')
    @login
    async def logout(request):
        await login.logout_user(request)
        return redirect('/')

    app.loads = loads
    return app


async def test_login_flow_with_redirect_back():
    app = make_app()
    client = TestClient(app)
    res = await client.get('/')
    # (as upstream) only + space % ? # & = are escaped in the next URL
    assert res.status_code == 302 and res.headers['Location'] == '/login?next=/'
    res = await client.get('/fresh?a=1&b=x%20y+z')
    assert res.headers['Location'] == '/login?next=/fresh%3Fa%3D1%26b%3Dx%2520y%252Bz'
    assert (await client.get('/whoami')).text == 'nobody'
    res = await client.post('/login?next=%2Ffresh', headers=dict(FORM),
                            body='username=susan&password=hello')
    assert res.status_code == 302 and res.headers['Location'] == '/fresh'
    session = jwt_decode(client.cookies['session'], SECRET)
    assert session['_user_id'] == 1 and session['_fresh'] is True
    assert '_remember' not in client.cookies
    assert (await client.get('/')).text == 'Hello, susan'
    assert (await client.get('/fresh')).text == 'Fresh susan'
    assert (await client.get('/whoami')).text == 'susan'
    res = await client.post('/logout')
    assert res.status_code == 302
    assert (await client.get('/')).status_code == 302
    assert (await client.get('/whoami')).text == 'nobody'


async def test_bad_password_and_next_urls():
    client = TestClient(make_app())
    res = await client.post('/login', headers=dict(FORM), body='username=susan&password=nope')
    assert res.headers['Location'] == '/login'
    assert (await client.get('/')).status_code == 302
    # (as upstream) a next URL that does not start with / falls back to redirect_url
    for target, location in (('https%3A%2F%2Fevil.example%2F', '/'), ('evil', '/'),
                             ('%2Fok%3Fa%3D1', '/ok?a=1'),
                             # scheme-relative URLs are other sites (docs/compat.md D106)
                             ('%2F%2Fevil.example%2F', '/'), ('%2F%5Cevil.example', '/')):
        client = TestClient(make_app())
        res = await client.post('/login?next=' + target, headers=dict(FORM),
                                body='username=david&password=bye')
        assert res.status_code == 302
        assert res.headers['Location'] == location, target
    # a next URL with a line break is refused by redirect(): 500, no header injected
    client = TestClient(make_app())
    res = await client.post('/login?next=%2Fok%0D%0ASet-Cookie%3A+x%3D1', headers=dict(FORM),
                            body='username=david&password=bye')
    assert res.status_code == 500 and 'Location' not in res.headers


async def test_remember_me_cookie_and_fresh_logins():
    app = make_app()
    client = TestClient(app)
    res = await client.post('/login', headers=dict(FORM),
                            body='username=david&password=bye&remember=on')
    cookies = [c for c in res.headers['Set-Cookie'] if c.startswith('_remember=')]
    # (as upstream) the remember-me cookie has only a Max-Age
    assert len(cookies) == 1 and cookies[0].endswith('; Max-Age=2592000')
    remember = client.cookies['_remember']
    data = jwt_decode(remember, SECRET)
    assert data['user_id'] == 2 and data['days'] == 30
    assert data['exp'] > time.time() + 29 * 86400
    # a new browser session: only the remember-me cookie survives
    client = TestClient(app, cookies={'_remember': remember})
    res = await client.get('/')
    assert res.text == 'Hello, david'
    assert any(c.startswith('_remember=') for c in res.headers['Set-Cookie'])  # renewed
    assert jwt_decode(client.cookies['session'], SECRET)['_fresh'] is False
    res = await client.get('/fresh')  # not fresh: log in again
    assert res.status_code == 302 and res.headers['Location'] == '/login?next=/fresh'
    await client.post('/login', headers=dict(FORM), body='username=david&password=bye')
    assert (await client.get('/fresh')).text == 'Fresh david'
    # logging out expires the remember-me cookie as well
    res = await client.post('/logout')
    gone = [c for c in res.headers['Set-Cookie'] if c.startswith('_remember=')]
    assert len(gone) == 1 and gone[0].endswith('; Max-Age=0')
    assert jwt_decode(gone[0].split('=', 1)[1].split(';')[0], SECRET) is None  # expired now
    assert (await client.get('/')).status_code == 302
    # without a remember-me cookie, logging out sends none
    client = TestClient(app)
    await client.post('/login', headers=dict(FORM), body='username=david&password=bye')
    res = await client.post('/logout')
    assert not [c for c in res.headers['Set-Cookie'] if c.startswith('_remember=')]


async def test_forged_or_expired_remember_cookies_are_ignored():
    app = make_app()
    for token in (jwt_encode({'user_id': 1}, 'some-other-secret-0123456789abcd'),
                  jwt_encode({'user_id': 1, 'exp': int(time.time()) - 10}, SECRET),
                  jwt_encode({'_user_id': 1}, SECRET),
                  'not-a-token'):
        client = TestClient(app, cookies={'_remember': token})
        assert (await client.get('/')).status_code == 302
    client = TestClient(app, cookies={'_remember': jwt_encode({'user_id': 1}, SECRET)})
    assert (await client.get('/')).text == 'Hello, susan'


async def test_deleted_user_is_logged_out():
    app = make_app()
    client = TestClient(app)
    await client.post('/login', headers=dict(FORM), body='username=susan&password=hello')
    USERS[99] = User(99, 'temp', 'x')
    client = TestClient(app)
    await client.post('/login', headers=dict(FORM), body='username=temp&password=x')
    assert (await client.get('/')).text == 'Hello, temp'
    del USERS[99]
    assert (await client.get('/')).status_code == 302
    assert 99 in app.loads


async def test_remember_days_and_custom_login_url():
    app = Microdot()
    Session(app, secret_key=SECRET)
    login = Login(login_url='/auth/signin')

    @login.user_loader
    def load(user_id):  # a sync loader
        return USERS.get(user_id)

    @app.post('/in')
    async def sign_in(request):
        return await login.login_user(request, USERS[1], remember=7, redirect_url='/home')

    @app.get('/home')
    @login
    async def home(request):
        return 'home'

    client = TestClient(app)
    res = await client.get('/home')
    assert res.headers['Location'] == '/auth/signin?next=/home'
    res = await client.post('/in')
    assert res.headers['Location'] == '/home'
    assert any('Max-Age=604800' in c for c in res.headers['Set-Cookie'])
    assert (await client.get('/home')).text == 'home'
