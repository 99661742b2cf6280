"""microdot.asgi under a real Uvicorn server on 127.0.0.1 (HTTP with httpx, WebSocket with websocket-client)."""
import asyncio
import contextlib
import hashlib
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
import websocket

from microdot import Request, Response
from microdot.asgi import Microdot
from microdot.test_client import TestClient
from microdot.websocket import with_websocket

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(app, lifespan="on", timeout=10):
    """Run ``app`` under uvicorn in a thread; yield its base URL; stop it on exit."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_level="warning",
                            ws="auto")
    server = uvicorn.Server(config)

    def run():
        try:
            server.run()
        except SystemExit:  # uvicorn exits when the startup fails
            pass
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn exited during startup")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield "http://127.0.0.1:%d" % port
    finally:
        server.should_exit = True
        thread.join(timeout)
        assert not thread.is_alive(), "uvicorn did not stop"


def test_lifespan_startup_and_shutdown():
    events = []

    async def startup(scope):
        await asyncio.sleep(0)
        events.append(("startup", scope["type"]))

    def shutdown(scope):
        events.append(("shutdown", scope["type"]))

    app = Microdot(lifespan_startup=startup, lifespan_shutdown=shutdown)

    @app.get("/events")
    async def get_events(req):
        return {"events": [e[0] for e in events]}

    with serve(app) as url:
        assert events == [("startup", "lifespan")]
        assert httpx.get(url + "/events", timeout=5).json() == {"events": ["startup"]}
    assert events == [("startup", "lifespan"), ("shutdown", "lifespan")]


def test_failed_startup_stops_the_server():
    def startup(scope):
        raise RuntimeError("no database")

    app = Microdot(lifespan_startup=startup)
    with pytest.raises(RuntimeError, match="exited during startup"):
        with serve(app):
            pass


def test_lifespan_without_callbacks():
    app = Microdot()

    @app.get("/")
    def index(req):
        return "ok"

    with serve(app) as url:
        assert httpx.get(url + "/", timeout=5).text == "ok"


def test_requests_and_responses():
    app = Microdot()

    @app.get("/info/<name>")
    async def info(req, name):
        scope = req.asgi_scope
        return {
            "name": name, "path": req.path, "args": req.args.getlist("x"), "qs": req.query_string,
            "method": req.method, "type": scope["type"], "ua": req.headers.get("User-Agent"),
            "multi": req.headers.get("X-Multi"), "cookies": req.cookies,
            "client": req.client_addr[0], "scheme": req.scheme,
        }

    @app.post("/json")
    def post_json(req):
        return {"got": req.json, "len": req.content_length}

    @app.post("/form")
    def post_form(req):
        return dict(req.form.items())

    @app.get("/cookies")
    def cookies(req):
        res = Response("cookies", status_code=201, headers={"X-Custom": "yes"})
        res.set_cookie("a", "1", http_only=True)
        res.set_cookie("b", "2")
        return res

    @app.get("/redirect")
    def redir(req):
        return Response.redirect("/info/x")

    @app.get("/empty")
    def empty(req):
        return 204

    with serve(app) as url:
        with httpx.Client(base_url=url, timeout=5) as client:
            # (as upstream) the app sees the server's decoded path
            res = client.get("/info/a%20b?x=1&x=%C3%A9", headers={"User-Agent": "t/1", "Cookie": "k=v; j=w",
                                                                  "X-Multi": "one"})
            assert res.status_code == 200
            assert res.headers["content-type"] == "application/json; charset=UTF-8"
            assert res.json() == {
                "name": "a b", "path": "/info/a b", "args": ["1", "\u00e9"], "qs": "x=1&x=%C3%A9",
                "method": "GET", "type": "http", "ua": "t/1", "multi": "one",
                "cookies": {"k": "v", "j": "w"}, "client": "127.0.0.1", "scheme": "http",
            }
            res = client.post("/json", json={"a": [1, 2]})
            assert res.json() == {"got": {"a": [1, 2]}, "len": len(b'{"a":[1,2]}')}
            # (as upstream) MultiDict.items() gives each key's list of values
            assert client.post("/form", data={"k": "v w", "z": "1"}).json() == {"k": ["v w"], "z": ["1"]}
            res = client.get("/cookies")
            assert res.status_code == 201 and res.text == "cookies"
            assert res.headers["x-custom"] == "yes"
            assert res.headers.get_list("set-cookie") == ["a=1; HttpOnly", "b=2"]
            assert res.headers["content-type"] == "text/plain; charset=UTF-8"
            res = client.get("/redirect")
            assert res.status_code == 302 and res.headers["location"] == "/info/x"
            assert client.get("/empty").status_code == 204
            assert client.get("/nope").status_code == 404
            res = client.delete("/json")
            assert res.status_code == 405
            res = client.head("/cookies")
            assert res.status_code == 201 and res.content == b"" and res.headers["content-length"] == "7"
            res = client.options("/json")
            assert "POST" in res.headers["allow"]


def test_request_body_streamed_from_receive(monkeypatch):
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

    data = bytes(range(256)) * 1000  # 256 KB
    with serve(app) as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            res = client.post("/upload", content=data)
            assert res.json()["sha"] == hashlib.sha256(data).hexdigest()
            assert res.json()["streamed"] is True and res.json()["reads"] > 1
            # a chunked request (no Content-Length) is read whole when small
            res = client.post("/small", content=iter([b"ab", b"cd", b"ef"]))
            assert res.json() == {"body": "abcdef", "len": 6}
            res = client.post("/small", content=b"x" * (1024 * 1024 + 1))
            assert res.status_code == 413
            res = client.post("/small", content=iter([b"y" * 600000, b"y" * 600000]))
            assert res.status_code == 413


def test_streaming_response_and_disconnect():
    second = threading.Event()
    finished = threading.Event()
    app = Microdot()

    @app.get("/stream")
    async def stream(req):
        async def gen():
            yield "first\n"
            for _ in range(500):  # the client asks for more only after it got "first"
                if second.is_set():
                    break
                await asyncio.sleep(0.01)
            yield "second\n" if second.is_set() else "not streamed\n"
        return gen()

    @app.get("/forever")
    async def forever(req):
        async def gen():
            try:
                while True:
                    yield "tick\n"
                    await asyncio.sleep(0.02)
            finally:
                finished.set()
        return gen()

    @app.get("/sync-gen")
    def sync_gen(req):
        return (str(i) for i in range(5))

    with serve(app) as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            with client.stream("GET", "/stream") as res:
                assert res.headers.get("transfer-encoding") == "chunked"
                lines = res.iter_lines()
                assert next(lines) == "first"
                second.set()
                assert next(lines) == "second"
            assert client.get("/sync-gen").text == "01234"
            with client.stream("GET", "/forever") as res:
                assert next(res.iter_lines()) == "tick"
        # the client went away: the generator is stopped soon after
        assert finished.wait(5)


def test_send_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"\x00\x01" * 5000)
    app = Microdot()

    @app.get("/file")
    def file(req):
        return Response.send_file(str(path), content_type="application/octet-stream")

    with serve(app) as url:
        res = httpx.get(url + "/file", timeout=5)
        assert res.content == b"\x00\x01" * 5000
        assert res.headers["content-length"] == "10000"


def test_websocket_over_asgi():
    ended = threading.Event()
    seen = {}
    app = Microdot()

    @app.route("/echo/<room>")
    @with_websocket
    async def echo(req, ws, room):
        seen["type"] = req.asgi_scope["type"]
        seen["room"] = room
        seen["proto"] = req.headers.get("Sec-WebSocket-Protocol")
        try:
            while True:
                msg = await ws.receive()
                if msg == "bye":
                    await ws.close(4000, "done")
                    return
                await ws.send(msg)
        finally:
            ended.set()

    @app.get("/plain")
    def plain(req):
        return "not a websocket"

    @app.route("/strict")
    @with_websocket(allowed_origins=["http://good.example"])
    async def strict(req, ws):
        await ws.send("welcome")

    with serve(app) as url:
        ws_url = url.replace("http://", "ws://")
        ws = websocket.create_connection(ws_url + "/echo/lobby", timeout=5)
        try:
            ws.send("hello")
            assert ws.recv() == "hello"
            ws.send_binary(b"\x00\xffbin")
            opcode, data = ws.recv_data()
            assert opcode == websocket.ABNF.OPCODE_BINARY and data == b"\x00\xffbin"
            big = "x" * 70000  # more than 64K: 8-byte frame lengths both ways
            ws.send(big[:10000])
            assert ws.recv() == big[:10000]
            ws.send("bye")
            opcode, data = ws.recv_data(control_frame=True)
            assert opcode == websocket.ABNF.OPCODE_CLOSE
            assert int.from_bytes(data[:2], "big") == 4000 and data[2:] == b"done"
        finally:
            ws.close()
        assert ended.wait(5)
        assert seen == {"type": "websocket", "room": "lobby", "proto": None}

        # the client closes: the handler's receive() ends it
        ended.clear()
        ws = websocket.create_connection(ws_url + "/echo/x", timeout=5)
        ws.send("ping?")
        assert ws.recv() == "ping?"
        ws.close()
        assert ended.wait(5)

        # a route that is not a WebSocket route, or no route at all: the upgrade is refused
        # (the server answers with the application's HTTP response)
        for path, status in (("/plain", 200), ("/missing", 404)):
            with pytest.raises(websocket.WebSocketBadStatusException) as info:
                websocket.create_connection(ws_url + path, timeout=5)
            assert info.value.status_code == status
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            websocket.create_connection(ws_url + "/strict", timeout=5, origin="http://evil.example")
        assert info.value.status_code == 403
        ws = websocket.create_connection(ws_url + "/strict", timeout=5, origin="http://good.example")
        assert ws.recv() == "welcome"
        ws.close()


def test_in_process_test_client_still_works():
    app = Microdot()

    @app.get("/")
    def index(req):
        return "hi"

    async def run():
        return await TestClient(app).get("/")
    assert asyncio.run(run()).text == "hi"


APP = textwrap.dedent("""
    from microdot.asgi import Microdot

    def startup(scope):
        print('STARTED', flush=True)

    def shutdown(scope):
        with open(OUT, 'w') as f:
            f.write('shutdown ran')

    OUT = {out!r}
    app = Microdot(lifespan_startup=startup, lifespan_shutdown=shutdown)

    @app.get('/')
    def index(req):
        return 'up'

    @app.get('/shutdown')
    def stop(req):
        req.app.shutdown()
        return 'stopping'
""")


def test_app_shutdown_stops_uvicorn_process(tmp_path):
    out = tmp_path / "shutdown.txt"
    (tmp_path / "asgiapp.py").write_text(APP.format(out=str(out)))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "asgiapp:app", "--host", "127.0.0.1", "--port", str(port),
         "--app-dir", str(tmp_path), "--lifespan", "on", "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.get("http://127.0.0.1:%d/" % port, timeout=2).text == "up"
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        res = httpx.get("http://127.0.0.1:%d/shutdown" % port, timeout=5)
        assert res.text == "stopping"
        # uvicorn shuts down gracefully, then re-raises SIGTERM (exit status -15) on purpose
        assert proc.wait(timeout=15) in (0, -15)
        assert "STARTED" in proc.stdout.read()
        assert out.read_text() == "shutdown ran"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_lifespan_goes_on_after_a_failed_startup():
    # (as upstream) a failed startup is reported and the shutdown message still answered
    async def startup(scope):
        raise KeyError("scope")

    app = Microdot(lifespan_startup=startup, lifespan_shutdown=lambda scope: 1 / 0)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == [{"type": "lifespan.startup.failed", "message": "KeyError('scope')"},
                    {"type": "lifespan.shutdown.failed",
                     "message": "ZeroDivisionError('division by zero')"}]
