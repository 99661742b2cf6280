"""``multipart/form-data`` forms, including file uploads, read in bounded memory.

``@with_form_data`` fills ``request.form`` and ``request.files``; :class:`FormDataIter`
streams the fields one at a time for handlers that want to process uploads on the fly.
"""
import os
import sys

from microdot.helpers import wraps
from microdot.microdot import abort

_MICROPYTHON = sys.implementation.name == 'micropython'
_counter = [0]


def secure_filename(name):
    """A client file name made safe to use as a plain file name (``FileUpload.filename``
    is the name exactly as the client sent it: never use that as a path).

    Drops any directory part (``/`` and ``\\``), control characters and NULs, ``..``
    runs, drive colons and leading dots; may return ``''``.
    """
    if not name:
        return ''
    name = name.replace('\\', '/').rsplit('/', 1)[-1]
    out = []
    for c in name:
        if ord(c) < 32 or c == '\x7f' or c in ':*?"<>|':
            continue
        out.append(c)
    name = ''.join(out)
    while '..' in name:
        name = name.replace('..', '.')
    name = name.strip(' ').lstrip('.').rstrip('. ')
    return name[:255]


class FileUpload:
    """An uploaded file: ``filename`` and ``content_type`` (None when the part has no
    ``Content-Type``) as the client sent them, ``headers`` (the part's, lower-case names).

    ``filename`` may hold a path such as ``../../x``: pass it through
    :func:`secure_filename` before using it to name a file.
    """
    #: Uploads of this size or more are copied to a temporary file by :meth:`copy`.
    max_memory_size = 1024
    #: Directory for those files on MicroPython (CPython uses :mod:`tempfile`).
    temp_dir = ''
    #: Chunk size used by :meth:`read` (whole file), :meth:`save` and :meth:`copy`.
    buffer_size = 512

    def __init__(self, filename, content_type, read, headers=None):
        self.filename = filename
        self.content_type = content_type
        self.headers = headers or {}
        self._read = read
        self._file = None
        self._temp_path = None

    async def read(self, n=-1):
        """Read ``n`` bytes (fewer only at the end; all that is left with ``n < 0``)."""
        if self._file is not None:
            return self._file.read(n) if n >= 0 else self._file.read()
        if self._read is None:
            return b''
        out = b''
        while n < 0 or len(out) < n:
            chunk = await self._read(self.buffer_size if n < 0 else n - len(out))
            if not chunk:
                break
            out += chunk
        return out

    async def save(self, path_or_file):
        """Write the (rest of the) file to a path or to a writable file object."""
        if isinstance(path_or_file, str):
            f = open(path_or_file, 'wb')
        else:
            f = path_or_file
        try:
            while True:
                chunk = await self.read(self.buffer_size)
                if not chunk:
                    break
                f.write(chunk)
        finally:
            if f is not path_or_file:
                f.close()

    def _temp_file(self):
        if not _MICROPYTHON:
            import tempfile
            return tempfile.TemporaryFile(), None
        _counter[0] += 1
        name = '.upload-%d-%s.tmp' % (_counter[0], ''.join(
            '%02x' % b for b in os.urandom(4)))
        d = self.temp_dir
        path = d.rstrip('/') + '/' + name if d else name
        return open(path, 'w+b'), path

    async def copy(self, max_memory_size=None):
        """Keep the upload (in memory, or from ``max_memory_size`` bytes on in a
        temporary file) so it can be read after the form has moved on; returns self."""
        limit = max_memory_size or FileUpload.max_memory_size
        head = await self.read(limit)
        if len(head) < limit:
            import io
            self._file = io.BytesIO(head)
            self._read = None
            return self
        f, path = self._temp_file()
        try:
            f.write(head)
            await self.save(f)
        except BaseException:
            f.close()
            _remove(path)
            raise
        f.seek(0)
        self._file = f
        self._temp_path = path
        self._read = None
        return self

    async def close(self):
        """Release a copy (and delete its temporary file, if any)."""
        if self._temp_path is not None or (self._file is not None and not
                                           hasattr(self._file, 'getvalue')):
            try:
                self._file.close()
            except Exception:
                pass
            self._file = None
            _remove(self._temp_path)
            self._temp_path = None

    def __repr__(self):
        return '<FileUpload %r %s>' % (self.filename, self.content_type)


def _remove(path):
    if path:
        try:
            os.remove(path)
        except OSError:
            pass


class FormDataIter:
    """``async for name, value in FormDataIter(request)``: the fields of a multipart form.

    ``value`` is a ``str`` for plain fields and a :class:`FileUpload` (readable until the
    next iteration step) for files. A request that is not ``multipart/form-data`` gives
    no fields; a malformed form raises HTTP 400. The ``max_*`` limits are off (None)
    by default, as upstream Microdot has none: set them to refuse bigger forms (413).
    """
    #: Bytes read from the request body at a time.
    buffer_size = 256
    #: Most parts (fields + files) in one form, or None.
    max_parts = None
    #: Largest plain (non-file) field value in bytes, or None.
    max_field_size = None
    #: Longest header line of one part, in bytes (a longer one is a bad request).
    max_header_size = 1024

    def __init__(self, request):
        self.done = True
        mime, sep, boundary = (request.content_type or '').rpartition('; boundary=')
        if not sep or mime.split(';', 1)[0] != 'multipart/form-data':
            return  # not a multipart form: nothing to iterate
        if len(boundary) > 1 and boundary[0] == '"' and boundary[-1] == '"':
            boundary = boundary[1:-1]
        self.done = False
        self.stream = request.stream
        self.delim = b'\r\n--' + boundary.encode()
        self.buf = b'\r\n'  # so the first boundary line looks like any other delimiter
        self.pos = 0
        self.eof = False
        self.started = False
        self.parts = 0
        self.part_done = True
        self.part_no = 0
        self._chunk = bytearray(self.buffer_size)
        self._readinto = getattr(self.stream, 'readinto', None)

    def __aiter__(self):
        return self

    async def _fill(self):
        if self.eof:
            abort(400)  # the form ended without its closing boundary
        if self._readinto is not None:
            n = await self._readinto(self._chunk)
            data = bytes(memoryview(self._chunk)[:n]) if n else b''
        else:
            data = await self.stream.read(self.buffer_size)
        if not data:
            self.eof = True
            return
        if self.pos:
            self.buf = self.buf[self.pos:] + data
            self.pos = 0
        else:
            self.buf += data

    async def _read_part(self, n):
        """Up to ``n`` bytes of the current part; ``b''`` once its end is reached."""
        if self.part_done or n == 0:
            return b''
        delim = self.delim
        while True:
            buf = self.buf
            i = buf.find(delim, self.pos)
            if i >= 0:
                avail = i - self.pos
            else:
                avail = len(buf) - self.pos - len(delim) + 1
            if i >= 0 or avail > 0:
                if i >= 0 and avail == 0:
                    self.pos = i + len(delim)
                    self.part_done = True
                    return b''
                take = avail if n < 0 or n > avail else n
                data = buf[self.pos:self.pos + take]
                self.pos += take
                return data
            await self._fill()

    async def _skip_part(self):
        while await self._read_part(self.buffer_size):
            pass

    async def _readline(self, limit):
        while True:
            i = self.buf.find(b'\r\n', self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                if len(line) > limit:
                    abort(400)
                self.pos = i + 2
                return line
            if len(self.buf) - self.pos > limit:
                abort(400)
            await self._fill()

    async def _next_part(self):
        """Move past the delimiter that ended the previous part; False at the final one."""
        if not self.started:
            self.started = True
            # skip the preamble, up to and including the first delimiter
            while True:
                i = self.buf.find(self.delim, self.pos)
                if i >= 0:
                    self.pos = i + len(self.delim)
                    break
                keep = len(self.delim) - 1
                if len(self.buf) - self.pos > keep:
                    self.pos = len(self.buf) - keep
                await self._fill()
        else:
            await self._skip_part()
        while len(self.buf) - self.pos < 2:
            await self._fill()
        if self.buf[self.pos:self.pos + 2] == b'--':
            return False
        line = await self._readline(self.max_header_size)  # transport padding
        if line.strip(b' \t'):
            abort(400)
        return True

    async def __anext__(self):
        if self.done:
            raise StopAsyncIteration
        if not await self._next_part():
            self.done = True
            raise StopAsyncIteration
        self.parts += 1
        if self.max_parts is not None and self.parts > self.max_parts:
            abort(413)
        name = ''
        filename = None
        content_type = None
        headers = {}
        while True:
            line = await self._readline(self.max_header_size)
            if not line:
                break
            key, value = line.decode().split(':', 1)
            key = key.strip().lower()
            value = value.strip()
            headers[key] = value
            if key == 'content-disposition':
                # read as upstream reads it: ;-separated, name="..." and filename="..."
                params = value.split(';')
                if len(params) < 2 or params[0] != 'form-data':
                    abort(400)
                for param in params[1:]:
                    param = param.strip()
                    if param.startswith('name="'):
                        name = param[6:-1]
                    elif param.startswith('filename="'):
                        filename = param[10:-1]
            elif key == 'content-type':
                content_type = value
        self.part_done = False
        self.part_no += 1
        if filename is None:
            data = b''
            limit = self.max_field_size
            while True:
                chunk = await self._read_part(self.buffer_size)
                if not chunk:
                    break
                data += chunk
                if limit is not None and len(data) > limit:
                    abort(413)
            return name, data.decode()
        part_no = self.part_no

        async def read(n):
            if self.part_no != part_no:
                return b''  # the form has moved on to another part
            return await self._read_part(n)
        return name, FileUpload(filename, content_type, read, headers=headers)


def with_form_data(f):
    """Decorator: fill ``request.form`` (``str`` values) and ``request.files``
    (:class:`FileUpload` copies, in memory or temporary files) from a multipart body,
    then call the handler. Both are plain dicts (a repeated name keeps its last value);
    they are left alone when the form has no fields. The copies are closed (temporary
    files removed) when the handler returns.
    """
    @wraps(f)
    async def wrapper(request, *args, **kwargs):
        form = {}
        files = {}
        try:
            async for name, value in FormDataIter(request):
                if isinstance(value, FileUpload):
                    files[name] = await value.copy()
                else:
                    form[name] = value
        except BaseException:
            await _close_all(files)
            raise
        if form or files:
            request._form = form
            request.files = files
        try:
            ret = f(request, *args, **kwargs)
            if hasattr(ret, 'send'):  # a coroutine (or generator-based on MicroPython)
                ret = await ret
            return ret
        finally:
            await _close_all(files)
    return wrapper


async def _close_all(files):
    for upload in files.values():
        await upload.close()


def __getattr__(name):
    """Upstream's re-exported ``AsyncBytesIO``, resolved on first use (PEP 562)."""
    if name == 'AsyncBytesIO':
        from microdot.streams import AsyncBytesIO
        return AsyncBytesIO
    raise AttributeError(name)
