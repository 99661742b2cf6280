"""Multipart extension: with_form_data (request.form, request.files), FileUpload (read,
save, copy, attributes), FormDataIter, big fields and files, malformed forms."""
from microdot import Microdot, Request
from microdot.multipart import FileUpload, FormDataIter, with_form_data

Request.max_content_length = 128 * 1024  # as upload apps set it
app = Microdot()
B = 'parityBoundary7MA4YWxk'


def form(parts, boundary=B):
    """parts: (name, value) or (name, value, filename, content_type or None)."""
    out = b''
    for part in parts:
        out += b'--' + boundary.encode() + b'\r\n'
        disp = 'Content-Disposition: form-data; name="%s"' % part[0]
        if len(part) > 2:
            disp += '; filename="%s"' % part[2]
        out += disp.encode() + b'\r\n'
        if len(part) > 3 and part[3]:
            out += b'Content-Type: ' + part[3].encode() + b'\r\n'
        value = part[1]
        out += b'\r\n' + (value.encode() if isinstance(value, str) else value) + b'\r\n'
    return out + b'--' + boundary.encode() + b'--\r\n'


def blob(n):
    return bytes((i * 7 + 3) % 251 for i in range(n))


def describe(f):
    return {'filename': f.filename, 'content_type': f.content_type}


@app.post('/form')
@with_form_data
async def upload(request):
    files = {}
    for name, f in (request.files or {}).items():
        data = await f.read()
        d = describe(f)
        d['size'] = len(data)
        d['sum'] = sum(data) % 65521
        files[name] = d
    form_ = request.form
    return {'form': form_ if form_ is None else dict(form_), 'files': files}


@app.post('/sync')
@with_form_data
def sync_upload(request):
    return {'form': dict(request.form or {}), 'files': sorted(request.files or {})}


@app.post('/partial')
@with_form_data
async def partial(request):
    f = request.files['file']
    first = await f.read(10)
    second = await f.read(5)
    rest = await f.read()
    return {'first': list(first), 'second': list(second), 'rest': len(rest)}


@app.post('/iter')
async def iterate(request):
    out = []
    async for name, value in FormDataIter(request):
        if isinstance(value, FileUpload):
            if name == 'skip':
                out.append([name, 'skipped', describe(value)])
                continue
            data = await value.read()
            out.append([name, 'file', describe(value), len(data)])
        else:
            out.append([name, value])
    return {'parts': out}


@app.post('/copy')
async def copy(request):
    out = []
    async for name, value in FormDataIter(request):
        if isinstance(value, FileUpload):
            c = await value.copy(max_memory_size=100)
            out.append([name, c is value])
            out.append(len(await c.read()))
            await c.close()
    return {'out': out}


CT = {'Content-Type': 'multipart/form-data; boundary=' + B}
BIG_FIELD = 'x' * 5000
SMALL = form([('a', '1'), ('b', 'two words'), ('file', blob(300), 'small.bin',
                                                  'application/octet-stream')])
BIG = form([('note', BIG_FIELD), ('file', blob(30000), 'big.bin', 'application/octet-stream')])
CASES = [
    ('POST', '/form', CT, SMALL),
    ('POST', '/form', CT, BIG),
    ('POST', '/form', CT, form([('a', '1'), ('a', '2'), ('a', '3')])),
    ('POST', '/form', CT, form([('f', b'', 'empty.txt', 'text/plain')])),
    ('POST', '/form', CT, form([('f', 'hello', 'no-type.txt')])),
    ('POST', '/form', CT, form([('f', 'x', '../../etc/passwd', 'text/plain')])),
    ('POST', '/form', CT, form([('f', 'x', 'C:\\dir\\r\u00e9sum\u00e9.txt', 'text/plain')])),
    ('POST', '/form', CT, form([('t', 'caf\u00e9 \u2603'), ('e', '')])),
    ('POST', '/form', CT, form([('t', 'line1\r\nline2\r\n--not-a-boundary')])),
    ('POST', '/form', CT, form([])),
    # (an empty body, or one without the declared boundary, leaves upstream waiting for
    # more: ours answers 400; not compared)
    ('POST', '/form', {'Content-Type': 'application/x-www-form-urlencoded'}, b'a=1&b=2'),
    ('POST', '/form', {'Content-Type': 'text/plain'}, b'hello'),
    ('POST', '/form', {'Content-Type': 'multipart/form-data'}, SMALL),
    ('POST', '/form', CT, b'garbage\r\n' + SMALL),
    ('POST', '/form', CT, SMALL.replace(b'form-data; name="a"', b'attachment; name="a"')),
    ('POST', '/form', CT, form([('f%d' % i, str(i)) for i in range(40)])),
    ('POST', '/form', CT, SMALL.replace(b'; name="a"', b'; name=a')),
    ('POST', '/form', CT, SMALL.replace(b'; name="a"', b'')),
    ('POST', '/form', CT, SMALL.replace(b'; name="a"', b'; name="a"; size=3')),
    ('POST', '/form', CT, form([('file%d' % i, blob(2000 + i), 'f%d.bin' % i, 'x/y')
                                for i in range(5)])),
    ('POST', '/sync', CT, SMALL),
    ('POST', '/partial', CT, form([('file', blob(50), 'p.bin', 'a/b')])),
    ('POST', '/iter', CT, form([('a', '1'), ('skip', blob(5000), 's.bin', 'a/b'), ('b', '2'),
                                ('file', blob(2000), 'f.bin', None)])),
    ('POST', '/iter', {'Content-Type': 'text/plain'}, b'not a form'),
    ('POST', '/copy', CT, form([('small', blob(50), 's.bin', 'a/b'),
                                ('large', blob(5000), 'l.bin', 'a/b')])),
]
