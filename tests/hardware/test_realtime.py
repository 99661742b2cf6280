"""WebSocket echo, Server-Sent Events, CORS and basic auth."""
import json

import pytest


def test_websocket_echo(target, need):
    need("websocket", "/ws")
    import websocket  # websocket-client

    ws = websocket.create_connection(target.url.replace("http", "ws", 1) + "/ws", timeout=10)
    try:
        for message in ("hello", "caf\u00e9", "x" * 3000):
            ws.send(message)
            assert ws.recv() == message
        ws.send_binary(bytes(range(256)))
        assert ws.recv() == bytes(range(256))
        ws.send("bye")
        assert ws.recv() == "goodbye"
    finally:
        ws.close()


def test_websocket_needs_upgrade(http, url, need):
    need("websocket", "/ws")
    r = http.get(url + "/ws", timeout=10)
    assert r.status_code == 400


def _read_events(sock):
    """Read an SSE response until the server closes; return (head, [(event, data)])."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        decoded = b""
        while body:
            size_line, _, body = body.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            decoded += body[:size]
            body = body[size + 2:]
        body = decoded
    events = []
    for block in body.decode().split("\n\n"):
        if not block.strip():
            continue
        event, lines = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                lines.append(line[5:].lstrip(" "))
        events.append((event, "\n".join(lines)))
    return head, events


def test_sse_stream(raw, need):
    need("sse", "/sse")
    with raw.connect() as s:
        s.sendall(b"GET /sse?n=4 HTTP/1.1\r\nHost: board\r\nAccept: text/event-stream\r\n\r\n")
        head, events = _read_events(s)
    assert head.startswith(b"HTTP/1.1 200")
    assert b"text/event-stream" in head.lower()
    assert [json.loads(d) for e, d in events[:-1]] == [{"i": i} for i in range(4)]
    assert events[-1] == ("end", "done")


def test_cors_preflight_and_simple_request(http, url, need):
    need("cors", "/cors")
    r = http.options(url + "/cors", headers={"Origin": "http://smoke.example",
                                             "Access-Control-Request-Method": "GET"}, timeout=10)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "http://smoke.example"
    r = http.get(url + "/cors", headers={"Origin": "http://smoke.example"}, timeout=10)
    assert r.json() == {"cors": True}
    assert r.headers["Access-Control-Allow-Origin"] == "http://smoke.example"
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"


def test_cors_refuses_unknown_origin(http, url, need):
    need("cors", "/cors")
    r = http.get(url + "/cors", headers={"Origin": "http://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("creds,status", [(None, 401), (("smoke", "nope"), 401),
                                          (("smoke", "board"), 200)])
def test_basic_auth(http, url, need, creds, status):
    need("auth", "/auth")
    r = http.get(url + "/auth", auth=creds, timeout=10)
    assert r.status_code == status
    if status == 200:
        assert r.json() == {"user": "smoke"}
    else:
        assert r.headers["WWW-Authenticate"].startswith("Basic")


def test_pubsub_fan_out(http, url, need):
    need("pubsub", "/pubsub")
    r = http.get(url + "/pubsub", params={"n": 5}, timeout=10)
    assert r.status_code == 200
    assert r.json() == {"received": [0, 1, 2, 3, 4], "subscribers": 0}
