"""Cross-Origin Resource Sharing (CORS) headers and preflight answers."""


def _join(value):
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return ', '.join(value)


# the options, in the order of the constructor's and initialize()'s arguments
_OPTIONS = ('allowed_origins', 'allow_credentials', 'allowed_methods', 'expose_headers',
            'allowed_headers', 'max_age', 'handle_cors')


class CORS:
    """Add CORS headers to an application's responses.

    ``allowed_origins`` is a list of origins (``https://example.com``) or ``'*'``;
    ``allowed_methods`` / ``allowed_headers`` default to what the preflight asks for.
    """
    def __init__(self, app=None, allowed_origins=None, allow_credentials=False,
                 allowed_methods=None, expose_headers=None, allowed_headers=None,
                 max_age=None, handle_cors=True):
        options = (allowed_origins, allow_credentials, allowed_methods, expose_headers,
                   allowed_headers, max_age, handle_cors)
        if app is None:
            self._configure(options)
        else:
            self.initialize(app, *options)

    def _configure(self, values):
        for name, value in zip(_OPTIONS, values):
            setattr(self, name, value)

    def initialize(self, app, allowed_origins=None, allow_credentials=False,
                   allowed_methods=None, expose_headers=None, allowed_headers=None,
                   max_age=None, handle_cors=True):
        """Attach to ``app`` with these options (they replace the constructor's)."""
        self._configure((allowed_origins, allow_credentials, allowed_methods, expose_headers,
                         allowed_headers, max_age, handle_cors))
        app._cors = self
        if handle_cors:
            app.options_handler = self.options_handler
            app.after_request(self.after_request)
            app.after_error_request(self.after_request)

    def origin_allowed(self, origin):
        """True if ``origin`` is on the allow-list (or the list is ``'*'``)."""
        if not origin:
            return False
        allowed = self.allowed_origins
        if allowed == '*':
            return True
        if not allowed:
            return False
        if isinstance(allowed, str):
            allowed = [allowed]
        origin = origin.rstrip('/').lower()
        for item in allowed:
            if item.rstrip('/').lower() == origin:
                return True
        return False

    def trusted_origin(self, origin):
        """True if ``origin`` is explicitly listed (``'*'`` does not count): used by CSRF."""
        return self.allowed_origins != '*' and self.origin_allowed(origin)

    def get_cors_headers(self, request):
        """The CORS headers for ``request`` (empty when its origin is not allowed)."""
        headers = {}
        origin = request.headers.get('Origin')
        if not origin or not self.origin_allowed(origin):
            return headers
        if self.allowed_origins == '*' and not self.allow_credentials:
            headers['Access-Control-Allow-Origin'] = '*'
        else:
            headers['Access-Control-Allow-Origin'] = origin
            headers['Vary'] = 'Origin'
        if self.allow_credentials:
            headers['Access-Control-Allow-Credentials'] = 'true'
        method = request.headers.get('Access-Control-Request-Method')
        if request.method == 'OPTIONS' and method:
            # a preflight request
            method = method.strip().upper()
            if self.allowed_methods is not None:
                allowed = [m.upper() for m in self.allowed_methods]
                if method not in allowed:
                    return {}
                headers['Access-Control-Allow-Methods'] = ', '.join(allowed)
            else:
                headers['Access-Control-Allow-Methods'] = method
            asked = request.headers.get('Access-Control-Request-Headers')
            if self.allowed_headers is not None:
                allowed = [h.lower() for h in self.allowed_headers]
                if asked:
                    for h in asked.split(','):
                        h = h.strip().lower()
                        if h and h not in allowed:
                            return {}
                value = _join(self.allowed_headers)
                if value:
                    headers['Access-Control-Allow-Headers'] = value
            elif asked:
                headers['Access-Control-Allow-Headers'] = asked
            if self.max_age is not None:
                headers['Access-Control-Max-Age'] = str(int(self.max_age))
        elif self.expose_headers:
            headers['Access-Control-Expose-Headers'] = _join(self.expose_headers)
        return headers

    def options_handler(self, request):
        """Answer automatic OPTIONS requests, including CORS preflights."""
        try:
            headers = request.app.default_options_handler(request)
        except Exception:
            headers = {}
        try:
            headers.update(self.get_cors_headers(request))
        except Exception:
            pass  # a malformed preflight gets a plain OPTIONS answer
        return headers

    def after_request(self, request, response):
        try:
            cors = self.get_cors_headers(request)
        except Exception:
            return response
        vary = cors.pop('Vary', None)
        for name, value in cors.items():
            response.headers[name] = value
        if vary:
            current = response.headers.get('Vary')
            if not current:
                response.headers['Vary'] = vary
            elif current.strip() != '*' and \
                    vary.lower() not in [v.strip().lower() for v in current.split(',')]:
                response.headers['Vary'] = current + ', ' + vary
        return response
