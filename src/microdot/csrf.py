"""Cross-Site Request Forgery protection based on Fetch Metadata (``Sec-Fetch-Site``).

Browsers without ``Sec-Fetch-Site`` are checked through their ``Origin`` header, which
must match the request's ``Host`` or be on the CORS allow-list.
"""
from microdot.helpers import wraps
from microdot.microdot import abort, invoke_handler

_SAFE_METHODS = ('GET', 'HEAD', 'OPTIONS', 'TRACE')


def _origin_host(origin):
    """``https://a.example:8000`` -> ``a.example:8000`` (lower case), or None."""
    scheme, sep, rest = origin.partition('://')
    if not sep or not scheme or not rest:
        return None
    host = rest.split('/', 1)[0]
    if '@' in host or not host:
        return None
    return host.lower()


def _strip_port(host):
    if host.startswith('['):
        return host.split(']', 1)[0] + ']'
    return host.rsplit(':', 1)[0] if host.count(':') == 1 else host


class CSRF:
    """Reject cross-site requests with unsafe methods (403).

    ``cors`` is an optional :class:`microdot.cors.CORS` whose explicitly listed origins
    are trusted. With ``protect_all=False`` only routes decorated with :meth:`protect`
    are checked; ``allow_subdomains`` also trusts same-site (sub-domain) requests.
    """
    def __init__(self, app=None, cors=None, protect_all=True, allow_subdomains=False):
        self.cors = cors
        self.protect_all = protect_all
        self.allow_subdomains = allow_subdomains
        self.exempt_routes = []
        if app is not None:
            self.initialize(app, cors=cors, protect_all=protect_all,
                            allow_subdomains=allow_subdomains)

    def initialize(self, app, cors=None, protect_all=True, allow_subdomains=False):
        self.cors = cors
        self.protect_all = protect_all
        self.allow_subdomains = allow_subdomains
        app.before_request(self._before_request)

    def exempt(self, f):
        """Decorator: never check this route (put it right under the route decorator)."""
        self.exempt_routes.append(f)
        return f

    def protect(self, f):
        """Decorator: check this route even when ``protect_all`` is False."""
        @wraps(f)
        async def wrapper(request, *args, **kwargs):
            if not self.is_allowed(request):
                abort(403)
            return await invoke_handler(f, request, *args, **kwargs)
        return wrapper

    def _before_request(self, request):
        if not self.protect_all:
            return None
        route = request.route
        for f in self.exempt_routes:
            if f is route:
                return None
        if not self.is_allowed(request):
            abort(403)
        return None

    def _trusted(self, origin):
        cors = self.cors
        if cors is None:
            return False
        check = getattr(cors, 'trusted_origin', None)
        if check is not None:
            return check(origin)
        allowed = getattr(cors, 'allowed_origins', None)  # any object with an allow-list
        return isinstance(allowed, (list, tuple)) and origin in allowed

    def is_allowed(self, request):
        """True if the request may go ahead."""
        if request.method in _SAFE_METHODS:
            return True
        headers = request.headers
        origin = headers.get('Origin')
        site = headers.get('Sec-Fetch-Site')
        if site is not None:
            site = site.strip().lower()
            if site in ('same-origin', 'none'):
                return True
            if site == 'same-site' and self.allow_subdomains:
                return True
            return bool(origin) and self._trusted(origin)
        if not origin:
            return True  # not sent by a browser that would attach cookies cross-site
        if origin == 'null':
            return False
        if self._trusted(origin):
            return True
        host = (headers.get('Host') or '').strip().lower()
        ohost = _origin_host(origin)
        if not host or ohost is None:
            return False
        if ohost == host:
            return True
        if self.allow_subdomains:
            bare = _strip_port(host)
            obare = _strip_port(ohost)
            if obare.endswith('.' + bare) or bare.endswith('.' + obare):
                return True
        return False
