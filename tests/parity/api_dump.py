"""Describe a microdot package's public API as JSON (CPython; run in its own process).

Usage: python api_dump.py LIBDIR walk              # every public name of MODULES, from dir()
       python api_dump.py LIBDIR probe SPEC.json   # look up exactly the names SPEC lists

'walk' lists what upstream exposes; 'probe' resolves each listed name with getattr() (so
names a module provides lazily through __getattr__ are found, without dir() seeing them).
Output: {"modules": {mod: {"error": str} | {"names": {name: desc}}}} where desc is
{"kind": "class"|"function"|"value"|"missing", "sig": [...], "attrs": {attr: desc}}
and a signature is a list of [name, kind, has_default] (kind: "pos", "poskw", "kw",
"args", "kwargs"); a method's is as called on an instance (self left out).
"""
import importlib
import inspect
import json
import os
import sys

MODULES = ["microdot", "microdot.microdot", "microdot.test_client"] + [
    "microdot." + m for m in ("asgi", "auth", "cors", "csrf", "helpers", "jinja", "login",
                              "multipart", "session", "sse", "utemplate", "websocket", "wsgi")]

#: names upstream takes from the standard library but defines itself where MicroPython lacks
#: them, or re-exports in its package: part of its API although their origin is not microdot
STDLIB_API = {"microdot": ("iscoroutine",), "microdot.microdot": ("iscoroutine", "iscoroutinefunction"),
              "microdot.helpers": ("wraps",)}

_KINDS = {inspect.Parameter.POSITIONAL_ONLY: "pos", inspect.Parameter.POSITIONAL_OR_KEYWORD: "poskw",
          inspect.Parameter.KEYWORD_ONLY: "kw", inspect.Parameter.VAR_POSITIONAL: "args",
          inspect.Parameter.VAR_KEYWORD: "kwargs"}


def signature(obj, drop_first=False):
    try:
        params = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return None
    if drop_first and params and params[0].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                    inspect.Parameter.POSITIONAL_OR_KEYWORD):
        params = params[1:]
    return [[p.name, _KINDS[p.kind], p.default is not inspect.Parameter.empty] for p in params]


def describe_attr(cls, name):
    try:
        static = inspect.getattr_static(cls, name)
    except AttributeError:
        try:  # a metaclass or __getattr__-provided attribute
            getattr(cls, name)
        except AttributeError:
            return {"kind": "missing"}
        return {"kind": "value"}
    if isinstance(static, staticmethod):
        return {"kind": "staticmethod", "sig": signature(static.__func__)}
    if isinstance(static, classmethod):
        return {"kind": "classmethod", "sig": signature(static.__func__, drop_first=True)}
    if isinstance(static, property):
        return {"kind": "property", "settable": static.fset is not None}
    if inspect.isfunction(static):
        return {"kind": "method", "sig": signature(static, drop_first=True)}
    if inspect.isclass(static):
        return {"kind": "class", "sig": signature(static)}
    if hasattr(static, "__get__") and not isinstance(static, (int, str, bytes, float, tuple, list, dict)):
        return {"kind": "descriptor"}
    return {"kind": "value", "type": type(static).__name__, "value": simple(static)}


def simple(value):
    """A plain value as JSON (numbers, strings, None, and lists/dicts of them), else None."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"v": value}
    if isinstance(value, (list, tuple)) and all(simple(v) is not None for v in value):
        return {"v": [simple(v)["v"] for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) and simple(v) is not None
                                       for k, v in value.items()):
        return {"v": {k: simple(v)["v"] for k, v in value.items()}}
    return None


def describe(obj, module_name, attrs=None):
    if inspect.isclass(obj):
        home = "%s.%s" % (obj.__module__, obj.__qualname__)
        if attrs is None and obj.__module__ != module_name:
            # a class re-exported from another module: its members are checked at home
            return {"kind": "class", "sig": signature(obj), "alias_of": home}
        names = attrs if attrs is not None else sorted(
            n for n in dir(obj) if not n.startswith("_") and _own_api(obj, n, module_name))
        return {"kind": "class", "sig": signature(obj),
                "attrs": {n: describe_attr(obj, n) for n in names}}
    if inspect.isroutine(obj):
        return {"kind": "function", "sig": signature(obj)}
    return {"kind": "value", "type": type(obj).__name__, "value": simple(obj)}


def _own_api(cls, name, module_name):
    """An attribute that comes from a microdot class (not from object/Exception/dict...)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return (klass.__module__ or "").startswith("microdot")
    return True


def public_names(mod):
    """Public names a module defines or re-exports from microdot itself: not its imported
    stdlib modules and helpers (``asyncio``, ``json``...)."""
    out = []
    for name in sorted(dir(mod)):
        if name.startswith("_"):
            continue
        obj = getattr(mod, name)
        if inspect.ismodule(obj):
            continue
        origin = getattr(obj, "__module__", None)
        if (inspect.isclass(obj) or inspect.isroutine(obj)) and origin and \
                not origin.startswith("microdot") and name not in STDLIB_API.get(mod.__name__, ()):
            continue
        out.append(name)
    return out


def walk():
    out = {}
    for modname in MODULES:
        try:
            mod = importlib.import_module(modname)
        except Exception as exc:
            out[modname] = {"error": "%s: %s" % (type(exc).__name__, exc)}
            continue
        out[modname] = {"names": {n: describe(getattr(mod, n), modname) for n in public_names(mod)}}
    return out


def probe(spec):
    out = {}
    for modname, entry in spec.items():
        try:
            mod = importlib.import_module(modname)
        except Exception as exc:
            out[modname] = {"error": "%s: %s" % (type(exc).__name__, exc)}
            continue
        names = {}
        for name, desc in (entry.get("names") or {}).items():
            try:
                obj = getattr(mod, name)
            except AttributeError:
                names[name] = {"kind": "missing"}
                continue
            attrs = sorted(desc.get("attrs") or {}) if desc.get("kind") == "class" else None
            names[name] = describe(obj, modname, attrs)
        out[modname] = {"names": names}
    return out


def main(argv):
    libdir, mode = argv[0], argv[1]
    sys.path.insert(0, libdir)
    sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), ".cache", "vendor"))  # utemplate
    import microdot
    if mode == "walk":
        result = walk()
    else:
        with open(argv[2]) as f:
            result = probe(json.load(f))
    print(json.dumps({"file": microdot.__file__, "modules": result}))


if __name__ == "__main__":
    main(sys.argv[1:])
