"""The ota extension (kitota): /ota/... refuses every request without the board's token and a
refused request changes nothing; with the token (--ota-token, $OTA_TOKEN; the virtual board is
given one) a broken upload is refused and leaves the board as it was.

Nothing here ever commits an update (every announced sha256 is wrong), so the board never
restarts and no file of the app is replaced.
"""
import hashlib

import pytest

PROBE = "ota_probe.txt"
DATA = b"sent by the hardware suite; never committed\n"
WRONG_SHA = hashlib.sha256(b"not the bytes that are sent").hexdigest()
FILES = {"files": [[PROBE, len(DATA), WRONG_SHA]]}

# every route that writes: (method, path, request arguments)
WRITES = [
    ("POST", "/ota/begin", {"json": FILES}),
    ("PUT", "/ota/app/0?offset=0", {"data": DATA}),
    ("POST", "/ota/commit", {}),
    ("POST", "/ota/firmware/begin", {"json": {"size": 4096, "sha256": WRONG_SHA}}),
    ("PUT", "/ota/firmware?offset=0", {"data": b"\xe9" + bytes(4095)}),
    ("POST", "/ota/firmware/commit", {}),
]


@pytest.fixture
def ota(http, url, info):
    """``ota()``: skip unless the image has kitota; without it its routes are not there (404)."""
    def _ota():
        if info["extensions"].get("ota"):
            return
        r = http.get(url + "/ota/info", timeout=10)
        assert r.status_code == 404, "kitota is missing, so /ota/info must answer 404"
        pytest.skip("ota is not in this image")
    return _ota


@pytest.fixture
def ota_auth(http, url, target, ota):
    """``ota_auth()``: headers with the board's token; skip when there is no token (none given, or
    a board stores none), fail when the board stores another one."""
    def _auth():
        ota()
        if not target.ota_token:
            pytest.skip("no OTA token for this board: pass --ota-token or OTA_TOKEN=...")
        headers = {"Authorization": "Bearer " + target.ota_token}
        r = http.get(url + "/ota/info", headers=headers, timeout=10)
        if r.status_code == 401 and "no OTA token on the board" in r.json().get("error", "") and \
                target.vb is None:  # the virtual board started here was given the token
            pytest.skip("the board stores no OTA token: make wifi OTA_TOKEN=... stores one")
        assert r.status_code != 401, "the board refuses the given OTA token: %s" % r.json().get("error")
        return headers
    return _auth


def bad_tokens(target):
    """Authorization headers that must all be refused."""
    out = [{}, {"Authorization": "Bearer wrong-ota-token-0000"}, {"Authorization": "Bearer "},
           {"Authorization": "Basic c21va2U6Ym9hcmQ="}]
    if target.ota_token:
        t = target.ota_token
        out += [{"Authorization": t}, {"Authorization": "Bearer " + t[:-1]},
                {"Authorization": "Bearer " + t + "x"}]
    return out


def refused(r):
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.headers.get("WWW-Authenticate") == "Bearer"
    assert isinstance(r.json()["error"], str)


def still_up(http, url, info):
    """The board answers and did not restart since the suite began."""
    now = http.get(url + "/__smoke/info", timeout=10).json()
    assert now["uptime_ms"] >= info["uptime_ms"]
    assert now["requests"] > info["requests"]


# -- without the token ------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,body", [("GET", "/ota/info", None),
                                              ("POST", "/ota/hashes", [PROBE])],
                         ids=["GET /ota/info", "POST /ota/hashes"])
def test_reading_needs_the_token(http, url, target, ota, method, path, body):
    ota()
    for headers in bad_tokens(target):
        refused(http.request(method, url + path, json=body, headers=headers, timeout=10))


@pytest.mark.parametrize("method,path,kwargs", WRITES, ids=[m + " " + p for m, p, _ in WRITES])
def test_writing_needs_the_token(http, url, target, ota, method, path, kwargs):
    ota()
    for headers in bad_tokens(target)[:2]:
        refused(http.request(method, url + path, headers=headers, timeout=10, **kwargs))


def test_refused_writes_change_nothing(http, url, target, info, ota):
    ota()
    for method, path, kwargs in WRITES:
        for headers in bad_tokens(target):
            refused(http.request(method, url + path, headers=headers, timeout=10, **kwargs))
    refused(http.get(url + "/ota/info", timeout=10))
    assert http.get(url + "/", timeout=10).text == "Microdot smoke app\n"
    assert http.get(url + "/static/smoke.txt", timeout=10).status_code == 200  # a file on the board, read back
    still_up(http, url, info)


def test_refused_writes_leave_an_update_in_progress_alone(http, url, target, ota_auth):
    auth = ota_auth()
    assert http.post(url + "/ota/begin", json=FILES, headers=auth, timeout=10).status_code == 200
    two = {"files": [[PROBE, 1, WRONG_SHA], ["ota_probe2.txt", 1, WRONG_SHA]]}
    for headers in bad_tokens(target):
        refused(http.post(url + "/ota/begin", json=two, headers=headers, timeout=10))
        refused(http.put(url + "/ota/app/0?offset=0", data=DATA, headers=headers, timeout=10))
        refused(http.post(url + "/ota/commit", headers=headers, timeout=10))
    # still the first update, still nothing received: the refused begin and pieces did nothing
    r = http.put(url + "/ota/app/1?offset=0", data=b"x", headers=auth, timeout=10)
    assert r.status_code == 404 and "no such file" in r.json()["error"]
    r = http.put(url + "/ota/app/0?offset=0", data=DATA, headers=auth, timeout=10)
    assert r.status_code == 200 and r.json() == {"name": PROBE, "got": len(DATA)}
    assert http.post(url + "/ota/commit", headers=auth, timeout=10).status_code == 422


# -- with the token ---------------------------------------------------------------------------

def test_info_says_whether_firmware_can_be_updated(http, url, ota_auth):
    auth = ota_auth()
    r = http.get(url + "/ota/info", headers=auth, timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["app"] is True and body["piece"] > 0 and body["max_file"] > 0
    fw = body["firmware"]
    if fw is None:
        assert isinstance(body["reason"], str) and body["reason"]
    else:
        assert body["reason"] is None
        assert fw["running"] and fw["next"] and fw["running"] != fw["next"]
        assert fw["next_bytes"] > 0


def test_the_auth_scheme_is_case_insensitive(http, url, ota_auth):
    token = ota_auth()["Authorization"].split(" ", 1)[1]
    for scheme in ("bearer", "BEARER", "Bearer"):  # RFC 9110 11.1: the scheme is case-insensitive
        r = http.get(url + "/ota/info", headers={"Authorization": scheme + " " + token}, timeout=10)
        assert r.status_code == 200, scheme
    r = http.get(url + "/ota/info", headers={"Authorization": "Basic " + token}, timeout=10)
    assert r.status_code == 401


def test_wrong_sha256_is_refused_and_nothing_is_written(http, url, target, info, ota_auth):
    auth = ota_auth()
    r = http.post(url + "/ota/begin", json=FILES, headers=auth, timeout=10)
    assert r.status_code == 200 and r.json()["files"] == 1
    r = http.put(url + "/ota/app/0?offset=0", data=DATA, headers=auth, timeout=10)
    assert r.status_code == 200 and r.json()["got"] == len(DATA)
    r = http.post(url + "/ota/commit", headers=auth, timeout=10)
    assert r.status_code == 422 and r.json()["files"] == [PROBE]
    r = http.post(url + "/ota/hashes", json=[PROBE], headers=auth, timeout=10)
    assert r.status_code == 200 and r.json() == {PROBE: None}
    if target.vb is not None:  # the virtual board's filesystem is here to look at
        assert not (target.vb.workdir / "app" / PROBE).exists()
    # the refused update is gone: no more pieces, no second commit
    assert http.put(url + "/ota/app/0?offset=0", data=DATA, headers=auth, timeout=10).status_code == 409
    assert http.post(url + "/ota/commit", headers=auth, timeout=10).status_code == 409
    still_up(http, url, info)


def test_oversized_pieces_are_413(http, url, ota_auth):
    auth = ota_auth()
    piece = http.get(url + "/ota/info", headers=auth, timeout=10).json()["piece"]
    files = {"files": [[PROBE, len(DATA), WRONG_SHA], ["ota_probe2.txt", 2 * piece, WRONG_SHA]]}
    assert http.post(url + "/ota/begin", json=files, headers=auth, timeout=10).status_code == 200
    r = http.put(url + "/ota/app/0?offset=0", data=DATA + b"!", headers=auth, timeout=10)
    assert r.status_code == 413 and r.json()["name"] == PROBE  # more than announced
    r = http.put(url + "/ota/app/1?offset=0", data=bytes(piece + 1), headers=auth, timeout=10)
    assert r.status_code == 413  # more than one piece
    r = http.post(url + "/ota/commit", headers=auth, timeout=10)
    assert r.status_code == 422 and sorted(r.json()["files"]) == sorted([PROBE, "ota_probe2.txt"])


@pytest.mark.parametrize("name", ["../x", "/main.py", "a//b", ".ota/0", "wifi.json", "boot.py"])
def test_bad_file_names_are_400(http, url, ota_auth, name):
    auth = ota_auth()
    r = http.post(url + "/ota/begin", json={"files": [[name, 1, WRONG_SHA]]}, headers=auth, timeout=10)
    assert r.status_code == 400 and r.json()["name"] == name


def test_firmware_upload_refuses_what_it_cannot_take(http, url, ota_auth):
    auth = ota_auth()
    body = http.get(url + "/ota/info", headers=auth, timeout=10).json()
    r = http.post(url + "/ota/firmware/begin", json={"size": body["piece"], "sha256": WRONG_SHA},
                  headers=auth, timeout=10)
    if body["firmware"] is None:  # no OTA partitions (unix, rp2, an ESP32 without the table)
        assert r.status_code == 501 and r.json()["error"] == body["reason"]
        return
    assert r.status_code == 200
    # not an app image: refused before anything is written to the partition
    r = http.put(url + "/ota/firmware?offset=0", data=bytes(body["piece"]), headers=auth, timeout=10)
    assert r.status_code == 422
    assert http.post(url + "/ota/firmware/commit", headers=auth, timeout=10).status_code == 409
