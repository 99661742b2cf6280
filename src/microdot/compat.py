"""CPython versions of the runtime helpers microdot.base gives the framework (never frozen:
MicroPython does not load this module, so its bytecode costs a board nothing)."""
import asyncio
import inspect
from functools import partial
from time import monotonic


def const(value):
    """MicroPython's ``micropython.const``: the value itself."""
    return value


def ticks_ms():
    return int(monotonic() * 1000)


def ticks_diff(a, b):
    return a - b


def _is_async(f):
    if inspect.iscoroutinefunction(f):
        return True
    call = getattr(f, '__call__', None)
    return call is not None and inspect.iscoroutinefunction(call)


async def invoke(handler, *args, **kwargs):
    """Call a sync or async handler; sync ones run in the default executor (the parameter
    is named as in upstream's ``invoke_handler``, which this is on CPython)."""
    if _is_async(handler):
        return await handler(*args, **kwargs)
    ret = await asyncio.get_running_loop().run_in_executor(None, partial(handler, *args, **kwargs))
    if inspect.isawaitable(ret):
        ret = await ret
    return ret


def print_exc(exc):
    import traceback
    traceback.print_exception(type(exc), exc, exc.__traceback__)


def decode(b):
    return b.decode()
