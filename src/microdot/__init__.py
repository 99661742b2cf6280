"""Microdot-compatible web framework for MicroPython and CPython (the kit's frozen core)."""
from microdot.microdot import (  # noqa: F401
    Microdot, Request, Response, URLPattern, HTTPException, NoCaseDict,
    abort, redirect, send_file, urldecode, urldecode_str, urldecode_bytes, invoke_handler,
)

__version__ = '2.7.0+kit.1'

# rarely used names: their module is imported on first use (PEP 562; MicroPython has it too)
_LAZY = {'MultiDict': 'multidict', 'AsyncBytesIO': 'streams', 'urlencode': 'helpers'}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(__import__('microdot.' + module, None, None, [name]), name)
