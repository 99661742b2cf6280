"""Differential parity: every app in apps/ runs on upstream Microdot (the oracle) and on
src/microdot, over HTTP and through each one's TestClient, on CPython and MicroPython;
every case's responses must agree by the rules in harness.compare (see docs/compat.md)."""
import pytest

import harness


def _params():
    out = []
    for path in harness.app_files():
        runtimes, modes = harness.app_options(path)
        for mode in harness.MODES:
            for runtime in harness.RUNTIMES:
                if mode in modes and runtime in runtimes:
                    out.append(pytest.param(path, mode, runtime,
                                            id="%s-%s-%s" % (path.stem, mode, runtime)))
    return out


@pytest.mark.parametrize("app,mode,runtime", _params())
def test_parity(upstream_dir, need_runtime, app, mode, runtime):
    need_runtime(runtime)
    up, ours = harness.run_pair(upstream_dir, app, mode, runtime)
    cmp = harness.compare(up, ours)
    harness.record_stats(cmp)
    if cmp.failures:
        pytest.fail("%d difference(s):\n%s" % (len(cmp.failures), cmp.message()), pytrace=False)
