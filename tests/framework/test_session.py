import binascii
import json
import time

from microdot import Microdot, redirect
from microdot.session import Session, SessionDict, with_session, jwt_encode, jwt_decode, \
    hmac_sha256
from microdot.test_client import TestClient

SECRET = 'test-secret-key-that-is-long-enough-for-hs256'
# the example token from RFC 7519 tooling (jwt.io), signed with 'your-256-bit-secret'
JWT_IO = ('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG'
          '9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c')


def b64url(data):
    return binascii.b2a_base64(data).rstrip(b'\n=').decode().replace('+', '-').replace('/', '_')


def make_app(**kwargs):
    app = Microdot()
    Session(app, secret_key=SECRET, **kwargs)

    @app.route('/', methods=['GET', 'POST'])
    @with_session
    async def index(req, session):
        if req.method == 'POST':
            session['name'] = req.form.get('name')
            session.save()
            return redirect('/')
        return session.get('name') or 'anonymous'

    @app.post('/logout')
    @with_session
    async def logout(req, session):
        session.delete()
        return 'bye'

    @app.get('/items/<int:n>')
    @with_session
    def items(req, session, n):  # a sync handler with URL arguments
        return {'n': n, 'session': {k: session[k] for k in session}}
    return app


def test_hmac_sha256_rfc4231_vectors():
    assert binascii.hexlify(hmac_sha256(b'Jefe', b'what do ya want for nothing?')) == \
        b'5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'
    # a key longer than the 64-byte block is hashed first
    assert binascii.hexlify(hmac_sha256(b'\xaa' * 131, b'Test Using Larger Than Block-Size Key'
                                        b' - Hash Key First')) == \
        b'60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'


def test_jwt_known_token_and_round_trip():
    assert jwt_decode(JWT_IO, 'your-256-bit-secret') == {
        'sub': '1234567890', 'name': 'John Doe', 'iat': 1516239022}
    assert jwt_decode(JWT_IO, 'another-secret') is None
    token = jwt_encode({'user': 'ann', 'n': [1, 2], 'u': 'caf\u00e9'}, SECRET)
    head = token.split('.')[0]
    assert head == b64url(b'{"alg":"HS256","typ":"JWT"}')
    assert '=' not in token and '+' not in token and '/' not in token
    assert jwt_decode(token, SECRET) == {'user': 'ann', 'n': [1, 2], 'u': 'caf\u00e9'}


def test_jwt_rejects_forgeries():
    token = jwt_encode({'user': 'ann'}, SECRET)
    head, body, sig = token.split('.')
    evil = b64url(b'{"user":"admin"}')
    assert jwt_decode(head + '.' + evil + '.' + sig, SECRET) is None        # tampered payload
    assert jwt_decode(head + '.' + body + '.' + sig[:-2], SECRET) is None   # truncated signature
    assert jwt_decode(head + '.' + body + '.', SECRET) is None
    none_head = b64url(b'{"alg":"none","typ":"JWT"}')
    assert jwt_decode(none_head + '.' + evil + '.', SECRET) is None          # alg=none
    assert jwt_decode(none_head + '.' + body + '.' + sig, SECRET) is None
    # a correct HMAC under a header that does not name HS256 is still refused
    for header in (b'{"alg":"HS512","typ":"JWT"}', b'{"typ":"JWT"}', b'[1]'):
        h = b64url(header)
        s = b64url(hmac_sha256(SECRET, (h + '.' + body).encode()))
        assert jwt_decode(h + '.' + body + '.' + s, SECRET) is None
    assert jwt_decode(token, 'wrong-key') is None
    for junk in ('', 'a.b', 'a.b.c.d', '!!!.###.$$$', token + 'x'):
        assert jwt_decode(junk, SECRET) is None


def test_jwt_exp_and_nbf():
    now = int(time.time())
    assert jwt_decode(jwt_encode({'a': 1, 'exp': now + 60}, SECRET), SECRET) == \
        {'a': 1, 'exp': now + 60}
    assert jwt_decode(jwt_encode({'a': 1, 'exp': now - 1}, SECRET), SECRET) is None
    assert jwt_decode(jwt_encode({'a': 1, 'exp': 'never'}, SECRET), SECRET) is None
    assert jwt_decode(jwt_encode({'a': 1, 'nbf': now + 60}, SECRET), SECRET) is None
    assert jwt_decode(jwt_encode({'a': 1, 'nbf': now - 60}, SECRET), SECRET) is not None


async def test_session_round_trip_through_cookie():
    client = TestClient(make_app())
    assert (await client.get('/')).text == 'anonymous'
    res = await client.post('/', body='name=Ann', headers={
        'Content-Type': 'application/x-www-form-urlencoded'})
    assert res.status_code == 302
    cookie = res.headers['Set-Cookie'][0]
    assert cookie.startswith('session=')
    assert 'Path=/' in cookie and 'HttpOnly' in cookie and 'SameSite' not in cookie
    assert res.headers['Vary'] == 'Cookie'
    assert jwt_decode(client.cookies['session'], SECRET) == {'name': 'Ann'}
    assert (await client.get('/')).text == 'Ann'
    res = await client.get('/items/7')
    assert res.json == {'n': 7, 'session': {'name': 'Ann'}}
    res = await client.post('/logout')
    assert res.text == 'bye'
    assert 'Max-Age=0' in res.headers['Set-Cookie'][0]
    assert 'session' not in client.cookies
    assert (await client.get('/')).text == 'anonymous'


async def test_bad_cookies_give_an_empty_session():
    client = TestClient(make_app())
    good = jwt_encode({'name': 'Ann'}, SECRET)
    head, body, sig = good.split('.')
    for bad in (head + '.' + b64url(b'{"name":"Eve"}') + '.' + sig,
                b64url(b'{"alg":"none","typ":"JWT"}') + '.' + b64url(b'{"name":"Eve"}') + '.',
                jwt_encode({'name': 'Eve'}, 'not-the-key'),
                'garbage'):
        res = await client.get('/', headers={'Cookie': 'session=' + bad})
        assert res.status_code == 200
        assert res.text == 'anonymous'
    assert (await client.get('/', headers={'Cookie': 'session=' + good})).text == 'Ann'


async def test_cookie_options_and_low_level_api():
    app = Microdot()
    sessions = Session()
    sessions.initialize(app, secret_key=SECRET,
                        cookie_options={'path': '/app', 'secure': True, 'same_site': 'Strict'})

    @app.get('/app/set')
    async def set_(req):
        s = sessions.get(req)
        assert isinstance(s, SessionDict) and s == {}
        sessions.update(req, {'a': 1})
        sessions.update(req, {'a': 2, 'b': 'x'})  # each update sends a cookie: the last wins
        return 'ok'

    @app.get('/app/get')
    async def get(req):
        s = sessions.get(req)
        return {k: s[k] for k in s}

    @app.get('/app/del')
    async def delete(req):
        sessions.delete(req)
        return 'ok'

    client = TestClient(app)
    res = await client.get('/app/set')
    cookies = res.headers['Set-Cookie']
    assert len(cookies) == 2
    assert 'Path=/app' in cookies[1] and 'Secure' in cookies[1] and 'SameSite=Strict' in cookies[1]
    assert json.loads(json.dumps((await client.get('/app/get')).json)) == {'a': 2, 'b': 'x'}
    res = await client.get('/app/del')
    assert 'Max-Age=0' in res.headers['Set-Cookie'][0] and 'Path=/app' in res.headers['Set-Cookie'][0]
    assert (await client.get('/app/get')).json == {}


async def test_session_without_secret_key_is_an_error():
    app = Microdot()
    Session(app)

    @app.get('/')
    @with_session
    async def index(req, session):
        return 'never'

    assert (await TestClient(app).get('/')).status_code == 500
