"""``multipart/form-data`` forms, including file uploads, read in bounded memory.

``@with_form_data`` fills ``request.form`` and ``request.files``; :class:`FormDataIter`
streams the fields one at a time for handlers that want to process uploads on the fly.
"""
import os
import sys

from microdot.helpers import wraps
from microdot.microdot import abort, invoke_handler
from microdot.multidict import MultiDict

_MICROPYTHON = sys.implementation.name == 'micropython'
_counter = [0]


def _params(value):
    """Split ``type; a=1; b="x;y"`` into (type lower-cased, {param: value})."""
    params = {}
    i = value.find(';')
    main = (value if i < 0 else value[:i]).strip().lower()
    n = len(value)
    while 0 <= i < n:
        i += 1
        while i < n and value[i] in ' \t':
            i += 1
        j = i
        while j < n and value[j] not in '=;':
            j += 1
        key = value[i:j].strip().lower()
        i = j
        val = ''
        if i < n and value[i] == '=':
            i += 1
            while i < n and value[i] in ' \t':
                i += 1
            if i < n and value[i] == '"':
                i += 1
                out = []
                while i < n and value[i] != '"':
                    if value[i] == '\\' and i + 1 < n:
                        i += 1
                    out.append(value[i])
                    i += 1
                val = ''.join(out)
                i = value.find(';', i)
            else:
                j = value.find(';', i)
                val = (value[i:] if j < 0 else value[i:j]).strip()
                i = j
        else:
            i = value.find(';', i)
        if key:
            params[key] = val
    return main, params


def _ext_value(value):
    """Decode an RFC 8187 ``charset'lang'%XX`` value (``filename*``), or None."""
    parts = value.split("'", 2)
    if len(parts) != 3:
        return None
    from microdot.microdot import urldecode_bytes
    try:
        raw = urldecode_bytes(parts[2].replace('+', '%2B').encode())
    except ValueError:
        return None
    return raw


def secure_filename(name):
    """A client file name made safe to use as a plain file name.

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
    """An uploaded file.

    ``filename`` is the sanitized client file name (see :func:`secure_filename`) and
    ``raw_filename`` the name exactly as the client sent it: never use it as a path.
    """
    #: Uploads bigger than this are copied to a temporary file by :meth:`copy`.
    max_memory_size = 1024
    #: Directory for those files on MicroPython (CPython uses :mod:`tempfile`).
    temp_dir = ''
    #: Chunk size used by :meth:`save` and :meth:`copy`.
    buffer_size = 512

    def __init__(self, filename, content_type, read, raw_filename=None, headers=None):
        self.raw_filename = filename if raw_filename is None else raw_filename
        self.filename = secure_filename(self.raw_filename)
        self.content_type = content_type
        self.headers = headers or {}
        self._read = read
        self._file = None
        self._temp_path = None
        self.size = None
        self.in_memory = False

    async def read(self, n=-1):
        """Read up to ``n`` bytes (all that is left with ``n < 0``); ``b''`` at the end."""
        if self._file is not None:
            return self._file.read(n) if n >= 0 else self._file.read()
        if self._read is None:
            return b''
        if n >= 0:
            return await self._read(n)
        out = []
        while True:
            chunk = await self._read(self.buffer_size)
            if not chunk:
                break
            out.append(chunk)
        return b''.join(out)

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
        """Read the upload into memory or, past ``max_memory_size``, a temporary file.

        Returns a new :class:`FileUpload` that can be read after the form has moved on.
        """
        if max_memory_size is None:
            max_memory_size = self.max_memory_size
        import io
        mem = io.BytesIO()
        f = mem
        path = None
        size = 0
        try:
            while True:
                chunk = await self.read(self.buffer_size)
                if not chunk:
                    break
                size += len(chunk)
                if f is mem and size > max_memory_size:
                    f, path = self._temp_file()
                    f.write(mem.getvalue())
                    mem = None
                f.write(chunk)
        except BaseException:
            if f is not mem:
                f.close()
                _remove(path)
            raise
        f.seek(0)
        other = FileUpload(self.raw_filename, self.content_type, None, headers=self.headers)
        other._file = f
        other._temp_path = path
        other.size = size
        other.in_memory = f is mem
        return other

    async def close(self):
        """Release the copy (and delete its temporary file, if any)."""
        self._read = None
        if self._file is not None:
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
    next iteration step) for files. Bad forms raise HTTP 400, forms over the limits 413.
    """
    #: Bytes read from the request body at a time.
    buffer_size = 512
    #: Most parts (fields + files) in one form.
    max_parts = 32
    #: Largest plain (non-file) field value, in bytes.
    max_field_size = 1024
    #: Largest header block of one part, in bytes.
    max_header_size = 1024

    def __init__(self, request):
        ct = request.content_type or ''
        mime, params = _params(ct)
        boundary = params.get('boundary', '')
        if mime != 'multipart/form-data' or not boundary or len(boundary) > 200:
            abort(400)
        self.stream = request.stream
        self.delim = b'\r\n--' + boundary.encode()
        self.buf = b'\r\n'  # so the first boundary line looks like any other delimiter
        self.pos = 0
        self.eof = False
        self.started = False
        self.done = False
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
                    abort(413)
                self.pos = i + 2
                return line
            if len(self.buf) - self.pos > limit:
                abort(413)
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
        if self.parts > self.max_parts:
            abort(413)
        headers = {}
        total = 0
        while True:
            line = await self._readline(self.max_header_size)
            if not line:
                break
            total += len(line) + 2
            if total > self.max_header_size:
                abort(413)
            try:
                text = line.decode()
            except ValueError:
                text = ''.join(chr(b) for b in line)  # latin-1
            name, sep, value = text.partition(':')
            if not sep:
                abort(400)
            headers[name.strip().lower()] = value.strip()
        disp, params = _params(headers.get('content-disposition', ''))
        if disp != 'form-data' or 'name' not in params:
            abort(400)
        self.part_done = False
        self.part_no += 1
        name = params['name']
        filename = params.get('filename')
        if 'filename*' in params:
            ext = _ext_value(params['filename*'])
            if ext is not None:
                filename = ext
        if filename is None:
            data = b''
            while True:
                chunk = await self._read_part(self.buffer_size)
                if not chunk:
                    break
                data += chunk
                if len(data) > self.max_field_size:
                    abort(413)
            try:
                return name, data.decode()
            except ValueError:
                abort(400)
        part_no = self.part_no

        async def read(n):
            if self.part_no != part_no:
                return b''  # the form has moved on to another part
            return await self._read_part(n)
        return name, FileUpload(filename, headers.get('content-type', 'text/plain'), read,
                                headers=headers)


def _is_multipart(request):
    ct = request.content_type
    return bool(ct) and ct.split(';', 1)[0].strip().lower() == 'multipart/form-data'


def with_form_data(f):
    """Decorator: fill ``request.form`` (str values) and ``request.files`` (FileUpload
    copies, in memory or temporary files) from a multipart body, then call the handler.

    The copies are closed (temporary files removed) when the handler returns.
    """
    @wraps(f)
    async def wrapper(request, *args, **kwargs):
        files = None
        if _is_multipart(request):
            form = MultiDict()
            files = MultiDict()
            try:
                async for name, value in FormDataIter(request):
                    if isinstance(value, FileUpload):
                        files[name] = await value.copy()
                    else:
                        form[name] = value
            except BaseException:
                await _close_all(files)
                raise
            request._form = form
            request.files = files
        try:
            return await invoke_handler(f, request, *args, **kwargs)
        finally:
            if files is not None:
                await _close_all(files)
    return wrapper


async def _close_all(files):
    for key in files:
        for fu in files.getlist(key):
            await fu.close()


def __getattr__(name):
    """Upstream's re-exported ``AsyncBytesIO``, resolved on first use (PEP 562)."""
    if name == 'AsyncBytesIO':
        from microdot.streams import AsyncBytesIO
        return AsyncBytesIO
    raise AttributeError(name)
