"""microdot.wsgi under a real Waitress server on 127.0.0.1, talked to with requests."""
import asyncio
import contextlib
import hashlib
import os
import signal
import threading

import pytest
import requests
import waitress

from microdot import Request, Response
from microdot.wsgi import Microdot


@contextlib.contextmanager
def serve(app, threads=4, **adjustments):
    """Run ``app`` under waitress in a thread; yield its base URL; stop it on exit."""
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads,
                                    clear_untrusted_proxy_headers=True, **adjustments)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%s" % server.effective_port
    finally:
        server.task_dispatcher.shutdown(timeout=5)

        def close_all():  # in the server's own thread: no select() on a socket closed under it
            for channel in list(server._map.values()):
                channel.close()
        server.trigger.pull_trigger(close_all)
        thread.join(10)
        assert not thread.is_alive(), "waitress did not stop"


def test_environ_and_request_data():
    app = Microdot()

    @app.get("/info/<name>")
    async def info(req, name):
        env = req.environ
        return {
            "name": name, "path": req.path, "args": req.args.getlist("x"), "qs": req.query_string,
            "method": env["REQUEST_METHOD"], "wsgi": list(env["wsgi.version"]),
            "proto": env["SERVER_PROTOCOL"], "ua": req.headers.get("User-Agent"),
            "custom": req.headers.get("X-Custom-Header"), "cookies": req.cookies,
            "client": req.client_addr[0], "scheme": req.scheme, "http": req.http_version,
        }

    @app.post("/json")
    def post_json(req):
        return {"got": req.json, "len": req.content_length, "type": req.content_type}

    @app.post("/form")
    def post_form(req):
        return dict(req.form.items())

    with serve(app) as url:
        # (as upstream) the app sees PATH_INFO, the path as the server decoded it
        res = requests.get(url + "/info/a%20b?x=1&x=%C3%A9",
                           headers={"User-Agent": "t/1", "X-Custom-Header": "v", "Cookie": "k=v; j=w"},
                           timeout=5)
        assert res.status_code == 200 and res.headers["Content-Type"] == "application/json; charset=UTF-8"
        assert res.json() == {
            "name": "a b", "path": "/info/a b", "args": ["1", "\u00e9"], "qs": "x=1&x=%C3%A9",
            "method": "GET", "wsgi": [1, 0], "proto": "HTTP/1.1", "ua": "t/1", "custom": "v",
            "cookies": {"k": "v", "j": "w"}, "client": "127.0.0.1", "scheme": "http", "http": "HTTP/1.1",
        }
        res = requests.post(url + "/json", json={"a": [1, 2]}, timeout=5)
        assert res.json() == {"got": {"a": [1, 2]}, "len": len(b'{"a": [1, 2]}'), "type": "application/json"}
        assert requests.post(url + "/form", data={"k": "v w"}, timeout=5).json() == {"k": ["v w"]}  # MultiDict.items(): lists


def test_responses():
    app = Microdot()

    @app.get("/cookies")
    def cookies(req):
        res = Response("cookies", status_code=201, headers={"X-Custom": "yes"}, reason="Made It")
        res.set_cookie("a", "1", http_only=True)
        res.set_cookie("b", "2")
        return res

    @app.get("/redirect")
    def redir(req):
        return Response.redirect("/cookies")

    @app.get("/empty")
    def empty(req):
        return 204

    @app.get("/error")
    def error(req):
        raise ValueError("boom")

    with serve(app) as url:
        with requests.Session() as s:
            res = s.get(url + "/cookies", timeout=5)
            assert res.status_code == 201 and res.reason == "Made It" and res.text == "cookies"
            assert res.headers["X-Custom"] == "yes"
            assert res.raw.headers.getlist("Set-Cookie") == ["a=1; HttpOnly", "b=2"]
            assert res.headers["Content-Type"] == "text/plain; charset=UTF-8"
            res = s.get(url + "/redirect", allow_redirects=False, timeout=5)
            assert res.status_code == 302 and res.headers["Location"] == "/cookies"
            assert s.get(url + "/empty", timeout=5).status_code == 204
            assert s.get(url + "/nope", timeout=5).status_code == 404
            res = s.put(url + "/cookies", timeout=5)
            assert res.status_code == 405 and "GET" in res.headers["Allow"]
            assert s.get(url + "/error", timeout=5).status_code == 500
            res = s.head(url + "/cookies", timeout=5)
            assert res.status_code == 201 and res.content == b"" and res.headers["Content-Length"] == "7"
            # the connection is still usable after all of the above
            assert s.get(url + "/cookies", timeout=5).text == "cookies"


def test_event_loop_per_worker_thread():
    app = Microdot()
    seen = []

    @app.get("/loop")
    async def loop_id(req):
        await asyncio.sleep(0.05)
        seen.append((threading.get_ident(), id(asyncio.get_running_loop())))
        return "ok"

    @app.get("/sync")
    def sync(req):
        return "sync ok"

    with serve(app, threads=3) as url:
        results = []

        def client():
            with requests.Session() as s:
                for _ in range(4):
                    results.append(s.get(url + "/loop", timeout=10).text)

        clients = [threading.Thread(target=client) for _ in range(3)]
        for t in clients:
            t.start()
        for t in clients:
            t.join(20)
        assert results == ["ok"] * 12
        assert requests.get(url + "/sync", timeout=5).text == "sync ok"
    loops_by_thread = {}
    for thread_id, loop in seen:
        loops_by_thread.setdefault(thread_id, set()).add(loop)
    # every worker thread kept one loop; concurrent workers had different ones
    assert all(len(loops) == 1 for loops in loops_by_thread.values())
    assert len(loops_by_thread) > 1
    assert len({next(iter(v)) for v in loops_by_thread.values()}) == len(loops_by_thread)


def test_streaming_response():
    second = threading.Event()
    closed = threading.Event()
    app = Microdot()

    @app.get("/stream")
    async def stream(req):
        async def gen():
            try:
                yield "first\n"
                for _ in range(500):  # the client asks for more only after it got "first"
                    if second.is_set():
                        break
                    await asyncio.sleep(0.01)
                yield "second\n" if second.is_set() else "not streamed\n"
                yield "third\n"
            finally:
                closed.set()
        return gen(), {"Content-Type": "text/plain"}

    @app.get("/sync-gen")
    def sync_gen(req):
        return (str(i) for i in range(5))

    with serve(app) as url:
        with requests.get(url + "/stream", stream=True, timeout=10) as res:
            assert res.headers.get("Transfer-Encoding") == "chunked"
            lines = res.iter_lines()
            assert next(lines) == b"first"
            second.set()
            assert list(lines) == [b"second", b"third"]
        assert closed.wait(5)
        assert requests.get(url + "/sync-gen", timeout=5).text == "01234"


def test_request_bodies(monkeypatch):
    monkeypatch.setattr(Request, "max_content_length", 1024 * 1024)
    app = Microdot()

    @app.post("/upload")
    async def upload(req):
        streamed = req.body == b"" and req.content_length > Request.max_body_length
        digest = hashlib.sha256()
        reads = 0
        while True:
            chunk = await req.stream.read(4096)
            if not chunk:
                break
            reads += 1
            digest.update(chunk)
        return {"streamed": streamed, "sha": digest.hexdigest(), "reads": reads}

    @app.post("/small")
    async def small(req):
        return {"body": req.body.decode(), "len": req.content_length}

    data = bytes(range(256)) * 1000
    with serve(app) as url:
        res = requests.post(url + "/upload", data=data, timeout=10).json()
        assert res["sha"] == hashlib.sha256(data).hexdigest()
        assert res["streamed"] is True and res["reads"] > 1
        res = requests.post(url + "/small", data=iter([b"ab", b"cd", b"ef"]), timeout=10)
        assert res.json() == {"body": "abcdef", "len": 6}
        res = requests.post(url + "/small", data=b"x" * (1024 * 1024 + 1), timeout=10)
        assert res.status_code == 413


def test_shutdown_without_embedded_server_signals_process(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: calls.append((pid, sig)))
    app = Microdot()
    app.shutdown()
    assert calls == [(os.getpid(), signal.SIGTERM)]


def test_builtin_server_still_available():
    app = Microdot()

    @app.get("/")
    def index(req):
        return "built-in"

    # the subclass is a full Microdot: it runs on its own asyncio server too
    async def run():
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        task = asyncio.ensure_future(app.start_server(host="127.0.0.1", port=port))
        for _ in range(100):
            await asyncio.sleep(0.02)
            if app.server is not None:
                break
        loop = asyncio.get_running_loop()
        text = await loop.run_in_executor(
            None, lambda: requests.get("http://127.0.0.1:%d/" % port, timeout=5).text)
        app.shutdown()
        await asyncio.wait_for(task, 5)
        return text

    assert asyncio.run(run()) == "built-in"
    assert app.embedded_server is True


def call_wsgi(app, **environ):
    """Call the WSGI app directly with a minimal environ; return (status, headers, body)."""
    import io
    env = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/", "QUERY_STRING": "",
           "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http",
           "REMOTE_ADDR": "10.0.0.1", "REMOTE_PORT": "5555", "wsgi.version": (1, 0)}
    env.update(environ)
    out = {}

    def start_response(status, headers):
        out["status"], out["headers"] = status, headers
    body = b"".join(app(env, start_response))
    return out["status"], dict(out["headers"]), body


def test_paths_from_script_name_and_path_info():
    app = Microdot()

    @app.get("/p/<path:rest>")
    def p(req, rest):
        return "%s|%s" % (rest, req.path)

    @app.get("/app/p/<path:rest>")
    def mounted(req, rest):
        return "app %s|%s" % (rest, req.path)

    # (as upstream) the path is SCRIPT_NAME + PATH_INFO, as decoded by the server; the
    # UTF-8 bytes WSGI passes as latin-1 text are read as UTF-8 (docs/compat.md D101)
    assert call_wsgi(app, PATH_INFO="/p/a b/\u00c3\u00a9")[2] == "a b/\u00e9|/p/a b/\u00e9".encode()
    status, _, body = call_wsgi(app, SCRIPT_NAME="/app", PATH_INFO="/p/x/y", REQUEST_URI="/app/p/x%2Fy?q=1",
                                QUERY_STRING="q=1")
    assert status == "200 OK" and body == b"app x/y|/app/p/x/y"
    assert call_wsgi(app, PATH_INFO="/p/z", RAW_URI="/other/z")[2] == b"z|/p/z"
    status, headers, body = call_wsgi(app, REQUEST_METHOD="POST", PATH_INFO="/p/z", CONTENT_LENGTH="x1")
    assert status == "400 N/A"  # (as upstream) only 200 gets a reason phrase
