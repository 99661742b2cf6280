"""Run the framework test modules on MicroPython (pytest runs the same files on CPython).

Usage: micropython tests/framework/mprunner.py [test_module.py ...]
Finds ``test_*`` functions and ``Test*`` classes' ``test_*`` methods, runs coroutine
tests with asyncio, prints each failure's traceback and a closing count line.
Exit status 1 if any test failed.
"""
import asyncio
import os
import sys

HERE = __file__.rsplit('/', 1)[0] if '/' in __file__ else '.'
if not HERE.startswith('/'):  # absolute, so lazy imports still work after a test's chdir
    HERE = os.getcwd() + '/' + HERE
ROOT = HERE + '/../..'
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT + '/src')
sys.path.insert(0, ROOT + '/.cache/vendor')

_GEN = type((lambda: (yield))())


def _run(fn):
    ret = fn()
    if type(ret) is _GEN:  # an async def test
        asyncio.run(ret)
        asyncio.new_event_loop()


def _tests(module):
    for name in sorted(dir(module)):
        obj = getattr(module, name)
        if name.startswith('test_') and callable(obj):
            yield name, obj
        elif name.startswith('Test') and isinstance(obj, type):
            for meth in sorted(dir(obj)):
                if meth.startswith('test_'):
                    yield name + '.' + meth, getattr(obj(), meth)


import support  # noqa: E402


def main(argv):
    files = argv or sorted(f for f in os.listdir(HERE) if f.startswith('test_') and f.endswith('.py'))
    passed = failed = skipped = 0
    failures = []
    for fname in files:
        modname = fname.rsplit('/', 1)[-1][:-3]
        try:
            module = __import__(modname)
        except Exception as exc:
            failed += 1
            failures.append(modname)
            print('ERROR importing %s:' % modname)
            sys.print_exception(exc)
            continue
        for name, fn in _tests(module):
            label = '%s::%s' % (fname, name)
            reason = support.SKIPPED.get(id(fn)) or getattr(fn, 'skip_reason', None)
            if reason:
                skipped += 1
                continue
            try:
                _run(fn)
                passed += 1
            except Exception as exc:
                failed += 1
                failures.append(label)
                print('FAILED %s' % label)
                sys.print_exception(exc)
    for label in failures:
        print('FAILED ' + label)
    print('micropython: %d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed else 0


sys.exit(main(sys.argv[1:]))
