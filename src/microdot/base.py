"""The primitives every module of the framework shares: the runtime shims (ticks, handler
calls, tracebacks, strict UTF-8) and :class:`HTTPException` (URL decoding, which only
request data needs, is in ``microdot.multidict``).

The bottom layer: it imports nothing of the framework (only ``microdot.compat`` on
CPython). The core and the modules it imports on first use take these names from here,
so none of them imports the core back. ``microdot.microdot`` still offers each of them
(those it does not use itself through its module ``__getattr__``).
"""
_MICROPYTHON = __import__('sys').implementation.name == 'micropython'  # (no global for sys)

if _MICROPYTHON:
    from time import ticks_ms, ticks_diff  # noqa: F401

    _GEN_TYPE = type(lambda: (yield))  # an async def is a generator function here
    _GENOBJ_TYPE = type((lambda: (yield))())

    async def invoke_handler(f, *args, **kwargs):
        """Call a handler, sync or async, and return its result."""
        t = type(f)
        if t is _GEN_TYPE:
            return await f(*args, **kwargs)
        ret = f(*args, **kwargs)
        if type(ret) is _GENOBJ_TYPE:
            # a closure, bound method or callable object that was an async def
            ret = await ret
        return ret

    from sys import print_exception as _print_exc

    def _decode(b):
        """``b.decode()`` that also refuses the overlong forms, surrogates and code points
        past U+10FFFF which MicroPython's decoder lets through (ValueError)."""
        s = b.decode()
        if len(s) != len(b):
            p = 0
            for c in b:
                if c == 0xc0 or c == 0xc1 or c > 0xf4 or (p == 0xe0 and c < 0xa0) or \
                        (p == 0xed and c > 0x9f) or (p == 0xf0 and c < 0x90) or \
                        (p == 0xf4 and c > 0x8f):
                    raise ValueError('bad utf-8')
                p = c
        return s
else:
    from microdot.compat import ticks_ms, ticks_diff, invoke as invoke_handler, \
        print_exc as _print_exc, decode as _decode  # noqa: F401
    _GEN_TYPE = None  # only MicroPython's core looks for it


class HTTPException(Exception):
    """Raise to end the request with an HTTP error status; ``reason`` is the body."""
    def __init__(self, status_code, reason=None):
        super(HTTPException, self).__init__(status_code, reason)  # (no closure)
        self.status_code = status_code
        self.reason = reason or str(status_code) + ' error'


if not _MICROPYTHON:  # tracebacks and pickle name it where it is documented (and upstream's)
    HTTPException.__module__ = 'microdot.microdot'
