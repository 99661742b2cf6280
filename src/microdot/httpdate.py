"""Dates in the format HTTP headers use (cookie expiry), imported on first use."""

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
