from microdot import Microdot, redirect
from microdot.cors import CORS
from microdot.csrf import CSRF
from microdot.login import Login
from microdot.session import Session
from microdot.test_client import TestClient
from support import running_server, raw_request

FORM = {'Content-Type': 'application/x-www-form-urlencoded'}
TRUSTED = 'https://dashboard.example.com'


def make_app(**kwargs):
    app = Microdot()
    cors = CORS(allowed_origins=[TRUSTED])
    cors.initialize(app)
    csrf = CSRF(app, cors, **kwargs)

    @app.route('/submit', methods=['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
    async def submit(request):
        return 'done'

    @app.post('/webhook')
    @csrf.exempt
    async def webhook(request):
        return 'hooked'

    @app.post('/guarded')
    @csrf.protect
    async def guarded(request):
        return 'guarded'
    return app


async def status(client, method, path, headers):
    return (await client.request(method, path, headers=headers, body='a=1')).status_code


async def test_sec_fetch_site():
    client = TestClient(make_app())
    for site in ('same-origin', 'none'):
        res = await client.post('/submit', headers={'Sec-Fetch-Site': site}, body='a=1')
        assert res.status_code == 200
        assert res.headers['Vary'] == 'Sec-Fetch-Site'
    # (as upstream) the header's value is compared exactly
    assert await status(client, 'POST', '/submit', {'Sec-Fetch-Site': 'Same-Origin'}) == 403
    for method in ('POST', 'PUT', 'PATCH', 'DELETE'):
        assert await status(client, method, '/submit', {'Sec-Fetch-Site': 'cross-site'}) == 403
    assert await status(client, 'POST', '/submit', {'Sec-Fetch-Site': 'same-site'}) == 403
    # safe methods are never blocked
    assert await status(client, 'GET', '/submit', {'Sec-Fetch-Site': 'cross-site'}) == 200
    # a cross-site request from an origin on the CORS allow-list is accepted
    assert await status(client, 'POST', '/submit', {
        'Sec-Fetch-Site': 'cross-site', 'Origin': TRUSTED}) == 200
    res = await client.post('/submit', headers={
        'Sec-Fetch-Site': 'cross-site', 'Origin': 'https://evil.example'}, body='a=1')
    assert res.status_code == 403 and res.text == 'Forbidden'
    # exempt routes
    assert await status(client, 'POST', '/webhook', {'Sec-Fetch-Site': 'cross-site'}) == 200


async def test_origin_fallback_for_older_browsers():
    client = TestClient(make_app())
    host = {'Host': 'device.local:8080'}

    def h(origin):
        d = dict(host)
        d['Origin'] = origin
        return d
    # only the CORS allow-list is trusted: the Host header does not count
    assert await status(client, 'POST', '/submit', h('http://device.local:8080')) == 403
    assert await status(client, 'POST', '/submit', h('http://evil.example')) == 403
    assert await status(client, 'POST', '/submit', h('null')) == 403
    assert await status(client, 'POST', '/submit', h(TRUSTED)) == 200
    assert await status(client, 'POST', '/submit', h(TRUSTED + '.evil.example')) == 403
    assert await status(client, 'POST', '/submit', h('https://sub.dashboard.example.com')) == 403
    # no Origin and no Sec-Fetch-Site: not a browser request, nothing to check
    assert await status(client, 'POST', '/submit', host) == 200
    # without a CORS object an Origin alone is refused
    app = Microdot()
    CSRF(app)

    @app.post('/')
    async def index(request):
        return 'x'
    client = TestClient(app)
    assert await status(client, 'POST', '/', {'Origin': TRUSTED}) == 403
    assert await status(client, 'POST', '/', {}) == 200


async def test_allow_subdomains():
    client = TestClient(make_app(allow_subdomains=True))
    assert await status(client, 'POST', '/submit', {'Sec-Fetch-Site': 'same-site'}) == 200
    assert await status(client, 'POST', '/submit', {'Sec-Fetch-Site': 'cross-site'}) == 403
    assert await status(client, 'POST', '/submit', {
        'Origin': 'https://api.dashboard.example.com'}) == 200
    assert await status(client, 'POST', '/submit', {
        'Origin': 'http://api.dashboard.example.com'}) == 403
    assert await status(client, 'POST', '/submit', {
        'Origin': 'https://baddashboard.example.com'}) == 403


async def test_protect_all_false():
    client = TestClient(make_app(protect_all=False))
    cross = {'Sec-Fetch-Site': 'cross-site'}
    assert await status(client, 'POST', '/submit', cross) == 200
    assert await status(client, 'POST', '/guarded', cross) == 403
    assert await status(client, 'POST', '/guarded', {'Sec-Fetch-Site': 'same-origin'}) == 200


async def test_protect_checks_safe_methods_too():
    app = Microdot()
    csrf = CSRF(app)

    @app.get('/danger')
    @csrf.protect
    async def danger(request):
        return 'd'
    client = TestClient(app)
    assert await status(client, 'GET', '/danger', {'Sec-Fetch-Site': 'cross-site'}) == 403
    assert await status(client, 'GET', '/danger', {'Sec-Fetch-Site': 'same-origin'}) == 200


def make_site():
    """A small site as a browser would use it: login form, session, CSRF."""
    app = Microdot()
    Session(app, secret_key='e2e-secret-0123456789abcdef01234567')
    csrf = CSRF(app)
    login = Login()
    users = {7: 'susan'}

    @login.user_loader
    async def load(user_id):
        return users.get(user_id)

    @app.route('/login', methods=['GET', 'POST'])
    async def login_page(request):
        if request.method == 'POST':
            if request.form.get('username') == 'susan' and \
                    request.form.get('password') == 'hello':
                class U:
                    id = 7
                return await login.login_user(request, U())
            return redirect('/login')
        return '<form method="POST"><input name="username"><input name="password"></form>', \
            {'Content-Type': 'text/html'}

    @app.get('/')
    @login
    async def index(request):
        return 'Hello, ' + request.g.current_user

    @app.post('/transfer')
    @login
    async def transfer(request):
        return 'sent ' + request.form.get('amount')

    @app.post('/logout')
    @login
    async def logout(request):
        await login.logout_user(request)
        return redirect('/login')
    return app


async def test_browser_flow_login_csrf_logout():
    client = TestClient(make_site())
    same = {'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'same-origin',
            'Origin': 'http://localhost'}
    res = await client.get('/')
    assert res.status_code == 302 and res.headers['Location'] == '/login?next=/'
    assert 'form' in (await client.get('/login')).text
    # a cross-site page cannot even log the browser in
    res = await client.post('/login', headers={'Content-Type': FORM['Content-Type'],
                                               'Sec-Fetch-Site': 'cross-site'},
                            body='username=susan&password=hello')
    assert res.status_code == 403 and 'session' not in client.cookies
    res = await client.post('/login?next=/', headers=dict(same), body='username=susan&password=hello')
    assert res.status_code == 302 and res.headers['Location'] == '/'
    assert 'session' in client.cookies
    assert (await client.get('/')).text == 'Hello, susan'
    # the same-origin form post goes through
    res = await client.post('/transfer', headers=dict(same), body='amount=5')
    assert res.status_code == 200 and res.text == 'sent 5'
    # a forged form post from another site is blocked, with fetch metadata...
    res = await client.post('/transfer', headers={
        'Content-Type': FORM['Content-Type'], 'Sec-Fetch-Site': 'cross-site',
        'Origin': 'https://evil.example'}, body='amount=500')
    assert res.status_code == 403
    # ...and from an older browser that only sends Origin
    res = await client.post('/transfer', headers={
        'Content-Type': FORM['Content-Type'], 'Origin': 'https://evil.example'}, body='amount=500')
    assert res.status_code == 403
    res = await client.post('/logout', headers=dict(same))
    assert res.status_code == 302
    res = await client.get('/')
    assert res.status_code == 302 and res.headers['Location'] == '/login?next=/'
    res = await client.post('/transfer', headers=dict(same), body='amount=5')
    assert res.status_code == 302


async def test_csrf_over_a_real_socket():
    app = make_site()
    async with running_server(app) as port:
        body = b'username=susan&password=hello'
        head = ('POST /login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n'
                'Content-Type: application/x-www-form-urlencoded\r\n'
                'Content-Length: %d\r\nConnection: close\r\n' % (port, len(body))).encode()
        res = await raw_request(port, head + b'Origin: http://attacker.example\r\n\r\n' + body)
        assert res.startswith(b'HTTP/1.1 403')
        res = await raw_request(port, head + ('Origin: http://127.0.0.1:%d\r\n'
                                              'Sec-Fetch-Site: same-origin\r\n\r\n' % port).encode()
                                + body)
        assert res.startswith(b'HTTP/1.1 302') and b'Set-Cookie: session=' in res
