"""Signed user sessions stored in a cookie, as standard HS256 JSON Web Tokens.

The HS256 code below needs only ``hashlib.sha256`` and ``binascii``, so it runs on
MicroPython without extra packages, and its tokens interoperate with PyJWT.
"""
import binascii
import hashlib
import json
import time

from microdot.helpers import ct_equal, wraps
from microdot.microdot import invoke_handler

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


def jwt_decode(token, secret_key):
    """Return the payload of a valid HS256 JWT, or None.

    Only the header ``{"alg":"HS256","typ":"JWT"}`` is accepted; the signature is
    compared in constant time, and ``exp``/``nbf`` claims are enforced when present.
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
    if not isinstance(header, dict) or len(header) != 2 or header.get('alg') != 'HS256' \
            or header.get('typ') != 'JWT':
        return None
    expected = _b64encode(hmac_sha256(secret_key, (parts[0] + '.' + parts[1]).encode()))
    if not ct_equal(expected, parts[2]):
        return None
    if not isinstance(payload, dict):
        return None
    now = time.time() + _epoch_offset()
    exp = payload.get('exp')
    if exp is not None:
        if not isinstance(exp, (int, float)) or isinstance(exp, bool) or now >= exp:
            return None
    nbf = payload.get('nbf')
    if nbf is not None:
        if not isinstance(nbf, (int, float)) or isinstance(nbf, bool) or now < nbf:
            return None
    return payload


class SessionDict(dict):
    """The session of one request: a dict with :meth:`save` and :meth:`delete`."""
    def __init__(self, request, session_dict=None):
        super().__init__(session_dict or {})
        self.request = request

    def save(self):
        """Send the updated session to the client with the response."""
        _session_for(self.request).update(self.request, self)

    def delete(self):
        """Remove the session from the client with the response."""
        _session_for(self.request).delete(self.request)


def _plain(d):
    # dict(subclass) is not reliable on MicroPython
    return {k: d[k] for k in d}


def _session_for(request):
    for app in (request.app, request.subapp):
        s = getattr(app, '_session', None)
        if s is not None:
            return s
    raise RuntimeError('Session not initialized')


class Session:
    """User sessions for an application, stored in a signed cookie.

    ``cookie_options`` are passed to :meth:`Response.set_cookie` (default: path ``/``,
    ``http_only``, ``same_site='Lax'``).
    """
    #: Name of the session cookie.
    cookie_name = 'session'
    secret_key = None

    def __init__(self, app=None, secret_key=None, cookie_options=None):
        self.cookie_options = None
        if app is not None or secret_key is not None or cookie_options is not None:
            self.initialize(app, secret_key=secret_key, cookie_options=cookie_options)

    def initialize(self, app=None, secret_key=None, cookie_options=None):
        if secret_key is not None:
            self.secret_key = secret_key
        if cookie_options is not None:
            self.cookie_options = dict(cookie_options)
        elif self.cookie_options is None:
            self.cookie_options = {'path': '/', 'http_only': True, 'same_site': 'Lax'}
        if app is not None:
            app._session = self

    def _options(self):
        opts = dict(self.cookie_options or {})
        opts.setdefault('path', '/')
        return opts

    def encode(self, payload, secret_key=None):
        return jwt_encode(payload, secret_key or self.secret_key)

    def decode(self, token, secret_key=None):
        return jwt_decode(token, secret_key or self.secret_key)

    def get(self, request):
        """Return the session of ``request`` (a :class:`SessionDict`, empty if invalid)."""
        g = request.g
        s = getattr(g, '_session', None)
        if s is None:
            if not self.secret_key:
                raise ValueError('no secret key')
            data = self.decode(request.cookies.get(self.cookie_name))
            s = SessionDict(request, data)
            g._session = s
        return s

    def _hook(self, request):
        g = request.g
        if not getattr(g, '_session_hook', False):
            g._session_hook = True

            def write_cookie(req, res):
                s = getattr(req.g, '_session', None)
                if getattr(req.g, '_session_deleted', False):
                    res.delete_cookie(self.cookie_name, **self._options())
                elif s is not None:
                    res.set_cookie(self.cookie_name, self.encode(_plain(s)), **self._options())
                return res
            request.after_request(write_cookie)

    def update(self, request, session):
        """Store ``session`` (a dict) as the request's session and send it with the response."""
        if not self.secret_key:
            raise ValueError('no secret key')
        s = getattr(request.g, '_session', None)
        if s is not session:
            if s is None:
                s = SessionDict(request)
                request.g._session = s
            s.clear()
            s.update(session)
        request.g._session_deleted = False
        self._hook(request)
        return s

    def delete(self, request):
        """Empty the session and tell the client to drop the cookie."""
        s = getattr(request.g, '_session', None)
        if s is not None:
            s.clear()
        request.g._session_deleted = True
        self._hook(request)


def with_session(f):
    """Decorator: call the handler as ``f(request, session, **url_args)``."""
    @wraps(f)
    async def wrapper(request, *args, **kwargs):
        return await invoke_handler(f, request, _session_for(request).get(request),
                                    *args, **kwargs)
    return wrapper
