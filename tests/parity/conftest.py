"""Parity suite set-up: the oracle (upstream Microdot, fetched by tools/dev/oracle.py), the
MicroPython binary, one-line skip reasons, and the closing count line."""
import pytest

import harness

#: filled by the tests; printed by pytest_terminal_summary
STATS = harness.STATS

_oracle = {}


def oracle_dir():
    """The directory holding upstream's ``microdot`` package, or pytest.skip with why."""
    if "dir" not in _oracle:
        from tools.dev import oracle
        try:
            _oracle["dir"], _ = oracle.fetch(oracle.VERSION)
        except oracle.OracleError as exc:
            _oracle["dir"], _oracle["why"] = None, str(exc)
    if _oracle["dir"] is None:
        pytest.skip("parity: upstream Microdot %s unavailable: %s" % (_version(), _oracle["why"]))
    return _oracle["dir"]


def _version():
    from tools.dev import oracle
    return oracle.VERSION


def need_runtime(runtime):
    """Skip (one line) when ``runtime``'s interpreter is missing."""
    if runtime == "micropython":
        from tools.dev import mptest
        try:
            mptest.find_micropython()
        except mptest.MPTestError as exc:
            pytest.skip("parity: %s" % exc)


@pytest.fixture
def upstream_dir():
    return oracle_dir()


@pytest.fixture(name="need_runtime")
def _need_runtime_fixture():
    return need_runtime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Report every parity skip at one place, so that one missing oracle (or MicroPython)
    is one line in the summary, not one per test file."""
    outcome = yield
    rep = outcome.get_result()
    longrepr = rep.longrepr
    if rep.skipped and isinstance(longrepr, tuple) and len(longrepr) == 3 \
            and str(longrepr[2]).startswith("Skipped: parity:"):
        rep.longrepr = (__file__, 0, longrepr[2])


def pytest_terminal_summary(terminalreporter):
    for line in (harness.unshown_line(), harness.allowed_line(), harness.summary_line()):
        if line:
            terminalreporter.write_line(line)
