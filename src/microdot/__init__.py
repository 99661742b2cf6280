"""Microdot-compatible web framework for MicroPython and CPython (the kit's frozen core)."""
from microdot.microdot import (  # noqa: F401
    Microdot, Request, Response, URLPattern, HTTPException, NoCaseDict, MultiDict,
    abort, redirect, send_file, urldecode, urldecode_str, urldecode_bytes, invoke_handler,
)

__version__ = '2.7.0+kit.1'


def __getattr__(name):
    # rarely used names load their module on first use (PEP 562; MicroPython has it too)
    if name == 'AsyncBytesIO':
        from microdot.streams import AsyncBytesIO
        return AsyncBytesIO
    if name == 'urlencode':
        from microdot.helpers import urlencode
        return urlencode
    raise AttributeError(name)
