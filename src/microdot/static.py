"""Serve a directory of static files, confined to that directory.

Usage::

    from microdot.static import Static

    static = Static('www', max_age=3600)
    static.mount(app, '/static')        # GET/HEAD /static/<path>, /static/ -> index.html

    @app.get('/')                       # or answer from a route of your own
    async def index(request):
        return static.response(request, 'index.html')

- Confinement: the path is taken after URL decoding; a ``..`` or ``.`` segment, an empty
  segment (``//``, a leading ``/``), a backslash, a NUL or a dot-file gives 404, and on
  CPython a file whose real path (symlinks resolved) leaves the root gives 404.
- ``x.gz`` next to ``x`` is sent (with ``Content-Encoding: gzip`` and ``Vary``) when the
  client accepts gzip; with only ``x.gz`` on disk, a client that does not accept gzip
  gets 406.
- Every file has an ``ETag`` made from its size and modification time;
  ``If-None-Match`` with a matching tag (or ``*``) gives 304 without a body.
- ``Cache-Control``: ``max-age=N`` for ``max_age=N``, ``no-cache`` (always revalidate
  with the ETag, which is cheap) when ``max_age`` is None.
"""
import os

from microdot.microdot import Response, HTTPException

_DIR = 0o040000
_FMT = 0o170000


def _stat(path):
    """(is_dir, size, mtime) of ``path``, or None if it does not exist."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st[0] & _FMT) == _DIR, st[6], int(st[8])


def _accepts_gzip(value):
    for item in value.split(','):
        name, _, params = item.partition(';')
        name = name.strip().lower()
        if name == 'gzip' or name == '*':
            q = params.strip().replace(' ', '')
            return not (q.startswith('q=0') and q.strip('q=0.') == '')
    return False


def _etag_matches(header, etag):
    for tag in header.split(','):
        tag = tag.strip()
        if tag == '*' or tag == etag or tag == 'W/' + etag:
            return True
    return False


class Static:
    """A directory whose files are served below a URL prefix."""

    def __init__(self, root, max_age=None, index='index.html', gzip=True):
        self.root = root.rstrip('/') or '/'
        self.max_age = max_age
        self.index = index
        self.gzip = gzip
        path = getattr(os, 'path', None)  # CPython: resolve symlinks when checking
        self._real_root = path.realpath(root) if path is not None else None

    def resolve(self, path):
        """The file system path for a URL path below the prefix, or None if refused."""
        if not path:
            return None
        if '\\' in path or '\x00' in path:
            return None
        parts = path.split('/')
        if parts[-1] == '':
            parts.pop()  # a trailing slash names a directory
        for seg in parts:
            if not seg or seg[0] == '.':  # '', '.', '..', dot-files
                return None
        return self.root + '/' + '/'.join(parts)

    def _confined(self, fs_path):
        real_root = self._real_root
        if real_root is None:
            return True
        real = os.path.realpath(fs_path)
        return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)

    def response(self, request, path):
        """A Response for ``path`` (relative to the root); raises HTTPException(404/406)."""
        fs_path = self.resolve(path) if path else self.root
        if fs_path is None:
            raise HTTPException(404)
        st = _stat(fs_path)
        if st is not None and st[0]:
            if not self.index:
                raise HTTPException(404)
            fs_path = fs_path + '/' + self.index
            st = _stat(fs_path)
        gz_st = None
        if self.gzip:
            gz_st = _stat(fs_path + '.gz')
            if gz_st is not None and gz_st[0]:
                gz_st = None
        if (st is None or st[0]) and gz_st is None:
            raise HTTPException(404)
        use_gz = False
        if gz_st is not None:
            if _accepts_gzip(request.headers.get('Accept-Encoding', '')):
                use_gz = True
            elif st is None or st[0]:
                raise HTTPException(406)
        real_path = fs_path + '.gz' if use_gz else fs_path
        if not self._confined(real_path):
            raise HTTPException(404)
        size, mtime = (gz_st if use_gz else st)[1:]
        etag = '"%x-%x%s"' % (size, mtime, '-gz' if use_gz else '')
        headers = {
            'ETag': etag,
            'Cache-Control': 'no-cache' if self.max_age is None else 'max-age=%d' % self.max_age,
        }
        if gz_st is not None:
            headers['Vary'] = 'Accept-Encoding'
        inm = request.headers.get('If-None-Match')
        if inm and _etag_matches(inm, etag):
            headers['Content-Length'] = str(size)  # what a 200 would have sent; no body
            return Response(status_code=304, headers=headers)
        from microdot.sendfile import guess_type
        res = Response.send_file(real_path, content_type=guess_type(fs_path), compressed=use_gz)
        res.headers.update(headers)
        return res

    def mount(self, app, url_prefix='/static'):
        """Add GET (and HEAD) routes for ``url_prefix/<path>`` and ``url_prefix/`` to ``app``."""
        prefix = url_prefix.rstrip('/')
        static = self

        async def serve_file(request, path):
            return static.response(request, path)

        async def serve_index(request):
            return static.response(request, '')

        app.route(prefix + '/<path:path>')(serve_file)
        app.route(prefix + '/')(serve_index)
        return self
