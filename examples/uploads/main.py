"""uploads: multipart file uploads with limits, stored on the board's filesystem.

- ``GET /``                   the file list and an upload form (several files at once)
- ``POST /upload``            ``multipart/form-data`` with one or more ``file`` fields
- ``GET /files/<name>``       download a stored file
- ``POST /delete/<name>``     delete one

The body is streamed to flash in small chunks (it is never held in memory), so the
limits are about flash space, not RAM: a form may be at most MAX_FORM bytes (the server
answers 413 before reading it), each file at most MAX_FILE bytes (413; the partial file
is removed) and at most MAX_FILES files are kept (507 until one is deleted).
"""
import os

from microdot import Microdot, Request, Response, redirect
from microdot.multipart import FileUpload, FormDataIter, secure_filename

UPLOAD_DIR = 'uploads'
MAX_FILE = 32 * 1024
MAX_FILES = 8
MAX_FORM = 96 * 1024
CHUNK = 512

Request.max_content_length = MAX_FORM
app = Microdot()

try:
    os.mkdir(UPLOAD_DIR)
except OSError:
    pass  # already there


def safe_name(name):
    """Letters, digits, '.', '-' and '_' only; no leading dot; '' if nothing is left."""
    out = []
    for c in name or '':
        out.append(c if (c.isalpha() and ord(c) < 128) or c.isdigit() or c in '.-_' else '_')
    return ''.join(out).lstrip('.')[:64]


def stored():
    """[(name, size)] of the stored files, sorted by name."""
    files = []
    for name in os.listdir(UPLOAD_DIR):
        if not name.startswith('.'):
            files.append((name, os.stat(UPLOAD_DIR + '/' + name)[6]))
    files.sort()
    return files


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


async def save_limited(upload, path):
    """Stream ``upload`` into ``path``; return its size, or -1 past MAX_FILE (nothing kept)."""
    partial = UPLOAD_DIR + '/.partial'
    size = 0
    with open(partial, 'wb') as f:
        while True:
            chunk = await upload.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_FILE:
                break
            f.write(chunk)
    if size > MAX_FILE:
        remove(partial)
        return -1
    remove(path)
    os.rename(partial, path)
    return size


def message(text, status):
    return page('<p class="error">' + text + '</p><p><a href="/">Back</a></p>', status)


@app.post('/upload')
async def upload(request):
    saved = []
    async for field, value in FormDataIter(request):
        if not isinstance(value, FileUpload) or field != 'file':
            continue
        name = safe_name(secure_filename(value.filename))  # filename is as the client sent it
        if not name:
            continue  # an empty file input
        path = UPLOAD_DIR + '/' + name
        if not exists(path) and len(stored()) >= MAX_FILES:
            return message('Storage full (%d files): delete a file first.' % MAX_FILES, 507)
        if await save_limited(value, path) < 0:
            return message('%s is larger than %d KB; it was not stored.' % (
                name, MAX_FILE // 1024), 413)
        saved.append(name)
    if not saved:
        return message('Choose at least one file.', 400)
    if 'text/html' in request.headers.get('Accept', ''):
        return redirect('/', 303)
    return {'saved': saved}


@app.get('/files/<name>')
async def download(request, name):
    name = safe_name(name)
    path = UPLOAD_DIR + '/' + name
    if not name or not exists(path):
        return message('No such file.', 404)
    res = Response.send_file(path, content_type='application/octet-stream')
    res.headers['Content-Disposition'] = 'attachment; filename="%s"' % name
    return res


@app.post('/delete/<name>')
async def delete(request, name):
    name = safe_name(name)
    if name:
        remove(UPLOAD_DIR + '/' + name)
    return redirect('/', 303)


def page(body, status=200):
    html = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="data:,"><title>Uploads</title><style>'
            'body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#222}'
            'header{background:#3a4a5c;color:#fff;padding:12px 20px}h1{margin:0;font-size:1.3em}'
            'main{padding:16px 20px;max-width:600px}table{border-collapse:collapse;width:100%}'
            'td{padding:4px 8px;border-bottom:1px solid #ddd}td.size{text-align:right}'
            '.error{color:#b00}form.inline{display:inline}.note{color:#678;font-size:.85em}'
            '</style></head><body><header><h1>Uploads</h1></header><main>' + body +
            '</main></body></html>')
    return html, status, {'Content-Type': 'text/html; charset=utf-8'}


@app.get('/')
async def index(request):
    rows = ''.join(
        '<tr><td><a href="/files/%s">%s</a></td><td class="size">%d bytes</td><td>'
        '<form class="inline" method="post" action="/delete/%s"><button>Delete</button></form>'
        '</td></tr>' % (name, name, size, name) for name, size in stored())
    return page(
        '<form method="post" action="/upload" enctype="multipart/form-data">'
        '<input type="file" name="file" multiple> <button>Upload</button></form>'
        '<p class="note">Up to %d KB per file, %d KB per upload, %d files in all.</p>'
        '<table id="files">%s</table>' % (MAX_FILE // 1024, MAX_FORM // 1024, MAX_FILES,
                                          rows or '<tr><td><i>no files yet</i></td></tr>'))


app.run(port=int(os.getenv('PORT') or 5000) if hasattr(os, 'getenv') else 5000, debug=True)
