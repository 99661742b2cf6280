"""Small helpers shared by the core and the extensions (no imports beyond the stdlib)."""

try:
    from functools import wraps
except ImportError:  # MicroPython without functools
    def wraps(wrapped):
        """Copy the name and docstring of ``wrapped`` onto the decorated wrapper, where allowed."""
        def decorator(wrapper):
            for attr in ('__name__', '__doc__', '__qualname__', '__module__'):
                try:
                    setattr(wrapper, attr, getattr(wrapped, attr))
                except (AttributeError, TypeError):
                    pass
            return wrapper
        return decorator


def ct_equal(a, b):
    """Compare two byte strings in time that depends only on their lengths."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    diff = len(a) ^ len(b)
    if len(a) != len(b):
        b = a
    for x, y in zip(a, b):
        diff |= x ^ y
    return diff == 0


_SAFE = b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~'


def urlencode(s):
    """Percent-encode a ``str`` for use in a query string (spaces become ``+``)."""
    out = []
    for c in s.encode() if isinstance(s, str) else s:
        if c in _SAFE:
            out.append(chr(c))
        elif c == 32:
            out.append('+')
        else:
            out.append('%%%02X' % c)
    return ''.join(out)


def mro(cls):
    """The classes to look up error handlers for, most specific first."""
    found = getattr(cls, '__mro__', None)
    if found is not None:
        return found
    found = [cls]  # MicroPython: depth first, keeping the last of repeated bases
    for base in getattr(cls, '__bases__', ()):
        found += mro(base)
    out = []
    for i, c in enumerate(found):
        if c not in found[i + 1:]:
            out.append(c)
    return out


def add_vary(res, names):
    """Name ``names`` in the response's ``Vary`` header (the core calls it for the names
    ``microdot.cors.vary_on`` noted); built as upstream builds it (a set), so the order
    matches upstream's on MicroPython."""
    current = res.headers.get('Vary')
    if current:
        vary = set([v.strip() for v in current.split(',')])
        vary.update(names)
        names = vary
    res.headers['Vary'] = ', '.join(list(names))
