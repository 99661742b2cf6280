"""Helpers for the example tests: start an example on the virtual board (tools.targets, through the
Target interface) for one test and always stop it; find Debian's chromium."""
import contextlib
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _skip_reason():
    try:
        from tools.targets import virtual
        virtual.find_micropython()
        virtual.find_mpy_cross()
    except Exception as exc:  # VirtualError: no binaries in this environment
        return "virtual board unavailable: %s" % exc
    return None


@contextlib.contextmanager
def running(name, board="UNIX", **kwargs):
    """``with running('gpio') as vb:`` - the example served by MicroPython; ``vb.url``.

    ``board``/``firmware="stock"``: the virtual board holds what that board has after `make deploy`.
    """
    from tools.targets.select import open_target

    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    with open_target(board, app=EXAMPLES / name, quiet=True, **kwargs) as vb:
        try:
            yield vb
        except BaseException:
            tail = vb.console.read()
            if tail:
                print("--- output of examples/%s on the virtual board:\n%s" % (name, tail))
            raise


def chromium():
    """Path of Debian's chromium, or None."""
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
