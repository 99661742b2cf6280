"""``Set-Cookie`` values: the body of ``Response.set_cookie`` (imported on first use)."""

_WEEKDAYS = ('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')
_MONTHS = ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct',
           'Nov', 'Dec')


def http_date(value):
    """Format an expiry given as a string (kept as is), epoch seconds or a datetime."""
    if isinstance(value, str):
        return value
    if hasattr(value, 'strftime'):
        return value.strftime('%a, %d %b %Y %H:%M:%S GMT')
    import time
    t = time.gmtime(int(value))
    return '%s, %02d %s %04d %02d:%02d:%02d GMT' % (
        _WEEKDAYS[t[6]], t[2], _MONTHS[t[1] - 1], t[0], t[3], t[4], t[5])


def set_cookie(headers, cookie, value, path=None, domain=None, expires=None, max_age=None,
               secure=False, http_only=False, partitioned=False, same_site=None):
    """Add one ``Set-Cookie`` value to ``headers`` (a response's NoCaseDict)."""
    if ';' in value:
        raise ValueError('invalid cookie value')
    parts = [cookie + '=' + value]
    if path:
        parts.append('Path=' + path)
    if domain:
        parts.append('Domain=' + domain)
    if expires:
        parts.append('Expires=' + http_date(expires))
    if max_age is not None:
        parts.append('Max-Age=' + str(max_age))
    if secure:
        parts.append('Secure')
    if http_only:
        parts.append('HttpOnly')
    if partitioned:
        parts.append('Partitioned')
    if same_site:
        parts.append('SameSite=' + same_site)
    value = '; '.join(parts)
    if '\r' in value or '\n' in value:
        raise ValueError('invalid cookie')
    current = headers.get('Set-Cookie')
    if current is None:
        headers['Set-Cookie'] = [value]
    elif isinstance(current, list):
        current.append(value)
    else:
        headers['Set-Cookie'] = [current, value]
