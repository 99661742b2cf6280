"""Upstream Microdot's module-level names that the core does not use itself
(``from microdot.microdot import MultiDict`` and the like). ``microdot.microdot`` resolves
them from here on first use, so importing the core costs no heap for them."""
from microdot.base import _print_exc as print_exception  # noqa: F401
from microdot.helpers import mro  # noqa: F401
from microdot.multidict import (  # noqa: F401
    MultiDict, urlencode, urldecode, urldecode_str, urldecode_bytes,
)
from microdot.streams import AsyncBytesIO  # noqa: F401

MUTED_SOCKET_ERRORS = [32, 54, 104, 128]  # EPIPE, ECONNRESET (BSD, Linux), closed socket

try:
    from inspect import iscoroutine, iscoroutinefunction  # noqa: F401
except ImportError:  # MicroPython
    def iscoroutine(obj):
        return hasattr(obj, 'send') and hasattr(obj, 'throw')

    def iscoroutinefunction(f):
        from microdot.base import _GEN_TYPE  # an async def is a generator function here
        return type(f) is _GEN_TYPE
