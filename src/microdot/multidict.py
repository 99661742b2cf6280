"""Dicts with several values per key, and query strings parsed into one (imported on
first use of ``Request.args`` or ``Request.form``)."""
from microdot.microdot import urldecode_str


class MultiDict(dict):
    """A dict that can hold several values per key.

    Indexing and :meth:`get` return the first value; :meth:`getlist` returns all.
    """
    def __init__(self, initial=None):
        super().__init__()
        if initial:
            items = initial.items() if hasattr(initial, 'items') else initial
            for key, value in items:
                self[key] = value

    def __setitem__(self, key, value):
        if key in self:
            super().__getitem__(key).append(value)
        else:
            super().__setitem__(key, [value])

    def __getitem__(self, key):
        return super().__getitem__(key)[0]

    def get(self, key, default=None, type=None):
        if key not in self:
            return default
        value = self[key]
        if type is not None:
            try:
                value = type(value)
            except ValueError:
                value = default
        return value

    def getlist(self, key, type=None):
        if key not in self:
            return []
        values = super().__getitem__(key)
        if type is None:
            return list(values)
        return [type(v) for v in values]

    def items(self):
        return [(k, super(MultiDict, self).__getitem__(k)[0]) for k in self]

    def values(self):
        return [super(MultiDict, self).__getitem__(k)[0] for k in self]


def parse_qs(qs):
    """Parse ``a=1&b=2`` (str) into a :class:`MultiDict`; ValueError on bad escapes."""
    md = MultiDict()
    if qs:
        for item in qs.split('&'):
            if not item:
                continue
            name, _, value = item.partition('=')
            md[urldecode_str(name) if '%' in name or '+' in name else name] = \
                urldecode_str(value) if '%' in value or '+' in value else value
    return md
