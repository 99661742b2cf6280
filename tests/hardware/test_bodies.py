"""Request and response bodies: JSON, forms, uploads, large and streamed responses, files."""
import gzip
import hashlib
import os
from pathlib import Path

import pytest

ASSET = Path(__file__).parent / "device" / "static" / "smoke.txt.gz"


def test_json_round_trip(http, url):
    doc = {"name": "sensor-\u00e9", "values": [1, 2.5, None, True], "nested": {"a": {"b": []}}}
    r = http.post(url + "/json", json=doc, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert r.json() == {"received": doc, "type": "dict"}


def test_json_list(http, url):
    r = http.post(url + "/json", json=[1, "two"], timeout=10)
    assert r.json() == {"received": [1, "two"], "type": "list"}


def test_json_needs_json_content_type(http, url):
    r = http.post(url + "/json", data=b'{"a": 1}', headers={"Content-Type": "text/plain"}, timeout=10)
    assert r.status_code == 415


def test_broken_json_is_400(http, url):
    r = http.post(url + "/json", data=b'{"a": ', headers={"Content-Type": "application/json"},
                  timeout=10)
    assert r.status_code == 400


def test_urlencoded_form(http, url):
    r = http.post(url + "/form", data=[("name", "Ann & Bob"), ("n", "1"), ("n", "2"),
                                       ("emoji", "\u2713")], timeout=10)
    assert r.status_code == 200
    assert r.json() == {"form": {"name": ["Ann & Bob"], "n": ["1", "2"], "emoji": ["\u2713"]}}


def test_multipart_upload(http, url, need):
    need("multipart", "/upload", "POST")
    payload = os.urandom(6000)
    r = http.post(url + "/upload", data={"title": "a photo", "count": "3"},
                  files={"file": ("photo.bin", payload, "application/octet-stream"),
                         "note": ("note.txt", b"hello\r\n--not a boundary\r\n", "text/plain")},
                  timeout=20)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["form"] == {"title": "a photo", "count": "3"}
    assert data["files"]["file"] == {"filename": "photo.bin", "content_type": "application/octet-stream",
                                     "size": 6000, "sha256": hashlib.sha256(payload).hexdigest()}
    assert data["files"]["note"]["size"] == len(b"hello\r\n--not a boundary\r\n")
    assert data["files"]["note"]["filename"] == "note.txt"


@pytest.mark.parametrize("size", [0, 1000, 64 * 1024])
def test_large_response(http, url, size):
    r = http.get(url + "/large", params={"size": size}, timeout=30)
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == size
    expected = (bytes(range(256)) * (size // 256 + 1))[:size]
    assert r.content == expected


def test_large_response_streamed_by_client(http, url):
    size = 200 * 1024
    digest = hashlib.sha256()
    total = 0
    with http.get(url + "/large", params={"size": size}, stream=True, timeout=30) as r:
        for chunk in r.iter_content(4096):
            digest.update(chunk)
            total += len(chunk)
    assert total == size
    assert digest.hexdigest() == hashlib.sha256((bytes(range(256)) * 800)[:size]).hexdigest()


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_streaming_response_is_chunked(http, url, kind):
    with http.get(url + "/stream", params={"n": 20, "kind": kind}, stream=True, timeout=10) as r:
        assert r.headers.get("Transfer-Encoding") == "chunked"
        lines = [line for line in r.iter_lines() if line]
    assert lines == [("line %d" % i).encode() for i in range(20)]


def test_send_file_gzipped(http, url):
    r = http.get(url + "/static/smoke.txt", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.headers["Cache-Control"] == "max-age=60"
    assert r.text == gzip.decompress(ASSET.read_bytes()).decode()
    assert r.text.startswith("Hello from the Microdot smoke app.")


def test_send_file_raw_bytes(http, url):
    with http.get(url + "/static/smoke.txt", stream=True, timeout=10) as r:
        data = r.raw.read(decode_content=False)
    assert data == ASSET.read_bytes()
    assert int(r.headers["Content-Length"]) == len(data)


def test_static_directory(http, url, need):
    need("static", "/files/smoke.txt")
    r = http.get(url + "/files/smoke.txt", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    assert r.text == gzip.decompress(ASSET.read_bytes()).decode()
    etag = r.headers["ETag"]
    again = http.get(url + "/files/smoke.txt", headers={"Accept-Encoding": "gzip", "If-None-Match": etag},
                     timeout=10)
    assert again.status_code == 304 and again.content == b""
    plain = http.get(url + "/files/smoke.txt", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert plain.status_code == 406  # only the .gz is on the board


def test_static_directory_is_confined(raw, need):
    need("static", "/files/smoke.txt")
    for path in (b"/files/../main.py", b"/files/%2e%2e/main.py", b"/files/.hidden"):
        resp = raw.exchange(b"GET " + path + b" HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
        assert raw.status(resp) in (400, 404), path
