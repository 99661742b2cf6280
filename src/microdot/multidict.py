"""Request data made on first use (imported then): dicts with several values per key,
query strings parsed into one, and the other attributes ``Request.__getattr__`` makes."""
from microdot.base import _decode


def urldecode_bytes(s):
    """Decode a percent-encoded ``bytes`` value (``+`` is a space) to ``str``, as
    upstream does: a ``%`` with nothing after it stays, one hex digit is enough, other
    broken escapes and invalid UTF-8 raise ``ValueError``."""
    if b'+' in s:
        s = s.replace(b'+', b' ')
    if b'%' not in s:
        return _decode(s)
    parts = s.split(b'%')
    out = bytearray(parts[0])
    for part in parts[1:]:
        if not part:
            out.append(37)
            continue
        n = int(part[:2], 16)
        if n < 0:
            raise ValueError('bad escape')
        out.append(n)
        out += part[2:]
    return _decode(bytes(out))


def urldecode_str(s):
    """Decode a percent-encoded ``str``; see :func:`urldecode_bytes`."""
    if '%' not in s and '+' not in s:
        return s
    return urldecode_bytes(s.encode())


def urldecode(s):
    """Decode a percent-encoded ``str`` or ``bytes`` value to ``str``."""
    return urldecode_bytes(s) if isinstance(s, bytes) else urldecode_str(s)


class MultiDict(dict):
    """A dict that can hold several values per key.

    Each key holds the list of its values (so ``items()``, ``values()`` and JSON see
    lists, as upstream's); indexing and :meth:`get` return the first value,
    :meth:`getlist` all of them.
    """
    def __init__(self, initial_dict=None):
        super().__init__()
        if initial_dict:
            items = initial_dict.items() if hasattr(initial_dict, 'items') else initial_dict
            for key, value in items:
                self[key] = value

    def __setitem__(self, key, value):
        values = super().get(key)
        if values is None:
            super().__setitem__(key, [value])
        else:
            values.append(value)

    def __getitem__(self, key):
        return super().__getitem__(key)[0]

    def get(self, key, default=None, type=None):
        """The first value for ``key`` (converted with ``type``), or ``default``."""
        values = super().get(key)
        if values is None:
            return default
        return values[0] if type is None else type(values[0])

    def getlist(self, key, type=None):
        """Every value for ``key`` (converted with ``type``); [] when there is none."""
        values = super().get(key)
        if values is None:
            return []
        return values if type is None else [type(v) for v in values]


def parse_qs(qs):
    """Parse ``a=1&b=2`` (str, or bytes for a form body) into a :class:`MultiDict`.

    A name without ``=`` gets an empty value ('' for str, b'' for bytes, as upstream);
    a broken escape raises ValueError.
    """
    md = MultiDict()
    if qs:
        if isinstance(qs, bytes):
            decode, sep, eq, empty = urldecode_bytes, b'&', b'=', b''
        else:
            decode, sep, eq, empty = urldecode_str, '&', '=', ''
        for item in qs.split(sep):
            if item:
                name, found, value = item.partition(eq)
                md[decode(name)] = decode(value) if found else empty
    return md


def urlencode(s):
    """Upstream's ``microdot.microdot.urlencode``: escapes ``+ % ? # & =`` and turns
    spaces into ``+`` (the kit's own percent-encoder is ``microdot.helpers.urlencode``)."""
    return s.replace('+', '%2B').replace(' ', '+').replace('%', '%25').replace(
        '?', '%3F').replace('#', '%23').replace('&', '%26').replace('=', '%3D')


def request_attr(req, name):
    """The value of a Request attribute made on first use (``Request.__getattr__``);
    those that cannot change once read are kept on the request."""
    if name == 'query_string' or name == 'url_args' or name == 'sock' or name == 'route':
        return None  # not given, or not set yet
    if name == 'url_prefix':
        return ''
    if name == 'scheme':
        return 'http'
    if name == 'body_used':
        return False
    if name == 'url':  # the target as sent, from the parsed path and query string
        qs = req.query_string
        return req.path if qs is None else req.path + '?' + qs
    if name == 'content_length':  # the length the client declared (0 without one)
        cl = req.headers.get('Content-Length')
        return int(cl) if cl else 0
    if name == 'content_type':
        value = req.headers.get('Content-Type')
    elif name == 'client_addr':  # (host, port), or None when the transport does not say
        value = None
        sock = req.sock
        if sock is not None:
            try:
                value = sock[1].get_extra_info('peername')
            except Exception:
                pass
    elif name == 'g':  # request-scoped storage
        value = req._g = req.G()
    elif name == 'args':  # the query string as a MultiDict
        value = parse_qs(req.query_string)
    elif name == 'cookies':  # the cookies the client sent, as a dict
        value = {}
        hdr = req.headers.get('Cookie')
        if hdr is not None:
            for item in hdr.split(';'):
                key, _, v = item.strip().partition('=')
                value[key] = v
    elif name == '_json' or name == '_form':  # the body parsed, or None for another type
        ct = req.content_type
        if (ct.split(';', 1)[0] if ct else None) != ('application/json' if name == '_json'
                                                     else 'application/x-www-form-urlencoded'):
            return None
        if name == '_json':
            import json
            value = json.loads(req.body.decode())
        else:
            value = parse_qs(req.body)
    else:
        raise AttributeError(name)
    setattr(req, name, value)
    return value
