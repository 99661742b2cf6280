"""User logins kept in the user session, with an optional signed remember-me cookie.

Needs the session extension: create ``Session(app, secret_key=...)`` first.
"""
import time

from microdot.helpers import wraps
from microdot.helpers import urlencode
from microdot.microdot import invoke_handler, redirect
from microdot.session import _session_for, _epoch_offset

_DAY = 24 * 3600


def _safe_next(target, default):
    """Only follow local redirect targets (no scheme, no host, no header injection)."""
    if not target or not isinstance(target, str) or target[0] != '/' or \
            target.startswith('//') or target.startswith('/\\'):
        return default
    for c in target:
        if ord(c) < 32 or c == '\\':
            return default
    return target


class Login:
    """User login support; use the instance as a route decorator.

    The application represents users as objects with an ``id`` attribute.
    """
    #: Name of the remember-me cookie.
    remember_cookie = '_remember'

    def __init__(self, login_url='/login'):
        self.login_url = login_url
        self.user_loader_callback = None

    def user_loader(self, f):
        """Register ``f(user_id)`` that returns the user object, or None."""
        self.user_loader_callback = f
        return f

    def _redirect_to_login(self, request):
        sep = '&' if '?' in self.login_url else '?'
        return redirect(self.login_url + sep + 'next=' + urlencode(request.url))

    async def _load(self, user_id):
        if self.user_loader_callback is None:
            raise RuntimeError('no user_loader')
        return await invoke_handler(self.user_loader_callback, user_id)

    async def _get_auth(self, request):
        """Return (user, fresh) for the request, or (None, False)."""
        g = request.g
        cached = getattr(g, '_login', None)
        if cached is not None:
            return cached
        sessions = _session_for(request)
        session = sessions.get(request)
        user = None
        fresh = False
        user_id = session.get('_user_id')
        if user_id is not None:
            fresh = bool(session.get('_fresh'))
        else:
            token = request.cookies.get(self.remember_cookie)
            data = sessions.decode(token) if token else None
            if data is not None and data.get('_user_id') is not None:
                user_id = data['_user_id']
                session['_user_id'] = user_id
                session['_fresh'] = False
                session.save()
        if user_id is not None:
            user = await self._load(user_id)
        if user is None:
            fresh = False
        g._login = (user, fresh)
        if user is not None:
            g.current_user = user
        return user, fresh

    async def get_current_user(self, request):
        """Return the logged in user, or None."""
        return (await self._get_auth(request))[0]

    async def login_user(self, request, user, remember=False, redirect_url='/'):
        """Log ``user`` in and return a redirect to ``?next=`` (local only) or ``redirect_url``.

        ``remember`` adds a remember-me cookie: True for 30 days, or a number of days.
        """
        sessions = _session_for(request)
        session = sessions.get(request)
        session['_user_id'] = user.id
        session['_fresh'] = True
        session.save()
        request.g._login = (user, True)
        request.g.current_user = user
        if remember:
            days = 30 if remember is True else int(remember)
            max_age = days * _DAY
            token = sessions.encode({'_user_id': user.id,
                                     'exp': int(time.time() + _epoch_offset()) + max_age})
            opts = sessions._options()
            name = self.remember_cookie

            def set_remember(req, res):
                res.set_cookie(name, token, max_age=max_age, **opts)
                return res
            request.after_request(set_remember)
        try:
            target = request.args.get('next')
        except Exception:
            target = None
        return redirect(_safe_next(target, redirect_url))

    async def logout_user(self, request):
        """Log the current user out (also forgets the remember-me cookie)."""
        sessions = _session_for(request)
        session = sessions.get(request)
        session.pop('_user_id', None)
        session.pop('_fresh', None)
        session.save()
        request.g._login = (None, False)
        request.g.current_user = None
        opts = sessions._options()
        name = self.remember_cookie

        def forget(req, res):
            res.delete_cookie(name, **opts)
            return res
        request.after_request(forget)

    def _protect(self, f, need_fresh):
        @wraps(f)
        async def wrapper(request, *args, **kwargs):
            user, fresh = await self._get_auth(request)
            if user is None or (need_fresh and not fresh):
                return self._redirect_to_login(request)
            request.g.current_user = user
            return await invoke_handler(f, request, *args, **kwargs)
        return wrapper

    def __call__(self, f):
        """Decorator: the route requires a logged in user (else redirect to the login page)."""
        return self._protect(f, False)

    def fresh(self, f):
        """Decorator: the route requires a login made in this session, not by remember-me."""
        return self._protect(f, True)
