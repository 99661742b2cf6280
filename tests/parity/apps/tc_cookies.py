"""TestClient parity: the cookie jar - the constructor's cookies (plain and (value, path)
entries), Set-Cookie with and without a path, delete_cookie with and without a path,
Max-Age and 1970 expiry, and which cookies each path is sent."""
from microdot import Microdot, Response

app = Microdot()
MODES = ('testclient',)
TESTCLIENT_KWARGS = {'cookies': {'start': 's', 'scoped': ('sc', '/shop')}}


@app.route('/<path:path>')
async def page(request, path):
    return {'path': request.path, 'cookies': sorted(request.cookies.items()),
            'header': request.headers.get('Cookie')}


@app.get('/set')
async def set_(request):
    res = Response('set')
    res.set_cookie('plain', '1')
    res.set_cookie('shop', '2', path='/shop')
    res.set_cookie('Mixed', '3', path='/Shop/Cart', max_age=60)
    res.set_cookie('flags', '4', secure=True, http_only=True, domain='example.com')
    res.set_cookie('eq', 'a=b')
    return res


@app.get('/delete')
async def delete(request):
    res = Response('deleted')
    res.delete_cookie('plain')
    res.delete_cookie('shop')               # stored with path /shop: no path here, kept
    res.delete_cookie('flags', path='/x')   # stored without a path: kept
    res.delete_cookie('scoped', path='/shop')
    res.delete_cookie('unknown')
    return res


@app.get('/delete-path')
async def delete_path(request):
    res = Response('deleted')
    res.delete_cookie('shop', path='/shop')
    res.delete_cookie('Mixed', path='/Shop/Cart')
    return res


@app.get('/expire')
async def expire(request):
    res = Response('expired')
    res.set_cookie('start', 'x', max_age=0)
    res.set_cookie('eq', 'y', expires='Thu, 01 Jan 1970 00:00:00 GMT')
    res.set_cookie('flags', 'z', max_age=-1)
    res.set_cookie('later', 'w', max_age=5, path='/')
    return res


@app.get('/reset')
async def reset(request):
    res = Response('reset')
    res.set_cookie('shop', 'again', path='/shop')
    res.set_cookie('shop', 'root')
    return res


CASES = [
    ('GET', '/'),
    ('GET', '/shop'),
    ('GET', '/shopping/list'),
    ('GET', '/other', {'Cookie': 'own=1'}),
]


def jar(client):
    return sorted([k, v] for k, v in client.cookies.items())


async def script(client, log):
    log('start', jar(client))
    for path in ('/set', '/', '/shop/item', '/shop', '/Shop/Cart', '/shop/cart', '/delete',
                 '/shop', '/delete-path', '/', '/expire', '/', '/reset', '/shop'):
        res = await client.get(path)
        log(path, res, jar(client))
