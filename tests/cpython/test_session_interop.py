"""Session cookies are standard HS256 JWTs: PyJWT and our code (on CPython and on
MicroPython) must accept each other's tokens and reject forgeries the same way."""
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from microdot import Microdot
from microdot.session import Session, with_session, jwt_decode
from microdot.test_client import TestClient

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = Path(sys.executable).parent / 'micropython'
SECRET = 'interop-secret-key-0123456789abcdef'

MP_SCRIPT = r'''
import sys, json
sys.path.insert(0, %r)
from microdot.session import jwt_encode, jwt_decode
cmd = sys.argv[1]
if cmd == 'encode':
    print(jwt_encode(json.loads(sys.argv[3]), sys.argv[2]))
else:
    print(json.dumps(jwt_decode(sys.argv[3], sys.argv[2])))
''' % str(ROOT / 'src')


def run_mp(*args):
    if not MICROPYTHON.exists():
        pytest.skip('no micropython binary in the venv; run make setup')
    out = subprocess.run([str(MICROPYTHON), '-c', MP_SCRIPT, *args], capture_output=True,
                         text=True, timeout=60, check=True)
    return out.stdout.strip()


def make_app():
    app = Microdot()
    Session(app, secret_key=SECRET)

    @app.get('/')
    @with_session
    async def index(req, session):
        return {k: session[k] for k in session}

    @app.get('/set')
    @with_session
    async def set_(req, session):
        session['user'] = 'ann'
        session['roles'] = ['admin', 'ops']
        session.save()
        return 'ok'
    return app


def test_our_cookie_verifies_with_pyjwt():
    client = TestClient(make_app())
    asyncio.run(client.get('/set'))
    token = client.cookies['session']
    header = jwt.get_unverified_header(token)
    assert header == {'alg': 'HS256', 'typ': 'JWT'}
    assert jwt.decode(token, SECRET, algorithms=['HS256']) == {'user': 'ann',
                                                               'roles': ['admin', 'ops']}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET + 'x', algorithms=['HS256'])


def test_pyjwt_token_is_accepted_by_our_session():
    token = jwt.encode({'user': 'bob', 'exp': int(time.time()) + 60}, SECRET, algorithm='HS256')
    res = asyncio.run(TestClient(make_app()).get('/', headers={'Cookie': 'session=' + token}))
    assert res.json['user'] == 'bob'
    # PyJWT-made tokens that must be refused: expired, other key, other algorithm, alg=none
    bad = [
        jwt.encode({'user': 'bob', 'exp': int(time.time()) - 5}, SECRET, algorithm='HS256'),
        jwt.encode({'user': 'bob'}, 'another-secret-key-0123456789abcd', algorithm='HS256'),
        jwt.encode({'user': 'bob'}, SECRET * 2, algorithm='HS512'),
        jwt.encode({'user': 'bob'}, None, algorithm='none'),
    ]
    for token in bad:
        res = asyncio.run(TestClient(make_app()).get('/', headers={'Cookie': 'session=' + token}))
        assert res.status_code == 200 and res.json == {}


def test_micropython_token_verifies_with_pyjwt():
    payload = {'user': 'caf\u00e9', 'n': 42, 'list': [1, 'two'], 'exp': int(time.time()) + 600}
    token = run_mp('encode', SECRET, json.dumps(payload))
    assert jwt.decode(token, SECRET, algorithms=['HS256']) == payload
    assert jwt_decode(token, SECRET) == payload  # and our CPython code agrees
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, 'wrong-key-0123456789abcdef0123456', algorithms=['HS256'])


def test_pyjwt_token_decodes_on_micropython():
    payload = {'user': 'dave', 'admin': True, 'exp': int(time.time()) + 600}
    token = jwt.encode(payload, SECRET, algorithm='HS256')
    assert json.loads(run_mp('decode', SECRET, token)) == payload
    # forgeries are refused on MicroPython too
    head, body, sig = token.split('.')
    tampered = head + '.' + jwt.utils.base64url_encode(b'{"user":"root"}').decode() + '.' + sig
    none_alg = jwt.encode(payload, None, algorithm='none')
    expired = jwt.encode(dict(payload, exp=int(time.time()) - 5), SECRET, algorithm='HS256')
    for bad in (tampered, none_alg, expired):
        assert run_mp('decode', SECRET, bad) == 'null'
    assert run_mp('decode', 'wrong-key-0123456789abcdef0123456', token) == 'null'
