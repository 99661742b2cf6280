"""Auth extension: BasicAuth and TokenAuth (Authorization and custom headers), optional
authentication, error callbacks and statuses, WWW-Authenticate challenges."""
import binascii

from microdot import Microdot
from microdot.auth import BasicAuth, TokenAuth

app = Microdot()
basic = BasicAuth()
basic_custom = BasicAuth(realm='Device', charset='latin-1', scheme='Digestish', error_status=403)
token = TokenAuth()
apikey = TokenAuth(header='X-API-Key', error_status=403)
token_custom = TokenAuth(scheme='Token')
USERS = {'susan': 'hello', 'david': 'bye'}
TOKENS = {'abc123': 'susan', 'k-1': 'david'}


@basic.authenticate
async def check_basic(request, username, password):
    if USERS.get(username) == password:
        return username


@basic_custom.authenticate
def check_basic_custom(request, username, password):
    return username if password == 'x' else None


@token.authenticate
async def check_token(request, tok):
    return TOKENS.get(tok)


@apikey.authenticate
async def check_key(request, key):
    return TOKENS.get(key)


@token_custom.authenticate
async def check_token_custom(request, tok):
    return TOKENS.get(tok)


@token_custom.errorhandler
async def token_custom_error(request):
    return {'error': 'no entry'}, 418


@app.get('/basic')
@basic
async def basic_route(request):
    return 'basic ' + request.g.current_user


@app.get('/basic-custom')
@basic_custom
async def basic_custom_route(request):
    return 'custom ' + request.g.current_user


@app.get('/optional')
@basic.optional
async def optional_route(request):
    return {'user': request.g.current_user}


@app.get('/token')
@token
async def token_route(request):
    return 'token ' + request.g.current_user


@app.get('/token-optional')
@token.optional
async def token_optional_route(request):
    return {'user': request.g.current_user}


@app.get('/apikey')
@apikey
async def apikey_route(request):
    return 'key ' + request.g.current_user


@app.get('/token-custom')
@token_custom
async def token_custom_route(request):
    return 'custom token ' + request.g.current_user


def _basic(user, password, prefix='Basic '):
    raw = (user + ':' + password).encode()
    return {'Authorization': prefix + binascii.b2a_base64(raw).decode().strip()}


CASES = [
    ('GET', '/basic'),
    ('GET', '/basic', _basic('susan', 'hello')),
    ('GET', '/basic', _basic('susan', 'wrong')),
    ('GET', '/basic', _basic('david', 'bye:with:colons')),
    ('GET', '/basic', _basic('susan', 'hello', 'basic ')),
    ('GET', '/basic', {'Authorization': 'Basic !!!notbase64'}),
    ('GET', '/basic', {'Authorization': 'Basic ' + 'bm9jb2xvbg=='}),  # "nocolon"
    ('GET', '/basic', {'Authorization': 'Bearer abc123'}),
    ('GET', '/basic-custom'),
    ('GET', '/basic-custom', _basic('ann', 'x')),
    ('GET', '/basic-custom', _basic('ann', 'y')),
    ('GET', '/optional'),
    ('GET', '/optional', _basic('susan', 'hello')),
    ('GET', '/optional', _basic('susan', 'nope')),
    ('GET', '/token'),
    ('GET', '/token', {'Authorization': 'Bearer abc123'}),
    ('GET', '/token', {'Authorization': 'bearer   k-1  '}),
    ('GET', '/token', {'Authorization': 'Bearer nope'}),
    ('GET', '/token', {'Authorization': 'Bearer'}),
    ('GET', '/token', {'Authorization': 'Token abc123'}),
    ('GET', '/token-optional'),
    ('GET', '/token-optional', {'Authorization': 'Bearer k-1'}),
    ('GET', '/apikey'),
    ('GET', '/apikey', {'X-API-Key': 'abc123'}),
    ('GET', '/apikey', {'X-API-Key': 'Bearer abc123'}),
    ('GET', '/apikey', {'X-API-Key': 'nope'}),
    ('GET', '/token-custom'),
    ('GET', '/token-custom', {'Authorization': 'Token abc123'}),
    ('GET', '/token-custom', {'Authorization': 'Bearer abc123'}),
]
