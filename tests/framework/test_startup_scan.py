"""The start-up scan of microdot/__init__.py: on MicroPython, ``import microdot`` looks in a
``microdot`` folder of each sys.path entry for modules deployed beside the package (in
/lib/microdot/). Whatever it meets there, the import must not fail.

Runs under pytest and on MicroPython (mprunner). The package's __init__ is run again in a
namespace of its own, with ``__path__`` a str as MicroPython gives it (CPython's list makes
the scan stop at once), so the scan itself runs on both runtimes.
"""
import os
import random
import sys

import microdot
from support import MICROPYTHON

NOT_A_STR = b'/not-a-str'

#: an os module that lacks listdir (MicroPython lets such a file override its own os)
SHADOW_OS = "sep = '/'\n\n\ndef getcwd():\n    return '/'\n"


def _rmtree(path):
    for name in os.listdir(path):
        full = path + '/' + name
        if os.stat(full)[0] & 0x4000:
            _rmtree(full)
        else:
            os.remove(full)
    os.rmdir(path)


class ShadowedOs:
    """``with ShadowedOs() as d:`` - a temporary folder first on sys.path, holding an os.py
    without listdir that ``import os`` finds meanwhile, and a ``microdot`` folder with one
    module (``d.module``) for the scan to find."""
    def __init__(self):
        tag = '%d_%d' % (random.getrandbits(24), random.getrandbits(24))
        self.root = '/tmp/mdscan_' + tag
        self.module = 'scanned_' + tag

    def __enter__(self):
        os.mkdir(self.root)
        os.mkdir(self.root + '/microdot')
        with open(self.root + '/os.py', 'w') as f:
            f.write(SHADOW_OS)
        with open(self.root + '/microdot/' + self.module + '.py', 'w') as f:
            f.write('X = 1\n')
        self.saved_os = sys.modules.get('os')
        sys.path.insert(0, self.root)
        sys.path.append(NOT_A_STR)  # MicroPython's import takes bytes entries
        if MICROPYTHON:
            sys.modules.pop('os', None)  # its built-in os is not kept there: the file wins
        else:
            # CPython imported os at start-up and never looks on sys.path for it again: put
            # the file's module in its place, as MicroPython's import would find it
            import importlib.util
            spec = importlib.util.spec_from_file_location('os', self.root + '/os.py')
            shadow = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(shadow)
            sys.modules['os'] = shadow
        return self

    def __exit__(self, *exc):
        sys.path.remove(self.root)
        if sys.path[-1] is NOT_A_STR:  # (remove() would compare it with each str)
            sys.path.pop()
        if self.saved_os is None:
            sys.modules.pop('os', None)
        else:
            sys.modules['os'] = self.saved_os
        sys.modules.pop('microdot.' + self.module, None)
        _rmtree(self.root)
        return False


def run_package_init():
    """Run microdot/__init__.py again as MicroPython imports it (``__path__`` a str); return
    its namespace. Its submodules are the ones loaded already."""
    init = microdot.__file__
    with open(init) as f:
        code = compile(f.read(), init, 'exec')
    ns = {'__name__': 'microdot', '__file__': init, '__path__': init.rsplit('/', 1)[0]}
    exec(code, ns)
    return ns


def test_import_survives_an_os_without_listdir():
    with ShadowedOs() as d:
        import os as seen
        assert not hasattr(seen, 'listdir')  # the shadow is what the scan imports
        ns = run_package_init()  # raised ImportError (can't import name listdir) before
        assert ns['Microdot'] is microdot.Microdot
        found = ns['_BESIDE']
        if MICROPYTHON:  # its own os still answers as uos: the module beside is found
            assert found.get(d.module) == d.root + '/microdot'
            assert type(sys.modules['microdot.' + d.module]).__name__ == '_Beside'
        else:  # no listdir anywhere: nothing is looked for
            assert found == {}
    assert hasattr(os, 'listdir')


def test_the_scan_finds_modules_beside_the_package():
    tag = '%d_%d' % (random.getrandbits(24), random.getrandbits(24))
    root = '/tmp/mdscan_' + tag
    name = 'beside_' + tag
    os.mkdir(root)
    os.mkdir(root + '/microdot')
    with open(root + '/microdot/' + name + '.py', 'w') as f:
        f.write('X = 42\n')
    with open(root + '/microdot/notes.txt', 'w') as f:
        f.write('not a module\n')
    sys.path.append(root)
    try:
        ns = run_package_init()
        found = ns['_BESIDE']
        assert found.get(name) == root + '/microdot' and 'notes' not in found
        # a stand-in that imports it on first use (tests/tools/test_appdeps.py imports one)
        assert type(sys.modules['microdot.' + name]).__name__ == '_Beside'
        assert ns['__path__'] == microdot.__file__.rsplit('/', 1)[0]  # put back after the scan
    finally:
        sys.path.remove(root)
        sys.modules.pop('microdot.' + name, None)
        _rmtree(root)
