"""HTTP Basic and token (Bearer) authentication for routes."""
from microdot.base import invoke_handler
from microdot.helpers import wraps
from microdot.microdot import abort


class BaseAuth:
    """Shared logic: a verification callback, an error callback and the decorators.

    Subclasses provide ``_get_auth(request)``: the credentials as a tuple, or None.
    """
    def __init__(self):
        self.auth_callback = None
        self.error_callback = None

    def authenticate(self, f):
        """Register the function that verifies credentials and returns the user (or None)."""
        self.auth_callback = f
        return f

    def errorhandler(self, f):
        """Register ``f(request)`` to build the response when authentication fails."""
        self.error_callback = f
        return f

    async def _load_user(self, request, creds):
        g = request.g
        g.current_user = await invoke_handler(self.auth_callback, request, *creds)
        return g.current_user

    def __call__(self, f):
        """Decorator: the route runs only for requests with valid credentials."""
        @wraps(f)
        async def wrapper(request, *args, **kwargs):
            creds = self._get_auth(request)
            if not creds or not await self._load_user(request, creds):
                return await invoke_handler(self.error_callback, request)
            return await invoke_handler(f, request, *args, **kwargs)
        return wrapper

    def optional(self, f):
        """Decorator: the route runs with or without credentials.

        ``request.g.current_user`` is the user, or None.
        """
        @wraps(f)
        async def wrapper(request, *args, **kwargs):
            creds = self._get_auth(request)
            if creds:
                await self._load_user(request, creds)
            else:
                request.g.current_user = None
            return await invoke_handler(f, request, *args, **kwargs)
        return wrapper


class BasicAuth(BaseAuth):
    """HTTP Basic authentication; the callback is ``f(request, username, password)``.

    A failed request gets an empty ``error_status`` response with a
    ``WWW-Authenticate`` challenge naming ``scheme``, ``realm`` and ``charset``.
    """
    def __init__(self, realm='Please login', charset='UTF-8', scheme='Basic', error_status=401):
        if not isinstance(realm, str):  # BasicAuth(app), as some examples write it
            realm = 'Please login'
        super().__init__()
        self.realm, self.charset, self.scheme = realm, charset, scheme
        self.error_status = error_status
        self.error_callback = self.authentication_error

    def _get_auth(self, request):
        value = request.headers.get('Authorization')
        if not value or not value.startswith('Basic '):
            return None
        import binascii
        try:
            username, password = binascii.a2b_base64(value[6:]).decode().split(':', 1)
        except Exception:
            return None
        return username, password

    async def authentication_error(self, request):
        challenge = '%s realm="%s", charset="%s"' % (self.scheme, self.realm, self.charset)
        return '', self.error_status, {'WWW-Authenticate': challenge}


class TokenAuth(BaseAuth):
    """Token authentication; the callback is ``f(request, token)``.

    With ``header='Authorization'`` the token follows ``scheme`` (``Bearer <token>``);
    with another header (e.g. ``X-API-Key``) its whole value is the token. A failed
    request is aborted with ``error_status`` unless :meth:`errorhandler` says otherwise.
    """
    def __init__(self, header='Authorization', scheme='Bearer', error_status=401):
        super().__init__()
        self.header = header
        self.scheme = scheme.lower() if scheme else scheme
        self.error_status = error_status
        self.error_callback = self.authentication_error

    def _get_auth(self, request):
        value = request.headers.get(self.header)
        if not value:
            return None
        if self.header != 'Authorization':
            return (value,)
        scheme, sep, token = value.partition(' ')
        if sep and scheme.lower() == self.scheme:
            return (token.strip(),)
        return None

    async def authentication_error(self, request):
        abort(self.error_status)
