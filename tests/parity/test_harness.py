"""The parity harness itself: its comparison rules, and that it catches a difference.

Two tiny stand-in ``microdot`` packages (written below into a temp dir, nothing to do with
either real implementation) answer the same app; one variant answers differently, and the
comparison must name each differing field. Identical variants must compare clean.
"""
import textwrap

import pytest

import harness

FAKE_INIT = '''
import asyncio
import json

VARIANT = %(variant)r


class Request:
    def __init__(self, method, path, headers, body):
        self.method, self.path, self.headers, self.body = method, path, headers, body


class Response:
    def __init__(self, body, status_code=200, headers=None):
        if isinstance(body, dict):
            body = json.dumps(body)
            headers = dict(headers or {})
            headers['Content-Type'] = 'application/json'
        self.body = body.encode() if isinstance(body, str) else body
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.headers['Content-Length'] = str(len(self.body))
        if VARIANT == 'different':
            self.headers['Connection'] = 'keep-alive'  # framing: must be tolerated


class Microdot:
    def __init__(self):
        self.routes = {}

    def route(self, path):
        def deco(f):
            self.routes[path] = f
            return f
        return deco

    def dispatch(self, req):
        f = self.routes.get(req.path)
        if f is None:
            return Response('Not found', 404)
        ret = f(req)
        if isinstance(ret, tuple):
            return Response(*ret)
        return Response(ret)

    async def _serve(self, reader, writer):
        line = (await reader.readline()).decode()
        method, path, _ = line.split(' ', 2)
        headers = {}
        while True:
            h = (await reader.readline()).decode().strip()
            if not h:
                break
            k, v = h.split(':', 1)
            headers[k.strip()] = v.strip()
        n = int(headers.get('Content-Length', '0'))
        body = await reader.readexactly(n) if n else b''
        res = self.dispatch(Request(method, path, headers, body))
        head = 'HTTP/1.0 %%d N/A\\r\\n' %% res.status_code
        for k in res.headers:
            head += '%%s: %%s\\r\\n' %% (k, res.headers[k])
        writer.write(head.encode() + b'\\r\\n' + res.body)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    def run(self, host='0.0.0.0', port=5000):
        async def main():
            server = await asyncio.start_server(self._serve, host, port)
            while True:
                await asyncio.sleep(3600)
        asyncio.run(main())
'''

FAKE_TEST_CLIENT = '''
from microdot import Request


class TestResponse:
    def __init__(self, res):
        self.status_code, self.headers, self.body = res.status_code, res.headers, res.body
        self.reason = None
        self.text = res.body.decode()
        self.json = None
        self.events = None


class TestClient:
    def __init__(self, app, cookies=None):
        self.app = app

    async def request(self, method, path, headers=None, body=None):
        body = body.encode() if isinstance(body, str) else (body or b'')
        return TestResponse(self.app.dispatch(Request(method, path, headers or {}, body)))

    async def get(self, path, headers=None):
        return await self.request('GET', path, headers)
'''

APP = '''
from microdot import Microdot, VARIANT

app = Microdot()


@app.route('/')
def index(req):
    return 'HELLO' if VARIANT == 'different' else 'hello'


@app.route('/same')
def same(req):
    return 'same', 200, {'X-Both': '1'}


@app.route('/status')
def status(req):
    return 'made', 201 if VARIANT == 'different' else 200


@app.route('/headers')
def headers(req):
    if VARIANT == 'different':
        return 'h', 200, {'X-Extra': 'yes'}
    return 'h', 200, {'X-Up': 'only'}


@app.route('/echo')
def echo(req):
    return req.body


CASES = [
    ('GET', '/same'),
    ('GET', '/'),
    ('GET', '/status'),
    ('GET', '/headers'),
    ('POST', '/echo', {'Content-Type': 'text/plain'}, b'x\\x00y'),
    {'method': 'GET', 'path': '/', 'differs': 'D900', 'name': 'listed'},
    ('GET', '/missing'),
]


async def script(client, log):
    res = await client.get('/')
    log('first', res, {'n': 1})
    if VARIANT == 'different':
        raise ValueError('only here')
'''


def _fake(tmp_path, variant):
    root = tmp_path / variant
    pkg = root / "microdot"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(FAKE_INIT % {"variant": variant})
    (pkg / "test_client.py").write_text(FAKE_TEST_CLIENT)
    return root


@pytest.fixture
def fakes(tmp_path):
    apps = tmp_path / "apps"
    apps.mkdir()
    app = apps / "fake_app.py"
    app.write_text(textwrap.dedent(APP))
    return _fake(tmp_path, "same"), _fake(tmp_path, "twin"), _fake(tmp_path, "different"), app


RUNS = [("http", "cpython"), ("testclient", "cpython"), ("http", "micropython"),
        ("testclient", "micropython")]


@pytest.mark.parametrize("mode,runtime", RUNS, ids=["-".join(r) for r in RUNS])
def test_identical_implementations_compare_clean(fakes, need_runtime, mode, runtime):
    need_runtime(runtime)
    same, twin, _, app = fakes
    up, ours = harness.run_pair(same, app, mode, runtime, ours_dir=twin)
    cmp = harness.compare(up, ours, ids={"D900"})
    assert cmp.failures == []
    assert cmp.compared == 7 + (1 if mode == "testclient" else 0)  # the script's log too
    assert up.impl_file.startswith(str(same)) and ours.impl_file.startswith(str(twin))


@pytest.mark.parametrize("mode,runtime", RUNS, ids=["-".join(r) for r in RUNS])
def test_a_different_implementation_fails_with_each_field_named(fakes, need_runtime, mode, runtime):
    need_runtime(runtime)
    same, _, different, app = fakes
    up, ours = harness.run_pair(same, app, mode, runtime, ours_dir=different)
    cmp = harness.compare(up, ours, ids={"D900"})
    text = cmp.message()
    where = "fake_app [%s, %s]" % (runtime, mode)
    assert "%s case 1 (GET /): body differs\n    upstream: b'hello'\n    ours:     b'HELLO'" % where in text
    assert "case 2 (GET /status): status differs\n    upstream: 200\n    ours:     201" in text
    x_up = "'x-up'" if mode == "http" else "'X-Up'"
    x_extra = "'x-extra'" if mode == "http" else "'X-Extra'"
    assert "case 3 (GET /headers): header %s differs\n    upstream: 'only'\n    ours:     '(missing)'" % x_up in text
    assert "case 3 (GET /headers): header %s differs\n    upstream: '(not sent)'\n    ours:     'yes'" % x_extra in text
    # the same /, listed as a known difference, is allowed; Connection is framing
    assert "case 5" not in text and "onnection" not in text
    assert [c for c, _ in cmp.allowed] == [5]
    # nothing else: /same, /echo and the 404 agree
    assert "case 0" not in text and "case 4" not in text and "case 6" not in text
    if mode == "testclient":
        assert "script log 0 (first): value[1]: body differs" in text
        assert "]: the script ended differently\n    upstream: (no exception)\n" \
            "    ours:     script: ValueError: only here" in text
    assert len(cmp.failures) == (6 if mode == "testclient" else 4)  # + the log's body, the raise


def test_unknown_differs_id_is_a_failure(fakes):
    same, twin, _, app = fakes
    up, ours = harness.run_pair(same, app, "testclient", "cpython", ours_dir=twin)
    cmp = harness.compare(up, ours, ids={"D1"})
    assert cmp.failures == ["fake_app [cpython, testclient] case 5 (GET / [listed]): differs=D900 "
                            "not found in docs/compat.md (add the row or fix the case)"]


def test_a_libdir_without_microdot_is_an_error(fakes, tmp_path):
    """The venv can import src/ on its own (editable install): a run must not silently
    fall back to it when the directory it was given has no microdot."""
    same, _, _, app = fakes
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(harness.HarnessError, match="imported microdot from .* not from .*empty"):
        harness.run_app("upstream", empty, app, "testclient", "cpython")


def test_an_app_with_nothing_to_compare_fails(tmp_path, fakes):
    same, twin, _, _ = fakes
    app = tmp_path / "apps" / "empty_app.py"
    app.write_text("from microdot import Microdot\napp = Microdot()\n")
    up, ours = harness.run_pair(same, app, "testclient", "cpython", ours_dir=twin)
    assert harness.compare(up, ours, ids=set()).failures == [
        "empty_app [cpython, testclient]: nothing compared (the app has no CASES and its script "
        "logged nothing)"]


def test_known_ids_parse_only_table_rows(tmp_path):
    doc = tmp_path / "compat.md"
    doc.write_text("# x\n\nD7 in prose\n\n| ID | a |\n|----|---|\n| D1 | x | y | z |\n|D22| x |\n"
                   "| D3x | no |\n")
    assert harness.known_ids(doc) == {"D1", "D22"}
    assert harness.known_ids(tmp_path / "absent.md") == set()


def test_real_compat_doc_lists_the_core_differences():
    assert {"D1", "D2", "D3", "D4"} <= harness.known_ids()


def _res(status=200, headers=(), body=b"x", reason="OK"):
    return {"status": status, "reason": reason, "headers": [list(h) for h in headers], "body": body}


def test_compare_rules():
    cmp = harness.compare_responses
    base = _res(headers=[("Content-Type", "text/plain"), ("Content-Length", "1")])
    # framing headers ours adds, header-name case on the wire, HTTP default reasons
    ours = _res(headers=[("content-type", "text/plain"), ("Content-Length", "1"),
                         ("Connection", "keep-alive")], reason="Created")
    assert cmp(base, ours, "http") == []
    # Content-Length replaced by chunked framing
    chunked = _res(headers=[("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")])
    assert cmp(base, chunked, "http") == []
    # a header value differs / is missing
    assert cmp(base, _res(headers=[("Content-Type", "text/html"), ("Content-Length", "1")]), "http") \
        == [("header 'content-type'", "text/plain", "text/html")]
    # Allow only on 405, WWW-Authenticate only on 401
    up405 = _res(status=405)
    assert cmp(up405, _res(status=405, headers=[("Allow", "GET")]), "http") == []
    assert cmp(_res(), _res(headers=[("Allow", "GET")]), "http") == [("header 'allow'", "(not sent)", "GET")]
    assert cmp(_res(status=401), _res(status=401, headers=[("WWW-Authenticate", "Basic")]), "http") == []
    assert cmp(_res(status=503), _res(status=503, headers=[("Retry-After", "1")]), "http") == []
    # a reason the app set itself is compared; in testclient mode every reason is
    assert cmp(_res(reason="Teapot"), _res(reason="I'm a teapot"), "http") == [("reason", "Teapot", "I'm a teapot")]
    assert cmp(_res(reason=None), _res(reason="OK"), "testclient") == [("reason", None, "OK")]
    # testclient: key spelling and list-vs-str values count; repeated headers keep order
    assert cmp(_res(headers=[("Set-Cookie", ["a=1", "b=2"])]), _res(headers=[("Set-Cookie", "a=1")]),
               "testclient") == [("header 'Set-Cookie'", ["a=1", "b=2"], "a=1")]
    assert cmp(_res(headers=[("X-A", "1")]), _res(headers=[("x-a", "1")]), "testclient") == \
        [("header 'X-A'", "1", "(missing)"), ("header 'x-a'", "(not sent)", "1")]
    assert cmp(_res(headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]),
               _res(headers=[("Set-Cookie", "b=2"), ("Set-Cookie", "a=1")]), "http") == \
        [("header 'set-cookie'", ["a=1", "b=2"], ["b=2", "a=1"])]
    # testclient: the decoded forms count when the bytes agree
    assert cmp(dict(_res(), json={"a": 1}), dict(_res(), json=None), "testclient") == \
        [("TestResponse.json", {"a": 1}, None)]
    # status and body
    assert cmp(_res(), _res(status=204, body=b""), "http") == [("status", 200, 204), ("body", b"x", b"")]


def test_long_values_are_shown_where_they_part():
    up, ours = harness.show_pair(b"a" * 500 + b"X" + b"b" * 10, b"a" * 500 + b"Y" + b"b" * 10)
    assert up.startswith("...b'aaaa") and "[first difference at 500]" in up and "X" in up
    assert "Y" in ours and "(511 long)" in ours
    assert harness.show_pair(1, 2) == ("1", "2")


def test_exceptions_compare_by_text():
    assert harness.compare_results({"exc": "ValueError: x"}, {"exc": "ValueError: x"}, "http") == []
    assert harness.compare_results({"exc": "RemoteDisconnected: x"}, {"res": _res()}, "http") == \
        [("exception", "RemoteDisconnected: x", "(none)")]


def test_a_listed_difference_that_never_shows_is_reported(monkeypatch):
    monkeypatch.setitem(harness.STATS, "listed", {})
    monkeypatch.setitem(harness.STATS, "shown", set())
    monkeypatch.setitem(harness.STATS, "allowed", {})
    monkeypatch.setitem(harness.STATS, "requests", {"cpython": 0, "micropython": 0})
    monkeypatch.setitem(harness.STATS, "apps", set())
    for shows in (True, False):  # the same case over two runs: shown in one is enough
        cmp = harness.Comparison("app_a", "http", "cpython")
        cmp.listed = {0: "GET / (D1)", 1: "GET /x (D2)"}
        cmp.allowed = [(0, ["D1"])] if shows else []
        harness.record_stats(cmp)
    assert harness.unshown_line() == \
        "parity: 1 case(s) list a difference that showed in none of their runs: app_a case 1 GET /x (D2)"
    assert harness.allowed_line() == "parity: 1 responses differed as docs/compat.md lists (D1 x1)"
