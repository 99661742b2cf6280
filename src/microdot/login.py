"""User logins kept in the user session, with an optional remember-me cookie.

Needs the session extension: create ``Session(app, secret_key=...)`` first.
"""
import time

from microdot.base import invoke_handler
from microdot.helpers import wraps
from microdot.microdot import redirect

_DAY = 24 * 60 * 60
# how upstream escapes the ``next`` URL (only these, in this order: '+' ends up as '%252B')
_ESCAPES = (('+', '%2B'), (' ', '+'), ('%', '%25'), ('?', '%3F'), ('#', '%23'), ('&', '%26'),
            ('=', '%3D'))


def _quote_next(url):
    for c, esc in _ESCAPES:
        url = url.replace(c, esc)
    return url


class Login:
    """User login support; use the instance as a route decorator.

    The application represents users as objects with an ``id`` attribute and
    registers a :meth:`user_loader` that turns an id back into a user.
    """
    def __init__(self, login_url='/login'):
        self.login_url = login_url
        self.user_loader_callback = None

    def user_loader(self, f):
        """Register ``f(user_id)`` that returns the user object, or None."""
        self.user_loader_callback = f
        return f

    def _get_session(self, request):
        return request.app._session.get(request)

    def _update_remember_cookie(self, request, days, user_id=None):
        token = request.app._session.encode({'user_id': user_id, 'days': days,
                                             'exp': time.time() + days * _DAY})
        max_age = days * _DAY

        def set_remember_cookie(req, res):
            res.set_cookie('_remember', token, max_age=max_age)
            return res
        request.after_request(set_remember_cookie)

    def _get_user_id_from_session(self, request):
        session = self._get_session(request)
        if session and '_user_id' in session:
            return session['_user_id']
        cookies = request.cookies
        if '_remember' not in cookies:
            return None
        user_id = request.app._session.decode(cookies['_remember']).get('user_id')
        if not user_id:
            return None
        # (a restored login lasts 30 days again, as upstream's does)
        self._update_remember_cookie(request, 30, user_id)
        session['_user_id'] = user_id
        session['_fresh'] = False
        session.save()
        return user_id

    async def _redirect_to_login(self, request):
        return '', 302, {'Location': self.login_url + '?next=' + _quote_next(request.url)}

    async def login_user(self, request, user, remember=False, redirect_url='/'):
        """Log ``user`` in; return a redirect to ``?next=`` (a path) or ``redirect_url``.

        ``remember`` adds a remember-me cookie: True for 30 days, or a number of days.
        """
        session = self._get_session(request)
        session.update({'_user_id': user.id, '_fresh': True})
        session.save()
        request.g.current_user = user
        if remember:
            self._update_remember_cookie(request, 30 if remember is True else int(remember),
                                         user.id)
        target = request.args.get('next', redirect_url)
        # a local path only: '//host' and '/\host' lead a browser to another site (docs/compat.md D106)
        if target[:1] != '/' or target[1:2] in ('/', '\\'):
            target = redirect_url
        return redirect(target)

    async def logout_user(self, request):
        """Log the current user out (and expire a remember-me cookie the client sent)."""
        session = self._get_session(request)
        for key in ('_user_id', '_fresh'):
            session.pop(key, None)
        session.save()
        request.g.current_user = None
        if '_remember' in request.cookies:
            self._update_remember_cookie(request, 0)

    async def get_current_user(self, request):
        """Return the logged in user (cached for the request), or None."""
        g = request.g
        try:
            return g.current_user
        except AttributeError:
            pass
        user_id = self._get_user_id_from_session(request)
        g.current_user = await invoke_handler(self.user_loader_callback, user_id) \
            if user_id else None
        return g.current_user

    def __call__(self, f):
        """Decorator: the route requires a logged in user (else redirect to the login page)."""
        @wraps(f)
        async def wrapper(request, *args, **kwargs):
            if not await self.get_current_user(request):
                return await self._redirect_to_login(request)
            return await invoke_handler(f, request, *args, **kwargs)
        return wrapper

    def fresh(self, f):
        """Decorator: the route requires a login made in this session, not by remember-me."""
        logged_in = self.__call__(f)

        @wraps(f)
        async def wrapper(request, *args, **kwargs):
            if not self._get_session(request).get('_fresh'):
                return await self._redirect_to_login(request)
            return await logged_in(request, *args, **kwargs)
        return wrapper


def __getattr__(name):
    """Upstream's re-exported ``urlencode``, resolved on first use (PEP 562)."""
    if name == 'urlencode':
        from microdot.microdot import urlencode
        return urlencode
    raise AttributeError(name)
