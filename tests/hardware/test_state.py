"""Cookies and the signed session cookie."""


def test_cookies_round_trip(http, url):
    r = http.get(url + "/cookies/set", params={"flavour": "oat", "size": "xl"}, timeout=10)
    assert r.status_code == 200
    assert "HttpOnly" in r.headers["Set-Cookie"]
    assert http.cookies.get("flavour") == "oat"
    r = http.get(url + "/cookies", timeout=10)
    assert r.json() == {"cookies": {"flavour": "oat", "size": "xl"}}


def test_cookie_header_parsing(http, url):
    r = http.get(url + "/cookies", headers={"Cookie": 'a=1; b="two"; c='}, timeout=10)
    assert r.json()["cookies"] == {"a": "1", "b": '"two"', "c": ""}  # quotes kept, as upstream


def test_session_counter(http, url, need):
    need("session", "/session/count")
    counts = [http.get(url + "/session/count", timeout=10).json()["count"] for _ in range(3)]
    assert counts == [1, 2, 3]
    assert "session" in http.cookies


def test_session_delete(http, url, need):
    need("session", "/session/count")
    http.get(url + "/session/count", timeout=10)
    http.get(url + "/session/count", timeout=10)
    r = http.post(url + "/session/clear", timeout=10)
    assert r.json() == {"deleted": True}
    assert "session" not in http.cookies
    assert http.get(url + "/session/count", timeout=10).json()["count"] == 1


def test_session_rejects_tampered_cookie(http, url, need):
    need("session", "/session/count")
    http.get(url + "/session/count", timeout=10)
    http.get(url + "/session/count", timeout=10)
    token = http.cookies["session"]
    head, payload, sig = token.split(".")
    forged = ".".join([head, payload, sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")])
    http.cookies.clear()
    r = http.get(url + "/session/count", cookies={"session": forged}, timeout=10)
    assert r.json()["count"] == 1
