"""Microdot-compatible web framework for MicroPython and CPython (the kit's frozen core)."""
from microdot.microdot import (  # noqa: F401
    Microdot, Request, Response, URLPattern, HTTPException, NoCaseDict, MultiDict,
    AsyncBytesIO, abort, redirect, send_file, urlencode, urldecode, urldecode_str,
    urldecode_bytes, invoke_handler,
)

__version__ = '2.7.0+kit.1'
