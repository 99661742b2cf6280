"""Which of the listed names a microdot package provides on MicroPython (no inspect there).

Usage: micropython api_probe_mp.py LIBDIR SPEC.json
SPEC: {module: [name, ...]}. Prints {module: [missing names]} or {module: "import: error"}.
Each name is looked up with getattr(), so a module's __getattr__ (PEP 562) counts.
"""
import json
import sys


def main(argv):
    libdir, spec_file = argv[0], argv[1]
    root = argv[2] if len(argv) > 2 else None
    sys.path.insert(0, libdir)
    if root:
        sys.path.append(root + '/.cache/vendor')  # utemplate
    with open(spec_file) as f:
        spec = json.loads(f.read())
    out = {}
    for modname in spec:
        try:
            mod = __import__(modname, None, None, ['_'])
        except Exception as exc:
            out[modname] = 'import: %s: %s' % (type(exc).__name__, exc)
            continue
        missing = []
        for name in spec[modname]:
            try:
                getattr(mod, name)
            except AttributeError:
                missing.append(name)
        out[modname] = missing
    print(json.dumps(out))


main(sys.argv[1:])
