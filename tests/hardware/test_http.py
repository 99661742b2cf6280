"""Methods, query arguments, dynamic URL segments and error handlers."""
import hashlib

import pytest


def test_index(http, url):
    r = http.get(url + "/", timeout=10)
    assert r.status_code == 200
    assert r.text == "Microdot smoke app\n"
    assert r.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_methods(http, url, method):
    body = ("payload for %s " % method).encode() * 10 if method != "GET" else b""
    r = http.request(method, url + "/echo?x=1", data=body, timeout=10,
                     headers={"Content-Type": "application/octet-stream"} if body else {})
    assert r.status_code == 200
    data = r.json()
    assert data["method"] == method
    assert data["args"] == {"x": ["1"]}
    assert data["length"] == len(body)
    assert data["sha256"] == hashlib.sha256(body).hexdigest()


def test_head_has_headers_but_no_body(http, url):
    get = http.get(url + "/echo", timeout=10)
    head = http.head(url + "/echo", timeout=10)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert int(head.headers["Content-Length"]) == len(get.content.replace(b'"GET"', b'"HEAD"'))


def test_options_lists_allowed_methods(http, url):
    r = http.options(url + "/echo", timeout=10)
    assert r.status_code == 200
    allowed = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} <= allowed


def test_wrong_method_is_405(http, url):
    r = http.get(url + "/json", timeout=10)
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"]


def test_query_args(http, url):
    r = http.get(url + "/query", params=[("n", "42"), ("tag", "a"), ("tag", "b c"),
                                         ("word", "caf\u00e9 & cr\u00e8me")], timeout=10)
    assert r.status_code == 200
    data = r.json()
    assert data["n"] == 42
    assert data["missing"] == "default"
    assert data["args"]["tag"] == ["a", "b c"]
    assert data["args"]["word"] == ["caf\u00e9 & cr\u00e8me"]


def test_bad_query_escape_is_400(raw):
    resp = raw.exchange(b"GET /query?x=%zz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
    assert raw.status(resp) == 400


def test_int_segment(http, url):
    assert http.get(url + "/items/21", timeout=10).json() == {"id": 21, "double": 42}
    assert http.get(url + "/items/-3", timeout=10).json() == {"id": -3, "double": -6}


def test_int_segment_rejects_text(http, url):
    r = http.get(url + "/items/abc", timeout=10)
    assert r.status_code == 404
    assert r.json() == {"error": "not found", "path": "/items/abc"}


def test_string_and_path_segments(http, url):
    r = http.get(url + "/users/ann%20lee/files/docs/2024/report.txt", timeout=10)
    # URL arguments arrive as sent (not percent-decoded), as in upstream Microdot
    assert r.json() == {"name": "ann%20lee", "path": "docs/2024/report.txt"}


def test_custom_404_handler(http, url):
    r = http.get(url + "/no/such/page", timeout=10)
    assert r.status_code == 404
    assert r.json()["error"] == "not found"


def test_abort(http, url):
    r = http.get(url + "/error/abort", timeout=10)
    assert r.status_code == 403


def test_exception_handler(http, url):
    r = http.get(url + "/error/custom", timeout=10)
    assert r.status_code == 409
    assert r.json() == {"error": "smoke", "detail": "handled"}


def test_unhandled_exception_is_500_and_board_survives(http, url):
    r = http.get(url + "/error/crash", timeout=10)
    assert r.status_code == 500
    assert http.get(url + "/", timeout=10).status_code == 200
