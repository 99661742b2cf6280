"""Cross-Site Request Forgery protection based on Fetch Metadata (``Sec-Fetch-Site``).

Browsers too old to send ``Sec-Fetch-Site`` are checked through their ``Origin``
header against the origins listed by a :class:`microdot.cors.CORS` object.
"""
from microdot.cors import vary_on
from microdot.microdot import abort


class CSRF:
    """Refuse (403) cross-site requests to state-changing routes.

    ``cors`` is an optional :class:`microdot.cors.CORS` whose listed origins are
    trusted. With ``protect_all=True`` (the default) every route is checked for
    methods other than ``SAFE_METHODS``, except those marked with :meth:`exempt`;
    routes marked with :meth:`protect` are checked for every method.
    ``allow_subdomains`` also trusts same-site (sub-domain) requests.
    """
    SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS']

    def __init__(self, app=None, cors=None, protect_all=True, allow_subdomains=False):
        self.protect_all, self.allow_subdomains = protect_all, allow_subdomains
        self.exempt_routes, self.protected_routes = [], []
        self.cors = None
        if app is not None:
            self.initialize(app, cors)

    def initialize(self, app, cors=None):
        """Check the requests of ``app`` (``cors`` as in the constructor)."""
        self.cors = cors
        app.before_request(self._check)

    def exempt(self, f):
        """Decorator: never check this route (put it right under the route decorator)."""
        self.exempt_routes.append(f)
        return f

    def protect(self, f):
        """Decorator: always check this route, whatever its method or ``protect_all``."""
        self.protected_routes.append(f)
        return f

    def _checked(self, request):
        route = request.route
        if route in self.protected_routes:
            return True
        return self.protect_all and request.method not in self.SAFE_METHODS and \
            route not in self.exempt_routes

    def _listed(self, origin):
        allowed = self.cors.allowed_origins
        if not self.allow_subdomains:
            return origin in allowed
        scheme, host = origin.split('://', 1)
        for item in allowed:
            item_scheme, item_host = item.split('://', 1)
            if item == origin or (item_scheme == scheme and host.endswith('.' + item_host)):
                return True
        return False

    def _check(self, request):
        if not self._checked(request):
            return
        get = request.headers.get
        site = get('Sec-Fetch-Site')
        origin = get('Origin')
        ok = False
        if site:
            ok = site == 'same-origin' or site == 'none' or \
                (site == 'same-site' and self.allow_subdomains)
            if ok:
                vary_on(request, 'Sec-Fetch-Site')
        if not ok and origin and self.cors and self.cors.allowed_origins != '*':
            ok = self._listed(origin)
        if not ok and not site and not origin:
            ok = True  # nothing to go by: not a browser request
        if not ok:
            abort(403, 'Forbidden')
