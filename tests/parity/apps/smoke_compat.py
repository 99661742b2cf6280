"""The deliberate differences of docs/compat.md, one case each, so that every listed row is
seen to differ (and nothing else about these requests does)."""
from microdot import Microdot, send_file

app = Microdot()


@app.route('/split')
async def split(request):
    return 'ok', {'X-Note': 'a\r\nX-Injected: 1'}


@app.route('/file')
async def missing_file(request):
    return send_file('no-such-file.txt')


@app.route('/')
async def index(request):
    return 'hi'


CASES = [
    {'method': 'GET', 'path': '/split', 'differs': 'D3', 'name': 'CR/LF in a header value'},
    {'method': 'GET', 'path': '/file', 'differs': 'D4', 'name': 'send_file of a missing file'},
    {'method': 'GET', 'path': '/?' + 'q' * 3000, 'differs': 'D2', 'name': 'request line too long'},
    {'method': 'GET', 'path': '/', 'headers': {'X-Big': 'v' * 3000}, 'differs': 'D2',
     'name': 'header line too long'},
    ('GET', '/'),
]
