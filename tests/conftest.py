"""pytest set-up shared by every suite.

- async test functions run in a fresh event loop;
- a test module may keep figures in a module-level ``SUMMARY_LINES`` list (strings, or
  callables returning one); they are printed in the terminal summary, before pytest's
  closing count line.
"""
import asyncio
import inspect
import os
import sys

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def pytest_pyfunc_call(pyfuncitem):
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None


def pytest_terminal_summary(terminalreporter):
    for module in list(sys.modules.values()):
        path = getattr(module, '__file__', None) or ''
        if not path.startswith(_TESTS_DIR):
            continue
        for line in getattr(module, 'SUMMARY_LINES', None) or ():
            terminalreporter.write_line(line() if callable(line) else line)
