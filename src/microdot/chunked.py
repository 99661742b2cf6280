"""Request bodies sent with ``Transfer-Encoding: chunked`` (imported on first use)."""
from microdot.base import HTTPException

_HEX = b'0123456789abcdefABCDEF'


async def read_chunked(reader, limits):
    """Read a whole chunked body from ``reader`` (a ConnectionReader) and return it.

    ``limits`` is the Request class: its max_readline, max_headers and
    max_content_length apply. A malformed body raises HTTPException(400), a body that
    is too large 413, too many trailer lines 431.
    """
    max_line = limits.max_readline
    body = b''
    try:
        while True:
            line = await reader.readline(max_line)
            if len(line) > max_line:
                raise HTTPException(400)
            size = line.split(b';', 1)[0].strip()
            if not size or any(c not in _HEX for c in size):
                raise HTTPException(400)
            size = int(size, 16)
            if size == 0:
                for _ in range((limits.max_headers or 64) + 1):  # trailers, dropped
                    if not (await reader.readline(max_line)).strip():
                        return body
                raise HTTPException(431)
            if len(body) + size > limits.max_content_length:
                raise HTTPException(413)
            body += await reader.readexactly(size)
            if (await reader.readexactly(2)) != b'\r\n':
                raise HTTPException(400)
    except EOFError:
        raise HTTPException(400)
