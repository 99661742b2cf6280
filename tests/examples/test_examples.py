"""Every example runs on the virtual board (MicroPython unix port), answers its main page and
does the one thing it is about."""
import json
import os
import time

import pytest
import requests
import websocket

from examples_support import EXAMPLES, running

EXAMPLE_NAMES = ["hello", "gpio", "weather", "websocket", "sse", "login", "uploads", "templates"]
TIMEOUT = 5


def get_page(vb, path="/"):
    r = requests.get(vb.url + path, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    return r.text


def test_every_example_has_main_and_readme():
    found = sorted(p.name for p in EXAMPLES.iterdir() if (p / "main.py").is_file())
    assert found == sorted(EXAMPLE_NAMES)
    for name in EXAMPLE_NAMES:
        readme = (EXAMPLES / name / "README.md").read_text()
        assert "make run APP=examples/%s" % name in readme


def test_stand_ins_only_where_hardware_is_used():
    for name in EXAMPLE_NAMES:
        source = (EXAMPLES / name / "main.py").read_text()
        needs = [m for m in ("machine", "dht", "network")
                 if ("import %s" % m) in source or ("from %s import" % m) in source]
        for module in needs:
            assert (EXAMPLES / name / "host" / (module + ".py")).is_file(), (name, module)
        if not needs:
            assert not (EXAMPLES / name / "host").exists(), name


def test_hello():
    with running("hello") as vb:
        assert "Hello from Microdot!" in get_page(vb)
        assert requests.get(vb.url + "/nope", timeout=TIMEOUT).status_code == 404


def test_gpio():
    with running("gpio") as vb:
        assert "<h1>GPIO</h1>" in get_page(vb)
        state = requests.get(vb.url + "/api/pins", timeout=TIMEOUT).json()
        led = {p["name"]: p for p in state["outputs"]}["led"]
        assert led == {"name": "led", "pin": 2, "value": 0}
        assert {p["name"] for p in state["inputs"]} == {"button", "switch"}
        # toggling changes the state that the page reads
        r = requests.post(vb.url + "/api/outputs/led/toggle", timeout=TIMEOUT)
        assert r.json()["value"] == 1
        state = requests.get(vb.url + "/api/pins", timeout=TIMEOUT).json()
        assert {p["name"]: p["value"] for p in state["outputs"]} == {"led": 1, "relay": 0}
        assert requests.put(vb.url + "/api/outputs/relay", json={"value": 1},
                            timeout=TIMEOUT).json()["value"] == 1
        assert requests.put(vb.url + "/api/outputs/relay", json={"value": "on"},
                            timeout=TIMEOUT).status_code == 400
        assert requests.post(vb.url + "/api/outputs/nope/toggle", timeout=TIMEOUT).status_code == 404


def test_weather():
    with running("weather") as vb:
        assert "Weather station" in get_page(vb)
        cur = requests.get(vb.url + "/api/current", timeout=TIMEOUT).json()
        for key in ("temperature", "humidity", "min_temperature", "max_humidity", "uptime"):
            assert isinstance(cur[key], (int, float)) and not isinstance(cur[key], bool), key
        assert 10 < cur["temperature"] < 35 and 0 <= cur["humidity"] <= 100
        assert cur["wifi"]["connected"] is True and cur["wifi"]["rssi"] < 0
        # the background task keeps reading: history grows without any request touching it
        first = len(requests.get(vb.url + "/api/history", timeout=TIMEOUT).json()["temperature"])
        time.sleep(2.3)
        hist = requests.get(vb.url + "/api/history", timeout=TIMEOUT).json()
        assert hist["interval"] == 2 and len(hist["temperature"]) > first >= 1
        assert all(isinstance(v, float) for v in hist["humidity"])


def test_websocket():
    with running("websocket") as vb:
        assert "<h1>WebSocket</h1>" in get_page(vb)
        ws_url = vb.url.replace("http://", "ws://")
        echo = websocket.create_connection(ws_url + "/echo", timeout=TIMEOUT)
        try:
            echo.send("héllo")
            assert echo.recv() == "héllo"
            echo.send_binary(b"\x00\xff")
            assert echo.recv() == b"\x00\xff"
        finally:
            echo.close()
        a = websocket.create_connection(ws_url + "/chat", timeout=TIMEOUT)
        b = websocket.create_connection(ws_url + "/chat", timeout=TIMEOUT)
        try:
            assert json.loads(b.recv())["online"] == 2     # b's own "joined"
            a.send(json.dumps({"name": "ada", "text": "hi all"}))
            while True:                                    # skip info messages
                msg = json.loads(b.recv())
                if msg["type"] == "message":
                    break
            assert (msg["name"], msg["text"]) == ("ada", "hi all")
            a.send("not json")
            while json.loads(a.recv())["type"] != "error":
                pass
        finally:
            a.close()
            b.close()


def test_sse():
    with running("sse") as vb:
        assert "Live sensor" in get_page(vb)
        events = []
        with requests.get(vb.url + "/events", stream=True, timeout=TIMEOUT) as r:
            assert r.status_code == 200
            assert r.headers["Content-Type"].startswith("text/event-stream")
            event = {}
            for line in r.iter_lines(chunk_size=1, decode_unicode=True):
                if not line:
                    if event:
                        events.append(event)
                        event = {}
                    if len(events) == 2:
                        break
                    continue
                key, _, value = line.partition(": ")
                event[key] = value
        assert [e["event"] for e in events] == ["reading", "reading"]
        first, second = (json.loads(e["data"]) for e in events)
        assert second["n"] == first["n"] + 1
        assert 0 <= first["light"] <= 100 and isinstance(first["raw"], int)


def test_login():
    with running("login") as vb:
        assert "Log in" in get_page(vb)
        s = requests.Session()
        r = s.get(vb.url + "/notes", allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
        r = s.post(vb.url + "/login", data={"username": "maker", "password": "wrong"}, timeout=TIMEOUT)
        assert r.status_code == 401 and "Wrong user name or password" in r.text
        r = s.post(vb.url + "/login?next=/notes", data={"username": "maker", "password": "blinky"},
                   allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 302 and r.headers["Location"] == "/notes"
        assert "session" in s.cookies
        r = s.post(vb.url + "/notes", data={"note": "<water> the fern"}, timeout=TIMEOUT)
        assert r.status_code == 200 and "&lt;water&gt; the fern" in r.text
        # a form posted from another site is refused (CSRF), by Origin and by Fetch Metadata
        for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            r = s.post(vb.url + "/notes", data={"note": "pwned"}, headers=headers, timeout=TIMEOUT)
            assert r.status_code == 403
        assert "pwned" not in s.get(vb.url + "/notes", timeout=TIMEOUT).text
        r = s.post(vb.url + "/logout", allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 302
        assert s.get(vb.url + "/notes", allow_redirects=False, timeout=TIMEOUT).status_code == 302


def test_uploads():
    with running("uploads") as vb:
        assert "no files yet" in get_page(vb)
        data = os.urandom(20000)      # bigger than one read chunk and than the in-memory limit
        r = requests.post(vb.url + "/upload", timeout=TIMEOUT,
                          files=[("file", ("../../etc/sensor log.bin", data)),
                                 ("file", ("notes.txt", b"hello"))])
        assert r.status_code == 200 and r.json() == {"saved": ["sensor_log.bin", "notes.txt"]}
        r = requests.get(vb.url + "/files/sensor_log.bin", timeout=TIMEOUT)
        assert r.status_code == 200 and r.content == data
        assert "20000 bytes" in get_page(vb)
        # over the per-file limit: 413 and nothing kept
        r = requests.post(vb.url + "/upload", files=[("file", ("big.bin", os.urandom(40000)))],
                          timeout=TIMEOUT)
        assert r.status_code == 413
        assert requests.get(vb.url + "/files/big.bin", timeout=TIMEOUT).status_code == 404
        r = requests.post(vb.url + "/delete/notes.txt", allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 303
        assert requests.get(vb.url + "/files/notes.txt", timeout=TIMEOUT).status_code == 404


def test_templates():
    with running("templates") as vb:
        page = get_page(vb)
        assert "<title>Plants</title>" in page
        assert "<td>Fern</td><td>18 %</td>" in page and "2 need water" in page
        assert "MicroPython" in page and "bytes free" in page
        page = get_page(vb, "/hello/Ada%20%3Cb%3E")
        assert 'Hello, <b>Ada &lt;b&gt;</b>!' in page


def test_deploy_never_copies_host_stand_ins():
    from tools.device.deploy import app_files

    for name in ("gpio", "weather", "sse"):
        files = app_files(EXAMPLES / name)
        assert "main.py" in files
        assert not [f for f in files if f.startswith("host/")], name


def test_bootstrap_installs_chromium_only_as_root_with_apt(monkeypatch):
    from tools.dev import bootstrap

    found = {"apt-get": "/usr/bin/apt-get"}
    monkeypatch.delenv("KIT_NO_CHROMIUM", raising=False)
    monkeypatch.setattr(bootstrap.shutil, "which", lambda name: found.get(name))
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 0)
    assert bootstrap.chromium_install_commands() == [
        ["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]]
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 1000)
    assert bootstrap.chromium_install_commands() == []
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 0)
    found["chromium"] = "/usr/bin/chromium"
    assert bootstrap.chromium_install_commands() == []
    del found["chromium"], found["apt-get"]
    assert bootstrap.chromium_install_commands() == []
