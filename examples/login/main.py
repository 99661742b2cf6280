"""login: user sessions, a login form and CSRF-protected forms.

- ``/``        public page; shows who is logged in
- ``/login``   the login form (demo user ``maker``, password ``blinky``)
- ``/notes``   only for logged-in users: a list of notes kept in the signed session
  cookie, with a form to add one
- ``/logout``  (POST) ends the session

Every POST is checked by the CSRF extension: a browser on another site cannot submit
these forms, because it sends ``Sec-Fetch-Site: cross-site`` (or a foreign ``Origin``).
The session cookie is signed with a key made on the first start and kept in
``session.key`` on the board's filesystem.
"""
import binascii
import hashlib
import os

from microdot import Microdot, redirect, urlencode
from microdot.csrf import CSRF
from microdot.helpers import ct_equal
from microdot.login import Login
from microdot.session import Session, with_session

KEY_FILE = 'session.key'
MAX_NOTES = 5
MAX_NOTE = 100


def hash_password(password, salt):
    return binascii.hexlify(hashlib.sha256((salt + ':' + password).encode()).digest()).decode()


class User:
    def __init__(self, id, name, salt, password_hash):
        self.id = id
        self.name = name
        self.salt = salt
        self.password_hash = password_hash

    def check_password(self, password):
        return ct_equal(hash_password(password, self.salt), self.password_hash)


# Make your own entry with: hash_password('your password', 'some salt')
USERS = {
    'maker': User(1, 'maker', 'k7Qp2x',
                  '3188e3db81baaf413fd20dca7c24ba82228a844686d60d4bcff7bb87e4749cae'),
}


def secret_key():
    """The signing key: read from KEY_FILE, or made and stored there on the first start."""
    try:
        with open(KEY_FILE) as f:
            key = f.read().strip()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    key = binascii.hexlify(os.urandom(32)).decode()
    with open(KEY_FILE, 'w') as f:
        f.write(key)
    return key


app = Microdot()
Session(app, secret_key=secret_key())
CSRF(app)
login = Login(login_url='/login')


@login.user_loader
async def load_user(user_id):
    for user in USERS.values():
        if user.id == user_id:
            return user
    return None


def escape(text):
    return (str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            .replace('"', '&quot;').replace("'", '&#39;'))


def page(title, body, status=200):
    html = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="data:,"><title>' + escape(title) + '</title><style>'
            'body{font-family:system-ui,sans-serif;margin:0;background:#f6f6f2;color:#222}'
            'header{background:#6b4e16;color:#fff;padding:12px 20px}h1{margin:0;font-size:1.3em}'
            'main{padding:16px 20px;max-width:520px}label{display:block;margin:10px 0 4px}'
            'input[type=text],input[type=password]{width:100%;padding:6px;box-sizing:border-box}'
            'button{margin-top:12px;padding:6px 16px}.error{color:#b00}li{margin:4px 0}'
            '</style></head><body><header><h1>' + escape(title) + '</h1></header><main>' +
            body + '</main></body></html>')
    return html, status, {'Content-Type': 'text/html; charset=utf-8'}


LOGOUT_FORM = '<form method="post" action="/logout"><button>Log out</button></form>'


@app.get('/')
async def index(request):
    user = await login.get_current_user(request)
    if user is None:
        return page('Welcome', '<p>You are not logged in.</p><p><a href="/login">Log in</a> '
                    'to see your notes.</p>')
    return page('Welcome', '<p>Logged in as <b>' + escape(user.name) + '</b>.</p>'
                '<p><a href="/notes">Your notes</a></p>' + LOGOUT_FORM)


def login_form(request, error=''):
    nxt = request.args.get('next', '')
    action = '/login' + ('?next=' + escape(urlencode(nxt)) if nxt else '')
    return page('Log in', (('<p class="error">' + error + '</p>') if error else '') +
                '<form method="post" action="' + action + '">'
                '<label for="username">User</label><input type="text" id="username" name="username">'
                '<label for="password">Password</label>'
                '<input type="password" id="password" name="password">'
                '<label><input type="checkbox" name="remember" value="1"> Remember me</label>'
                '<button>Log in</button></form>', 401 if error else 200)


@app.get('/login')
async def login_page(request):
    return login_form(request)


@app.post('/login')
async def do_login(request):
    form = request.form or {}
    user = USERS.get(form.get('username', ''))
    if user is None or not user.check_password(form.get('password', '')):
        return login_form(request, 'Wrong user name or password.')
    return await login.login_user(request, user, remember=bool(form.get('remember')),
                                  redirect_url='/notes')


@app.route('/notes', methods=['GET', 'POST'])
@login
@with_session
async def notes(request, session):
    notes = session.get('notes', [])
    if request.method == 'POST':
        text = ((request.form or {}).get('note') or '').strip()[:MAX_NOTE]
        if text:
            notes = (notes + [text])[-MAX_NOTES:]
            session['notes'] = notes
            session.save()
        return redirect('/notes')
    items = ''.join('<li>' + escape(n) + '</li>' for n in notes) or '<li><i>no notes yet</i></li>'
    user = request.g.current_user
    return page('Notes of ' + user.name, '<ul id="notes">' + items + '</ul>'
                '<form method="post" action="/notes"><label for="note">New note</label>'
                '<input type="text" id="note" name="note" maxlength="%d">'
                '<button>Add</button></form><hr>' % MAX_NOTE + LOGOUT_FORM)


@app.post('/logout')
async def logout(request):
    await login.logout_user(request)
    return redirect('/')


app.run(port=int(os.getenv('PORT') or 5000) if hasattr(os, 'getenv') else 5000, debug=True)
