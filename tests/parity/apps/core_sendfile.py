"""Core parity: send_file. Content types guessed from the extension (known and unknown,
upper case, no extension, .gz with compressed=True), an explicit content_type, compressed
as True or a string, file_extension, max_age and Response.default_send_file_max_age,
status_code, a stream instead of a file name, and HEAD."""
import binascii
import os

from microdot import Microdot, Response, send_file

app = Microdot()
# one folder per process: runs in parallel must not rewrite each other's files
DIR = '/tmp/microdot-parity-core-sendfile-' + binascii.hexlify(os.urandom(6)).decode()
FILES = {
    'index.html': b'<h1>hi</h1>', 'style.css': b'body{}', 'app.js': b'x=1', 'data.json': b'{"a":1}',
    'img.png': b'\x89PNG....', 'pic.jpg': b'\xff\xd8', 'anim.gif': b'GIF89a', 'logo.svg': b'<svg/>',
    'notes.txt': b'notes', 'blob.bin': bytes(range(256)) * 10, 'README': b'no extension',
    'UPPER.TXT': b'upper', 'page.htm': b'htm', 'icon.ico': b'ico', 'big.txt': b'0123456789' * 500,
    'site.js.gz': b'\x1f\x8bjs', 'archive.tar.gz': b'\x1f\x8btar', 'extra.txt.bak': b'bak',
}


def setup():
    try:
        os.mkdir(DIR)
    except OSError:
        pass
    for name, data in FILES.items():
        with open(DIR + '/' + name, 'wb') as f:
            f.write(data)


@app.route('/f/<name>')
async def plain(request, name):
    return send_file(DIR + '/' + name)


@app.route('/ct/<name>')
async def with_type(request, name):
    return send_file(DIR + '/' + name, content_type='application/x-custom')


@app.route('/gz/<name>')
async def gz(request, name):
    return send_file(DIR + '/' + name, compressed=True)


@app.route('/br')
async def br(request):
    return send_file(DIR + '/app.js', compressed='br')


@app.route('/ext')
async def ext(request):
    return send_file(DIR + '/site.js', compressed=True, file_extension='.gz')


@app.route('/ext2')
async def ext2(request):
    return send_file(DIR + '/extra.txt', file_extension='.bak')


@app.route('/age')
async def age(request):
    return send_file(DIR + '/notes.txt', max_age=60)


@app.route('/age0')
async def age0(request):
    return send_file(DIR + '/notes.txt', max_age=0)


@app.route('/default-age')
async def default_age(request):
    Response.default_send_file_max_age = 300
    try:
        return Response.send_file(DIR + '/notes.txt')
    finally:
        Response.default_send_file_max_age = None


@app.route('/status')
async def status(request):
    return send_file(DIR + '/notes.txt', status_code=202)


class Stream:
    def __init__(self, data):
        self.data = data

    def read(self, n=-1):
        out, self.data = (self.data, b'') if n < 0 else (self.data[:n], self.data[n:])
        return out

    def close(self):
        pass


@app.route('/stream')
async def stream(request):
    return send_file('virtual.css', stream=Stream(b'a{color:red}' * 200))


@app.route('/stream-noext')
async def stream_noext(request):
    return send_file('virtual', stream=Stream(b'data'))


CASES = [('GET', '/f/' + name) for name in sorted(FILES)] + [
    ('HEAD', '/f/index.html'), ('HEAD', '/f/big.txt'),
    ('GET', '/ct/notes.txt'), ('GET', '/gz/site.js.gz'), ('GET', '/gz/archive.tar.gz'),
    ('GET', '/gz/notes.txt'), ('GET', '/br'), ('GET', '/ext'), ('GET', '/ext2'),
    ('GET', '/age'), ('GET', '/age0'), ('GET', '/default-age'), ('GET', '/status'),
    ('GET', '/stream'), ('GET', '/stream-noext'), ('HEAD', '/stream'),
    {'method': 'GET', 'path': '/f/missing.txt', 'differs': 'D4'},
]
