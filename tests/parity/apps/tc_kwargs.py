"""TestClient parity: the constructor's scheme= and host= (the Host header sent when a
request has none, the request's scheme), and an empty cookies dict."""
from microdot import Microdot

app = Microdot()
MODES = ('testclient',)
TESTCLIENT_KWARGS = {'scheme': 'https', 'host': 'device.local:8080', 'cookies': {}}


@app.route('/')
async def index(request):
    return {'scheme': request.scheme, 'host': request.headers.get('Host'),
            'url': request.url, 'cookies': sorted(request.cookies.items())}


CASES = [
    ('GET', '/'),
    ('GET', '/', {'Host': 'mine'}),
    ('GET', '/?x=1', {'Cookie': 'c=1'}),
]


async def script(client, log):
    log('attributes', client.host, client.scheme, client.cookies)
