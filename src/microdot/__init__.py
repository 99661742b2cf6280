"""Microdot-compatible web framework for MicroPython and CPython (the kit's frozen core)."""
from microdot.microdot import (  # noqa: F401
    Microdot, Request, Response, URLPattern, abort, redirect, send_file,
)

__version__ = '2.7.0+kit.1'


def __getattr__(name):
    # rarely used names, from microdot.microdot (which finds them in microdot.base or
    # imports their module on first use: PEP 562, MicroPython has it too); the kit's
    # urlencode from microdot.helpers
    if name in ('HTTPException', 'NoCaseDict', 'urldecode', 'urldecode_str', 'urldecode_bytes',
                'invoke_handler', 'MultiDict', 'AsyncBytesIO', 'iscoroutine', 'urlencode'):
        module = 'helpers' if name == 'urlencode' else 'microdot'
        return getattr(__import__('microdot.' + module, None, None, [name]), name)
    if _BESIDE:
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


# `make deploy` puts the modules a board's firmware lacks in /lib/microdot/ (tools/device/deploy.py).
# MicroPython gives a package one folder (__path__), so a frozen microdot never finds them: each
# is registered in sys.modules as a stand-in that imports it from its folder on first use.
def _BESIDE(here):  # (run once, below: its result takes its name, so its code is not kept)
    """{module: folder} for the modules in a ``microdot`` folder of each sys.path entry other
    than ``here`` (this package's folder) that are not imported yet. It never raises: without
    a listdir nothing is looked for, and a folder that cannot be listed is skipped."""
    found = {}
    if not isinstance(here, str):
        return found  # CPython: __path__ is a list and the import system does this itself
    import sys
    try:
        from os import listdir
    except ImportError:  # no os, or a module on sys.path shadows it without a listdir
        try:
            from uos import listdir  # MicroPython's own, whatever shadows it
        except ImportError:
            return found
    for p in sys.path:
        if not isinstance(p, str):
            continue
        folder = p + '/microdot' if p else 'microdot'
        if folder == here:
            continue
        try:
            files = listdir(folder)
        except OSError:
            continue
        for f in files:
            n, _, ext = f.rpartition('.')
            if (ext == 'mpy' or ext == 'py') and n != '__init__' and n not in found \
                    and 'microdot.' + n not in sys.modules:
                found[n] = folder
    return found


_BESIDE = _BESIDE(globals().get('__path__'))

if _BESIDE:  # the stand-ins and their loader exist only when there is something beside us
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

    import sys
    for _n in _BESIDE:
        sys.modules['microdot.' + _n] = _Beside(_n)
    del sys, _n
