"""Session extension: Session, with_session, SessionDict.save/delete, cookie options,
Vary: Cookie, tokens interchangeable with PyJWT's (fixed HS256 tokens below)."""
from microdot import Microdot
from microdot.session import Session, with_session

# upstream needs a jwt module: PyJWT on CPython; micropython-lib's jwt is not installed
# here (and writes tokens with other JSON spacing), so MicroPython is covered by
# tests/framework/test_session.py and test_login.py on our side only
RUNTIMES = ('cpython',)
SECRET = 'parity-secret-key-0123456789abcdef'
app = Microdot()
sessions = Session(app, secret_key=SECRET, cookie_options={'secure': True})

# HS256 tokens made with PyJWT for SECRET (unless said otherwise)
ANN = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiYW5uIiwibiI6MX0.' \
    'yjP2RgKr-42MTPckC6bAvoORQt5BSDal5ioasSObkfQ'
EXPIRED = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiYm9iIiwiZXhwIjoxfQ.' \
    'rqIJiQy9vKhNjJZFMj35uK8n_drcreKdl4B_H5_wBqE'
LATER = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiY2lkIiwiZXhwIjo0MTAyNDQ0ODAwfQ.' \
    'kMI0rHXSuLBKnW7zCOJUxKoPQbssUH93dmh0j1itvKE'
OTHER_KEY = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiZGFuIn0.' \
    'DRnSJc3_WhrBrcdjmHIiqd9SXzUyxmgCqhswQ1x14AI'
WITH_AUD = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiZXZlIiwiYXVkIjoieCJ9.' \
    'bNpYNdF-vnG6oVkhY8KmnT-q4JS4dGRooQZ2I2Op0-4'
INT_SUB = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiZmF5Iiwic3ViIjo1fQ.' \
    'yQU-cMANlE7DML5q0DcBu9CjdfMtUxSzax_MepSjiDI'
BAD_IAT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiZ3VzIiwiaWF0Ijoic29vbiJ9.' \
    'XtUZ8GC5PPrm1w89TmEYVsYH-qipgWKYRgdbqRr31Ig'


@app.get('/show')
@with_session
async def show(request, session):
    return {'session': session}


@app.get('/set/<key>/<value>')
@with_session
async def set_value(request, session, key, value):
    session[key] = value
    session.save()
    return 'saved'


@app.get('/twice')
@with_session
async def twice(request, session):
    session['a'] = 1
    session.save()
    session['b'] = 2
    session.save()
    return 'twice'


@app.get('/delete')
@with_session
async def delete(request, session):
    session.delete()
    return 'deleted'


@app.get('/plain')
async def plain(request):
    return 'no session here'


@app.get('/lowlevel')
async def lowlevel(request):
    s = sessions.get(request)
    s['low'] = True
    sessions.update(request, s)
    return {'token': sessions.encode({'x': 1}), 'decoded': sessions.decode(ANN),
            'bad': sessions.decode('garbage')}


@app.get('/vary')
@with_session
async def vary(request, session):
    return 'v', {'Vary': 'Accept-Language'}


def _cookie(token):
    return {'Cookie': 'session=' + token}


CASES = [('GET', '/plain'), ('GET', '/show'), ('GET', '/set/user/zoe'), ('GET', '/twice'),
         ('GET', '/delete'), ('GET', '/lowlevel'), ('GET', '/vary'),
         ('GET', '/show', {'Cookie': 'session=garbage'}),
         ('GET', '/show', {'Cookie': 'session='})]
for _t in (ANN, EXPIRED, LATER, OTHER_KEY, WITH_AUD, INT_SUB, BAD_IAT):
    CASES.append(('GET', '/show', _cookie(_t)))
CASES += [('GET', '/set/n/2', _cookie(ANN)), ('GET', '/delete', _cookie(ANN)),
          ('GET', '/vary', _cookie(ANN))]


async def script(client, log):
    res = await client.get('/set/user/zoe')
    log('set', res.status_code, res.headers.get('Set-Cookie'), sorted(client.cookies.items()))
    res = await client.get('/show')
    log('show', res)
    res = await client.get('/set/color/red')
    res = await client.get('/show')
    log('show2', res.json)
    res = await client.get('/delete')
    log('deleted', res.headers.get('Set-Cookie'), sorted(client.cookies.items()))
    res = await client.get('/show')
    log('after delete', res)
