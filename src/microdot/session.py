"""Signed user sessions stored in a cookie, as standard HS256 JSON Web Tokens.

The HS256 code below needs only ``hashlib.sha256`` and ``binascii``, so it runs on
MicroPython without extra packages, and its tokens interoperate with PyJWT.
"""
import binascii
import hashlib
import json
import time

from microdot.base import invoke_handler
from microdot.cors import vary_on
from microdot.helpers import ct_equal, wraps

_HEADER = b'{"alg":"HS256","typ":"JWT"}'
_BLOCK = 64


def _b64encode(data):
    """base64url without padding, as ``str``."""
    out = binascii.b2a_base64(data).rstrip(b'\n=').decode()
    return out.replace('+', '-').replace('/', '_')


def _b64decode(text):
    """Decode base64url (no padding); ValueError on bad input."""
    if isinstance(text, bytes):
        text = text.decode()
    if '+' in text or '/' in text or '=' in text or len(text) % 4 == 1:
        raise ValueError('bad base64')
    text = text.replace('-', '+').replace('_', '/')
    return binascii.a2b_base64(text + '=' * (-len(text) % 4))


def hmac_sha256(key, msg):
    """HMAC-SHA256 (RFC 2104) built on ``hashlib.sha256``."""
    if isinstance(key, str):
        key = key.encode()
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key + b'\x00' * (_BLOCK - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(msg)
    outer = hashlib.sha256(bytes(b ^ 0x5c for b in key))
    outer.update(inner.digest())
    return outer.digest()


def _epoch_offset():
    # ports whose epoch is 2000-01-01 need this added to time.time()
    return 946684800 if time.gmtime(0)[0] == 2000 else 0


def jwt_encode(payload, secret_key):
    """Return ``payload`` (a dict) as an HS256-signed JWT string."""
    if not secret_key:
        raise ValueError('no secret key')
    try:
        body = json.dumps(payload, separators=(',', ':')).encode()
    except TypeError:  # an old MicroPython json without separators
        body = json.dumps(payload).encode()
    signing_input = _b64encode(_HEADER) + '.' + _b64encode(body)
    sig = hmac_sha256(secret_key, signing_input.encode())
    return signing_input + '.' + _b64encode(sig)


def _as_int(value):
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):
        return None


def jwt_decode(token, secret_key):
    """Return the payload of a valid HS256 JWT, or None.

    Accepted as PyJWT's ``jwt.decode(token, key, algorithms=['HS256'])`` accepts it:
    the header names ``alg`` HS256, the signature matches (compared in constant
    time), the payload is an object, ``exp`` is in the future, ``nbf``/``iat`` not,
    there is no ``aud``, and ``sub``/``jti`` are strings when present.
    """
    if not secret_key or not token or not isinstance(token, str):
        return None
    parts = token.split('.')
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64decode(parts[0]))
        payload = json.loads(_b64decode(parts[1]))
    except (ValueError, TypeError):
        return None
    if not isinstance(header, dict) or header.get('alg') != 'HS256':
        return None
    expected = _b64encode(hmac_sha256(secret_key, (parts[0] + '.' + parts[1]).encode()))
    if not ct_equal(expected, parts[2]) or not isinstance(payload, dict):
        return None
    now = time.time() + _epoch_offset()
    for claim in ('iat', 'nbf', 'exp'):
        if claim in payload:
            when = _as_int(payload[claim])
            if when is None or (when <= now if claim == 'exp' else when > now):
                return None
    if payload.get('aud'):
        return None
    for claim in ('sub', 'jti'):
        if claim in payload and not isinstance(payload[claim], str):
            return None
    return payload


class SessionDict(dict):
    """The session of one request: a dict with :meth:`save` and :meth:`delete`."""
    def __init__(self, request, session_dict):
        super().__init__(session_dict)
        self.request = request

    def _owner(self):
        return self.request.app._session

    def save(self):
        """Send the updated session to the client with the response."""
        self._owner().update(self.request, self)

    def delete(self):
        """Remove the session from the client with the response."""
        self._owner().delete(self.request)


def _plain(d):
    # dict(subclass) is not reliable on MicroPython
    return {k: d[k] for k in d}


class Session:
    """User sessions for an application, stored in a signed cookie named ``session``.

    ``cookie_options`` are passed to :meth:`Response.set_cookie`; ``path`` (``/``)
    and ``http_only`` (True) are added to them when missing.
    """
    secret_key = None

    def __init__(self, app=None, secret_key=None, cookie_options=None):
        self.secret_key, self.cookie_options = secret_key, cookie_options or {}
        if app is not None:
            self.initialize(app)

    def initialize(self, app, secret_key=None, cookie_options=None):
        """Attach to ``app`` (the arguments replace the constructor's when given)."""
        self.secret_key = self.secret_key if secret_key is None else secret_key
        if cookie_options is None:
            cookie_options = self.cookie_options
        self.cookie_options = options = cookie_options
        options.setdefault('path', '/')
        options.setdefault('http_only', True)
        app._session = self

    def _need_key(self):
        if not self.secret_key:
            raise ValueError('The session secret key is not configured')

    def get(self, request):
        """Return the session of ``request`` (a :class:`SessionDict`, empty if invalid)."""
        self._need_key()
        g = request.g
        try:
            return g._session
        except AttributeError:
            pass
        vary_on(request, 'Cookie')
        token = request.cookies.get('session')
        g._session = SessionDict(request, {} if token is None else self.decode(token))
        return g._session

    def update(self, request, session):
        """Send ``session`` (a dict) to the client, signed, with the response."""
        self._need_key()
        token = self.encode(session)
        options = self.cookie_options

        def set_session_cookie(req, res):
            res.set_cookie('session', token, **options)
            return res
        request.after_request(set_session_cookie)

    def delete(self, request):
        """Tell the client to drop the session cookie."""
        options = self.cookie_options

        def delete_session_cookie(req, res):
            res.delete_cookie('session', **options)
            return res
        request.after_request(delete_session_cookie)

    def encode(self, payload, secret_key=None):
        return jwt_encode(_plain(payload), secret_key or self.secret_key)

    def decode(self, session, secret_key=None):
        payload = jwt_decode(session, secret_key or self.secret_key)
        return {} if payload is None else payload


def with_session(f):
    """Decorator: call the handler as ``f(request, session, *args, **kwargs)``."""
    @wraps(f)
    async def wrapper(request, *args, **kwargs):
        return await invoke_handler(f, request, request.app._session.get(request),
                                    *args, **kwargs)
    return wrapper
