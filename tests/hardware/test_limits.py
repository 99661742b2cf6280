"""Request limits, malformed requests, keep-alive and pipelining, over a raw socket."""


def test_body_over_limit_is_413(raw, info):
    size = info["limits"]["max_content_length"] + 1
    resp = raw.exchange(b"POST /echo HTTP/1.1\r\nHost: b\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: %d\r\n\r\n" % size)
    assert raw.status(resp) == 413


def test_body_at_limit_is_accepted(http, url, info):
    size = info["limits"]["max_content_length"]
    r = http.post(url + "/echo", data=b"z" * size, headers={"Content-Type": "text/plain"}, timeout=20)
    assert r.status_code == 200
    assert r.json()["length"] == size


def test_long_url_is_414(raw, info):
    path = b"/query?x=" + b"a" * (info["limits"]["max_readline"] + 100)
    resp = raw.exchange(b"GET " + path + b" HTTP/1.1\r\nHost: b\r\n\r\n")
    assert raw.status(resp) == 414


def test_too_many_headers_is_431(raw, info):
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(info["limits"]["max_headers"] + 5))
    resp = raw.exchange(b"GET / HTTP/1.1\r\nHost: b\r\n" + headers + b"\r\n")
    assert raw.status(resp) == 431


def test_malformed_request_line_is_400(raw):
    resp = raw.exchange(b"NOT A REQUEST\r\n\r\n")
    assert raw.status(resp) == 400


def test_pipelined_keep_alive_requests(raw):
    resp = raw.exchange(b"GET /items/1 HTTP/1.1\r\nHost: b\r\n\r\n"
                        b"GET /items/2 HTTP/1.1\r\nHost: b\r\n\r\n"
                        b"GET /items/3 HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
    assert resp.count(b"HTTP/1.1 200 OK") == 3
    assert resp.index(b'"id": 1') < resp.index(b'"id": 2') < resp.index(b'"id": 3')


def test_board_still_serves_after_abuse(http, url):
    assert http.get(url + "/", timeout=10).status_code == 200
