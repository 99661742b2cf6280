"""Dicts with several values per key, and query strings parsed into one (imported on
first use of ``Request.args`` or ``Request.form``)."""
from microdot.base import urldecode_str, urldecode_bytes


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
