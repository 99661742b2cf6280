"""Microdot-compatible web framework for MicroPython and CPython (the kit's frozen core)."""
from microdot.microdot import (  # noqa: F401
    Microdot, Request, Response, URLPattern, HTTPException, NoCaseDict,
    abort, redirect, send_file, urldecode, urldecode_str, urldecode_bytes, invoke_handler,
)

__version__ = '2.7.0+kit.1'

# rarely used names: their module is imported on first use (PEP 562; MicroPython has it too)
_LAZY = {'MultiDict': 'multidict', 'AsyncBytesIO': 'streams', 'urlencode': 'helpers',
         'iscoroutine': 'microdot'}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is not None:
        return getattr(__import__('microdot.' + module, None, None, [name]), name)
    if name == '__path__' and _PATHS:  # only while _load() looks up one module beside us
        return _PATHS.pop(0) if len(_PATHS) > 1 else _PATHS[0]
    if name in _BESIDE:
        return _load(name)
    if name[0] != '_' and isinstance(globals().get('__path__'), str):
        # MicroPython asks here before importing a submodule for `from microdot import sse`
        try:
            return __import__('microdot.' + name, None, None, [name])
        except ImportError:
            pass
    raise AttributeError(name)


# `make deploy` puts the modules a board's firmware lacks in /lib/microdot/ (tools/deploy.py).
# MicroPython gives a package one folder (__path__), so a frozen microdot never finds them: each
# is registered in sys.modules as a stand-in that imports it from its folder on first use.
_BESIDE = {}
_PATHS = []


def _load(name):
    import sys
    full = 'microdot.' + name
    mod = sys.modules.get(full)
    if mod is not None and not isinstance(mod, _Beside):
        return mod
    sys.modules.pop(full, None)
    g = globals()
    here = g.pop('__path__')
    _PATHS[:] = [_BESIDE[name], here]  # the first look-up (this module) goes to its folder
    try:
        return __import__(full, None, None, [name])
    finally:
        g['__path__'] = here
        _PATHS[:] = []


class _Beside:
    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        return getattr(_load(self._name), attr)


def _find_beside():
    here = globals().get('__path__')
    if not isinstance(here, str):
        return  # CPython: __path__ is a list and the import system does this itself
    import sys
    from os import listdir
    for p in sys.path:
        folder = p + '/microdot' if p else 'microdot'
        if folder == here:
            continue
        try:
            files = listdir(folder)
        except OSError:
            continue
        for f in files:
            n, _, ext = f.rpartition('.')
            if (ext == 'mpy' or ext == 'py') and n != '__init__' and n not in _BESIDE \
                    and 'microdot.' + n not in sys.modules:
                _BESIDE[n] = folder
                sys.modules['microdot.' + n] = _Beside(n)


_find_beside()
