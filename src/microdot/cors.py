"""Cross-Origin Resource Sharing (CORS) headers and preflight answers."""


def vary_on(request, name):
    """Note that the response depends on request header ``name`` (the core adds it to
    ``Vary``); CSRF and sessions use it too."""
    g = request._g = request.g  # (the core reads _g: it never makes a g itself)
    if not hasattr(g, '_vary'):
        g._vary = set()
    g._vary.add(name)


class CORS:
    """Add CORS headers to an application's responses.

    ``allowed_origins`` is a list of origins (``https://example.com``) or ``'*'``
    (any origin, echoed back when the request names one). ``allowed_methods`` and
    ``allowed_headers`` default to whatever a preflight asks for. ``max_age`` is sent
    on preflights; ``expose_headers`` on every response. With ``handle_cors=False``
    nothing is attached: call :meth:`get_cors_headers` yourself.
    """
    def __init__(self, app=None, allowed_origins=None, allow_credentials=False,
                 allowed_methods=None, expose_headers=None, allowed_headers=None,
                 max_age=None, handle_cors=True):
        self.allowed_origins = allowed_origins
        self.allow_credentials = allow_credentials
        self.allowed_methods = allowed_methods
        self.expose_headers = expose_headers
        if allowed_headers is not None:
            allowed_headers = [name.lower() for name in allowed_headers]
        self.allowed_headers = allowed_headers
        self.max_age = max_age
        if app is not None:
            self.initialize(app, handle_cors=handle_cors)

    def initialize(self, app, handle_cors=True):
        """Attach to ``app``: its OPTIONS answers and every response get CORS headers."""
        self.default_options_handler = app.options_handler
        if not handle_cors:
            return
        for register in (app.after_request, app.after_error_request):
            register(self.after_request)
        app.options_handler = self.options_handler

    def options_handler(self, request):
        """Answer automatic OPTIONS requests, including CORS preflights."""
        answer = self.default_options_handler(request)
        answer.update(self.get_cors_headers(request))
        return answer

    def get_cors_headers(self, request):
        """The CORS headers to add to the response to ``request``."""
        out = {}
        get = request.headers.get
        origin = get('Origin')
        allowed = self.allowed_origins
        if allowed == '*':
            out['Access-Control-Allow-Origin'] = origin or '*'
            echoed = bool(origin)
        else:
            echoed = origin in (allowed or ())
            if echoed:
                out['Access-Control-Allow-Origin'] = origin
        if echoed:
            vary_on(request, 'Origin')
        if self.allow_credentials and 'Access-Control-Allow-Origin' in out:
            out['Access-Control-Allow-Credentials'] = 'true'
        if self.expose_headers:
            out['Access-Control-Expose-Headers'] = ', '.join(self.expose_headers)
        if request.method == 'OPTIONS':
            if self.max_age:
                out['Access-Control-Max-Age'] = str(self.max_age)
            method = get('Access-Control-Request-Method')
            if method:
                method = method.upper()
                if self.allowed_methods is None or method in self.allowed_methods:
                    out['Access-Control-Allow-Methods'] = method
            asked = get('Access-Control-Request-Headers')
            if asked:
                if self.allowed_headers is not None:
                    keep = []
                    for name in asked.split(','):
                        name = name.strip()
                        if name.lower() in self.allowed_headers:
                            keep.append(name)
                    asked = ', '.join(keep)
                out['Access-Control-Allow-Headers'] = asked
        return out

    def after_request(self, request, response):
        if request:
            response.headers.update(self.get_cors_headers(request))
