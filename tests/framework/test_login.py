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
    assert res.status_code == 302 and res.headers['Location'] == '/login?next=%2F'
    res = await client.get('/fresh?a=1&b=x%20y')
    assert res.headers['Location'] == '/login?next=%2Ffresh%3Fa%3D1%26b%3Dx%2520y'
    assert (await client.get('/whoami')).text == 'nobody'
    res = await client.post('/login?next=%2Ffresh', headers=FORM,
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


async def test_bad_password_and_open_redirects():
    client = TestClient(make_app())
    res = await client.post('/login', headers=FORM, body='username=susan&password=nope')
    assert res.headers['Location'] == '/login'
    assert (await client.get('/')).status_code == 302
    for target in ('https%3A%2F%2Fevil.example%2F', '%2F%2Fevil.example', '%2F%5Cevil.example',
                   'evil', '%2Fok%0D%0ASet-Cookie%3A+x%3D1'):
        client = TestClient(make_app())
        res = await client.post('/login?next=' + target, headers=FORM,
                                body='username=david&password=bye')
        assert res.status_code == 302
        assert res.headers['Location'] == '/', target


async def test_remember_me_cookie_and_fresh_logins():
    app = make_app()
    client = TestClient(app)
    res = await client.post('/login', headers=FORM,
                            body='username=david&password=bye&remember=on')
    cookies = [c for c in res.headers['Set-Cookie'] if c.startswith('_remember=')]
    assert len(cookies) == 1 and 'Max-Age=2592000' in cookies[0] and 'HttpOnly' in cookies[0]
    remember = client.cookies['_remember']
    data = jwt_decode(remember, SECRET)
    assert data['_user_id'] == 2 and data['exp'] > time.time() + 29 * 86400
    # a new browser session: only the remember-me cookie survives
    client = TestClient(app, cookies={'_remember': remember})
    assert (await client.get('/')).text == 'Hello, david'
    assert jwt_decode(client.cookies['session'], SECRET)['_fresh'] is False
    res = await client.get('/fresh')  # not fresh: log in again
    assert res.status_code == 302 and res.headers['Location'] == '/login?next=%2Ffresh'
    await client.post('/login', headers=FORM, body='username=david&password=bye')
    assert (await client.get('/fresh')).text == 'Fresh david'
    # logging out forgets the remember-me cookie as well
    await client.post('/logout')
    assert '_remember' not in client.cookies and (await client.get('/')).status_code == 302


async def test_forged_or_expired_remember_cookies_are_ignored():
    app = make_app()
    for token in (jwt_encode({'_user_id': 1}, 'some-other-secret-0123456789abcd'),
                  jwt_encode({'_user_id': 1, 'exp': int(time.time()) - 10}, SECRET),
                  'not-a-token'):
        client = TestClient(app, cookies={'_remember': token})
        assert (await client.get('/')).status_code == 302
    client = TestClient(app, cookies={'_remember': jwt_encode({'_user_id': 1}, SECRET)})
    assert (await client.get('/')).text == 'Hello, susan'


async def test_deleted_user_is_logged_out():
    app = make_app()
    client = TestClient(app)
    await client.post('/login', headers=FORM, body='username=susan&password=hello')
    USERS[99] = User(99, 'temp', 'x')
    client = TestClient(app)
    await client.post('/login', headers=FORM, body='username=temp&password=x')
    assert (await client.get('/')).text == 'Hello, temp'
    del USERS[99]
    assert (await client.get('/')).status_code == 302
    assert 99 in app.loads


async def test_remember_days_and_custom_login_url():
    app = Microdot()
    Session(app, secret_key=SECRET)
    login = Login(login_url='/auth/signin?lang=en')

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
    assert res.headers['Location'] == '/auth/signin?lang=en&next=%2Fhome'
    res = await client.post('/in')
    assert res.headers['Location'] == '/home'
    assert any('Max-Age=604800' in c for c in res.headers['Set-Cookie'])
    assert (await client.get('/home')).text == 'home'
