import os

from microdot import Microdot, Request
from microdot.multipart import with_form_data, FormDataIter, FileUpload, secure_filename
from microdot.test_client import TestClient
from support import MICROPYTHON

BOUNDARY = '----kitFormBoundary7MA4YWxk'
# TestClient adds Content-Length to the headers dict it is given (as Microdot 2.x's does),
# so each request gets a copy
CT = {'Content-Type': 'multipart/form-data; boundary=' + BOUNDARY}


def multipart(parts, boundary=BOUNDARY):
    """parts: (name, value) for fields, (name, filename, content_type, bytes) for files."""
    out = []  # joined once: no growing copies (a 100 KB body on MicroPython's fragmented heap)
    for part in parts:
        out.append(b'--' + boundary.encode() + b'\r\n')
        if len(part) == 2:
            out.append(('Content-Disposition: form-data; name="%s"\r\n\r\n' % part[0]).encode())
            out.append(part[1].encode() if isinstance(part[1], str) else part[1])
        else:
            name, filename, ctype, data = part
            out.append(('Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                        'Content-Type: %s\r\n\r\n' % (name, filename, ctype)).encode())
            out.append(data)
        out.append(b'\r\n')
    out.append(b'--' + boundary.encode() + b'--\r\n')
    return b''.join(out)


def blob(n):
    return bytes((i * 7 + i // 251) % 256 for i in range(n))


def in_memory(f):
    import io
    return isinstance(f._file, io.BytesIO)


def make_app():
    app = Microdot()
    app.kept = []

    @app.post('/upload')
    @with_form_data
    async def upload(request):
        files = {}
        for name, f in (request.files or {}).items():
            app.kept.append(f)
            mem = in_memory(f)
            data = await f.read()
            files[name] = {'filename': f.filename, 'type': f.content_type, 'size': len(data),
                           'ok': data == blob(len(data)), 'mem': mem}
        return {'form': request.form, 'files': files}
    return app


async def test_with_form_data_fields_and_files():
    body = multipart([('title', 'Hello w\u00f6rld'), ('tag', 'a'), ('tag', 'b'),
                      ('doc', 'notes.txt', 'text/plain', blob(10)),
                      ('big', 'more.bin', 'application/octet-stream', blob(3000)),
                      ('empty', '', 'application/octet-stream', b'')])
    app = make_app()
    res = await TestClient(app).post('/upload', headers=dict(CT), body=body)
    assert res.status_code == 200, res.text
    # (as upstream) plain dicts: a repeated name keeps its last value
    assert res.json['form'] == {'title': 'Hello w\u00f6rld', 'tag': 'b'}
    assert res.json['files']['doc'] == {'filename': 'notes.txt', 'type': 'text/plain',
                                        'size': 10, 'ok': True, 'mem': True}
    big = res.json['files']['big']
    assert big['size'] == 3000 and big['ok'] and big['mem'] is False
    assert res.json['files']['empty']['size'] == 0
    # the temporary copies are released once the handler has returned
    assert len(app.kept) == 3
    for f in app.kept:
        assert f._temp_path is None
        if not in_memory(f):
            assert f._file is None


async def test_large_form_field_and_file_are_accepted_by_default():
    # no limit of ours refuses what upstream accepts: a 5 KB field and a 30 KB file
    old = Request.max_content_length
    Request.max_content_length = 64 * 1024
    try:
        body = multipart([('note', 'n' * 5000), ('file', 'f.bin', 'a/b', blob(30000))])
        res = await TestClient(make_app()).post('/upload', headers=dict(CT), body=body)
        assert res.status_code == 200
        assert res.json['form'] == {'note': 'n' * 5000}
        assert res.json['files']['file']['size'] == 30000 and res.json['files']['file']['ok']
    finally:
        Request.max_content_length = old


async def test_large_upload_streams_from_the_socket():
    old = Request.max_content_length
    Request.max_content_length = 256 * 1024
    try:
        data = blob(100 * 1024)
        body = multipart([('name', 'x'), ('file', 'big.bin', 'application/octet-stream', data)])
        assert len(body) > Request.max_body_length  # so the body is read from request.stream
        app = make_app()
        res = await TestClient(app).post('/upload', headers=dict(CT), body=body)
        assert res.status_code == 200
        assert res.json['files']['file']['size'] == len(data)
        assert res.json['files']['file']['ok'] is True
    finally:
        Request.max_content_length = old


async def test_form_data_iter_streaming_and_read_once():
    app = Microdot()

    @app.post('/stream')
    async def stream(request):
        out = []
        async for name, value in FormDataIter(request):
            if isinstance(value, FileUpload):
                if name == 'skip':
                    out.append([name, 'skipped'])
                    app.skipped = value
                    continue
                sizes = []
                while True:
                    chunk = await value.read(100)
                    if not chunk:
                        break
                    sizes.append(len(chunk))
                out.append([name, value.filename, sum(sizes), max(sizes)])
            else:
                out.append([name, value])
        # a file the loop moved past cannot be read any more
        out.append(await app.skipped.read())
        return {'out': out[:-1], 'late': len(out[-1])}

    body = multipart([('a', '1'), ('skip', 's.bin', 'x/y', blob(2000)),
                      ('f', 'f.bin', 'x/y', blob(1500)), ('b', '2')])
    res = await TestClient(app).post('/stream', headers=dict(CT), body=body)
    assert res.json == {'out': [['a', '1'], ['skip', 'skipped'], ['f', 'f.bin', 1500, 100],
                                ['b', '2']], 'late': 0}


async def test_boundaries_split_across_every_chunk_size():
    tricky = b'--' + BOUNDARY.encode()[:-1] + b'\r\n--' + b'\r\n\r\n' + blob(40) + b'\r'
    body = b'preamble text\r\n' + multipart([('f', 'a.txt', 'text/plain', tricky),
                                             ('g', 'v\r\nw')])

    class Tiny(FormDataIter):
        pass

    for size in (1, 2, 3, 5, 8, 13, 31, 64, 100, 1000):
        Tiny.buffer_size = size
        req = Request(None, None, 'POST', '/', '1.1', {}, body=body)
        req.content_type = CT['Content-Type']
        got = []
        async for name, value in Tiny(req):
            got.append((name, (await value.read()) if isinstance(value, FileUpload) else value))
        assert got == [('f', tricky), ('g', 'v\r\nw')], size


def test_secure_filename():
    assert secure_filename('../../etc/passwd') == 'passwd'
    assert secure_filename('C:\\Users\\me\\evil.exe') == 'evil.exe'
    assert secure_filename('a\x00b\x1f.txt') == 'ab.txt'
    assert secure_filename('..') == '' and secure_filename('.') == '' and secure_filename('') == ''
    assert secure_filename('.bashrc') == 'bashrc'
    assert secure_filename('x/..') == ''
    assert secure_filename('my..file...txt') == 'my.file.txt'
    assert secure_filename('c:x.txt') == 'cx.txt'
    assert secure_filename('r\u00e9sum\u00e9.pdf') == 'r\u00e9sum\u00e9.pdf'
    assert len(secure_filename('a' * 1000)) == 255


async def test_filenames_are_given_as_sent():
    app = make_app()
    body = multipart([('f', '../../etc/passwd', 'text/plain', blob(5)),
                      ('g', 'dir\\..\\x.txt', 'text/plain', blob(5))])
    res = await TestClient(app).post('/upload', headers=dict(CT), body=body)
    assert res.status_code == 200
    # (as upstream) FileUpload.filename is the client's; secure_filename() makes it safe
    assert res.json['files']['f']['filename'] == '../../etc/passwd'
    assert res.json['files']['g']['filename'] == 'dir\\..\\x.txt'
    assert secure_filename(res.json['files']['g']['filename']) == 'x.txt'


async def test_save_to_path_and_file_object():
    app = Microdot()
    path = '/tmp/kit-upload-%d.bin' % (os.getpid() if hasattr(os, 'getpid') else 1)

    @app.post('/save')
    @with_form_data
    async def save(request):
        await request.files['a'].save(path)
        import io
        buf = io.BytesIO()
        await request.files['b'].save(buf)
        return {'b': len(buf.getvalue())}

    body = multipart([('a', 'a.bin', 'x/y', blob(5000)), ('b', 'b.bin', 'x/y', blob(700))])
    try:
        res = await TestClient(app).post('/save', headers=dict(CT), body=body)
        assert res.json == {'b': 700}
        with open(path, 'rb') as f:
            assert f.read() == blob(5000)
    finally:
        try:
            os.remove(path)
        except OSError:
            pass


async def test_spilled_uploads_are_removed():
    old_dir = FileUpload.temp_dir
    FileUpload.temp_dir = '/tmp'
    before = [n for n in os.listdir('/tmp') if n.startswith('.upload-')]
    app = Microdot()
    seen = {}

    @app.post('/up')
    @with_form_data
    async def up(request):
        f = request.files['big']
        seen['path'] = f._temp_path
        seen['mem'] = in_memory(f)
        return str(len(await f.read()))

    try:
        res = await TestClient(app).post('/up', headers=dict(CT), body=multipart(
            [('big', 'b.bin', 'x/y', blob(FileUpload.max_memory_size))]))
        assert res.text == str(FileUpload.max_memory_size)
        assert seen['mem'] is False
        if MICROPYTHON:
            assert seen['path'].startswith('/tmp/.upload-')
        after = [n for n in os.listdir('/tmp') if n.startswith('.upload-')]
        assert after == before
    finally:
        FileUpload.temp_dir = old_dir


async def test_limits_are_settings_and_malformed_forms():
    app = make_app()
    client = TestClient(app)
    # off by default (as upstream): many parts, big fields
    many = multipart([('f%d' % i, 'v') for i in range(100)])
    assert (await client.post('/upload', headers=dict(CT), body=many)).status_code == 200
    big = multipart([('f', 'x' * 10000)])
    assert (await client.post('/upload', headers=dict(CT), body=big)).status_code == 200
    old = FormDataIter.max_parts, FormDataIter.max_field_size
    FormDataIter.max_parts, FormDataIter.max_field_size = 32, 1024
    try:
        too_many = multipart([('f%d' % i, 'v') for i in range(33)])
        assert (await client.post('/upload', headers=dict(CT), body=too_many)).status_code == 413
        ok = multipart([('f%d' % i, 'v') for i in range(32)])
        assert (await client.post('/upload', headers=dict(CT), body=ok)).status_code == 200
        big = multipart([('f', 'x' * 1025)])
        assert (await client.post('/upload', headers=dict(CT), body=big)).status_code == 413
        exact = multipart([('f', 'x' * 1024)])
        assert (await client.post('/upload', headers=dict(CT), body=exact)).status_code == 200
    finally:
        FormDataIter.max_parts, FormDataIter.max_field_size = old
    huge_head = multipart([('f' * (FormDataIter.max_header_size + 10), 'v')])
    assert (await client.post('/upload', headers=dict(CT), body=huge_head)).status_code == 400
    good = multipart([('a', 'b')])
    for bad in (good[:-20],                                   # no closing boundary
                good.replace(b'form-data; ', b'attachment; ')):
        assert (await client.post('/upload', headers=dict(CT), body=bad)).status_code == 400, bad
    # (as upstream) a header line without ':' or a value that is not UTF-8 is a 500
    for bad in (good.replace(b'Content-Disposition:', b'Content-Disposition'),
                multipart([('a', b'\xff\xfe')])):
        assert (await client.post('/upload', headers=dict(CT), body=bad)).status_code == 500, bad
    # a part without name="..." is named ''
    res = await client.post('/upload', headers=dict(CT), body=good.replace(b'name="a"', b'x="a"'))
    assert res.json['form'] == {'': 'b'}
    # not a multipart form (no boundary, other types): nothing is parsed, the core's
    # request.form stays (url-encoded forms still work)
    res = await client.post('/upload', headers={'Content-Type': 'multipart/form-data'},
                            body=good)
    assert res.json == {'form': None, 'files': {}}
    res = await client.post('/upload', headers={
        'Content-Type': 'application/x-www-form-urlencoded'}, body='x=1&x=2')
    assert res.json == {'form': {'x': ['1', '2']}, 'files': {}}


async def test_quoted_boundary_and_transport_padding():
    app = make_app()
    body = multipart([('a', 'b')], boundary='simple boundary')
    body = body.replace(b'--simple boundary\r\n', b'--simple boundary  \r\n', 1)
    res = await TestClient(app).post('/upload', body=body, headers={
        'Content-Type': 'multipart/form-data; charset=utf-8; boundary="simple boundary"'})
    assert res.json['form'] == {'a': 'b'}
