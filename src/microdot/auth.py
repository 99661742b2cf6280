"""HTTP Basic and token (Bearer) authentication for routes."""
from microdot.helpers import wraps
from microdot.microdot import Response, invoke_handler


class BaseAuth:
    """Shared logic: a verification callback, an error callback and the decorators."""
    def __init__(self, error_status=401):
        self.error_status = error_status
        self.auth_callback = None
        self.error_callback = None

    def _credentials(self, request):  # pragma: no cover - subclasses override
        return None

    def _challenge(self):
        return None

    def authenticate(self, f):
        """Register the function that verifies credentials and returns the user (or None)."""
        self.auth_callback = f
        return f

    def errorhandler(self, f):
        """Register ``f(request)`` to build the response when authentication fails."""
        self.error_callback = f
        return f

    async def authentication_error(self, request):
        if self.error_callback is not None:
            return await invoke_handler(self.error_callback, request)
        headers = {}
        if self.error_status == 401:
            challenge = self._challenge()
            if challenge:
                headers['WWW-Authenticate'] = challenge
        return Response(Response.reason_for(self.error_status), self.error_status, headers)

    async def _user(self, request):
        creds = self._credentials(request)
        if creds is None:
            return None
        if self.auth_callback is None:
            raise RuntimeError('no authenticate callback')
        return await invoke_handler(self.auth_callback, request, *creds)

    def __call__(self, f):
        """Decorator: the route requires valid credentials."""
        @wraps(f)
        async def wrapper(request, *args, **kwargs):
            user = await self._user(request)
            if user is None:
                return await self.authentication_error(request)
            request.g.current_user = user
            return await invoke_handler(f, request, *args, **kwargs)
        return wrapper

    def optional(self, f):
        """Decorator: the route runs with or without valid credentials.

        ``request.g.current_user`` is the user, or None.
        """
        @wraps(f)
        async def wrapper(request, *args, **kwargs):
            request.g.current_user = await self._user(request)
            return await invoke_handler(f, request, *args, **kwargs)
        return wrapper


def _quote(value):
    return '"' + str(value).replace('\\', '\\\\').replace('"', '\\"') + '"'


class BasicAuth(BaseAuth):
    """HTTP Basic authentication; the callback is ``f(request, username, password)``."""
    def __init__(self, realm='Please login', charset='UTF-8', scheme='Basic', error_status=401):
        if not isinstance(realm, str):  # BasicAuth(app), as some examples write it
            realm = 'Please login'
        super().__init__(error_status)
        self.realm = realm
        self.charset = charset
        self.scheme = scheme

    def _challenge(self):
        out = self.scheme + ' realm=' + _quote(self.realm)
        if self.charset:
            out += ', charset=' + _quote(self.charset)
        return out

    def _credentials(self, request):
        value = request.headers.get('Authorization')
        if not value:
            return None
        scheme, _, data = value.strip().partition(' ')
        if scheme.lower() != self.scheme.lower():
            return None
        import binascii
        try:
            raw = binascii.a2b_base64(data.strip())
        except ValueError:
            return None
        try:
            text = raw.decode()
        except ValueError:
            try:
                text = raw.decode('latin-1')
            except (ValueError, LookupError):
                return None
        username, sep, password = text.partition(':')
        if not sep:
            return None
        return username, password


class TokenAuth(BaseAuth):
    """Token authentication; the callback is ``f(request, token)``.

    With ``header='Authorization'`` the token follows ``scheme`` (``Bearer <token>``);
    with another header (e.g. ``X-API-Key``) and ``scheme=None`` its whole value is the token.
    """
    def __init__(self, header='Authorization', scheme='Bearer', error_status=401):
        super().__init__(error_status)
        self.header = header
        self.scheme = scheme

    def _challenge(self):
        return (self.scheme or 'Bearer') + ' realm="Authentication Required"'

    def _credentials(self, request):
        value = request.headers.get(self.header)
        if not value:
            return None
        value = value.strip()
        if self.scheme:
            scheme, _, token = value.partition(' ')
            if scheme.lower() != self.scheme.lower():
                if self.header.lower() == 'authorization':
                    return None
                token = value  # a custom header given without the scheme
            value = token.strip()
        if not value:
            return None
        return (value,)
