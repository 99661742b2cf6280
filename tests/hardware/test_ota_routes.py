"""The ota extension (kitota): /ota/... refuses every request that is not signed with the board's
token over a fresh nonce (the KitOTA scheme: tools/device/ota.py, docs/wifi.md) - unsigned, signed
with another token, the token itself in clear, replayed, held back, or changed after signing - and
a refused request changes nothing; with the token (--ota-token, $OTA_TOKEN; the virtual board is
given one) a broken upload is refused and leaves the board as it was.

Nothing here ever commits an update (every announced sha256 is wrong), so the board never
restarts and no file of the app is replaced.
"""
import hashlib

import pytest

from tests.ota_sign import Signed, headers as signed, nonce as fresh_nonce
from tools.device import ota as O

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
    """``ota_auth()``: requests' ``auth=`` signing with the board's token; skip when there is no
    token (none given, or a board stores none), fail when the board stores another one."""
    def _auth():
        ota()
        if not target.ota_token:
            pytest.skip("no OTA token for this board: pass --ota-token or OTA_TOKEN=...")
        auth = Signed(target.ota_token)
        r = http.get(url + "/ota/info", auth=auth, timeout=10)
        if r.status_code == 401 and "no OTA token on the board" in r.json().get("error", "") and \
                target.vb is None:  # the virtual board started here was given the token
            pytest.skip("the board stores no OTA token: make wifi OTA_TOKEN=... stores one")
        assert r.status_code != 401, "the board refuses requests signed with the given OTA token: %s" % r.json().get("error")
        return auth
    return _auth


def bad_auths(target):
    """Request arguments (``headers=`` or ``auth=``) that must all be refused."""
    made_up = "KitOTA nonce=%s, mac=%s" % ("0" * 32, "0" * 64)
    out = [{}, {"auth": Signed("wrong-ota-token-0000")}, {"headers": {"Authorization": made_up}},
           {"headers": {"Authorization": "KitOTA "}}, {"headers": {"Authorization": "Basic c21va2U6Ym9hcmQ="}}]
    if target.ota_token:
        t = target.ota_token
        out += [{"headers": {"Authorization": "Bearer " + t}}, {"headers": {"Authorization": t}},
                {"auth": Signed(t[:-1])}, {"auth": Signed(t + "x")}]
    return out


def refused(r):
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.headers.get("WWW-Authenticate") == "KitOTA"
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
    for bad in bad_auths(target):
        refused(http.request(method, url + path, json=body, timeout=10, **bad))


@pytest.mark.parametrize("method,path,kwargs", WRITES, ids=[m + " " + p for m, p, _ in WRITES])
def test_writing_needs_the_token(http, url, target, ota, method, path, kwargs):
    ota()
    for bad in bad_auths(target)[:3]:
        refused(http.request(method, url + path, timeout=10, **dict(bad, **kwargs)))


def test_refused_writes_change_nothing(http, url, target, info, ota):
    ota()
    for method, path, kwargs in WRITES:
        for bad in bad_auths(target):
            refused(http.request(method, url + path, timeout=10, **dict(bad, **kwargs)))
    refused(http.get(url + "/ota/info", timeout=10))
    assert http.get(url + "/", timeout=10).text == "Microdot smoke app\n"
    assert http.get(url + "/static/smoke.txt", timeout=10).status_code == 200  # a file on the board, read back
    still_up(http, url, info)


def test_refused_writes_leave_an_update_in_progress_alone(http, url, target, ota_auth):
    auth = ota_auth()
    assert http.post(url + "/ota/begin", json=FILES, auth=auth, timeout=10).status_code == 200
    two = {"files": [[PROBE, 1, WRONG_SHA], ["ota_probe2.txt", 1, WRONG_SHA]]}
    for bad in bad_auths(target):
        refused(http.post(url + "/ota/begin", json=two, timeout=10, **bad))
        refused(http.put(url + "/ota/app/0?offset=0", data=DATA, timeout=10, **bad))
        refused(http.post(url + "/ota/commit", timeout=10, **bad))
    # still the first update, still nothing received: the refused begin and pieces did nothing
    r = http.put(url + "/ota/app/1?offset=0", data=b"x", auth=auth, timeout=10)
    assert r.status_code == 404 and "no such file" in r.json()["error"]
    r = http.put(url + "/ota/app/0?offset=0", data=DATA, auth=auth, timeout=10)
    assert r.status_code == 200 and r.json() == {"name": PROBE, "got": len(DATA)}
    assert http.post(url + "/ota/commit", auth=auth, timeout=10).status_code == 422


# -- with the token ---------------------------------------------------------------------------

def test_info_says_whether_firmware_can_be_updated(http, url, ota_auth):
    auth = ota_auth()
    r = http.get(url + "/ota/info", auth=auth, timeout=10)
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


def test_the_auth_scheme_is_case_insensitive(http, url, target, ota_auth):
    ota_auth()
    for scheme in ("kitota", "KITOTA", "KitOTA"):  # RFC 9110 11.1: the scheme is case-insensitive
        h = signed(url, target.ota_token, "GET", "/ota/info")["Authorization"]
        r = http.get(url + "/ota/info", headers={"Authorization": scheme + h[6:]}, timeout=10)
        assert r.status_code == 200, scheme
    h = signed(url, target.ota_token, "GET", "/ota/info")["Authorization"]
    refused(http.get(url + "/ota/info", headers={"Authorization": "Basic" + h[6:]}, timeout=10))


def test_a_nonce_is_random_and_fresh_each_time(http, url, ota):
    ota()
    seen = set()
    for _ in range(4):
        r = http.get(url + "/ota/nonce", timeout=10)
        assert r.status_code == 200 and r.json()["ttl_ms"] > 0
        n = r.json()["nonce"]
        assert len(n) == 32 and int(n, 16) >= 0 and n not in seen
        seen.add(n)


def test_signed_answers_hand_on_the_next_nonce(http, url, target, ota_auth):
    ota_auth()
    r = http.get(url + "/ota/info", headers=signed(url, target.ota_token, "GET", "/ota/info"), timeout=10)
    nxt = r.headers.get(O.NONCE_HEADER)
    assert r.status_code == 200 and nxt and len(nxt) == 32
    r = http.get(url + "/ota/info", headers=signed(url, target.ota_token, "GET", "/ota/info", fresh=nxt), timeout=10)
    assert r.status_code == 200 and r.headers.get(O.NONCE_HEADER) not in (None, nxt)
    refused(http.get(url + "/ota/info", headers=signed(url, target.ota_token, "GET", "/ota/info", fresh=nxt),
                     timeout=10))  # used once: gone


def test_a_replayed_request_is_refused_and_writes_nothing(http, url, target, ota_auth):
    auth = ota_auth()
    files = {"files": [[PROBE, 2 * len(DATA), WRONG_SHA]]}
    assert http.post(url + "/ota/begin", json=files, auth=auth, timeout=10).status_code == 200
    piece = signed(url, target.ota_token, "PUT", "/ota/app/0?offset=0", DATA)
    r = http.put(url + "/ota/app/0?offset=0", data=DATA, headers=piece, timeout=10)
    assert r.status_code == 200 and r.json()["got"] == len(DATA)
    for _ in range(2):  # the same bytes again, as a recording would send them: not 409, never reaches the upload
        refused(http.put(url + "/ota/app/0?offset=0", data=DATA, headers=piece, timeout=10))
    r = http.put(url + "/ota/app/0?offset=%d" % len(DATA), data=DATA, auth=auth, timeout=10)
    assert r.status_code == 200 and r.json()["got"] == 2 * len(DATA)  # the replay appended nothing
    assert http.post(url + "/ota/commit", auth=auth, timeout=10).status_code == 422


def test_a_held_back_request_is_refused_once_a_later_one_was_used(http, url, target, ota_auth):
    ota_auth()
    early = signed(url, target.ota_token, "GET", "/ota/info")
    late = signed(url, target.ota_token, "GET", "/ota/info")
    assert http.get(url + "/ota/info", headers=late, timeout=10).status_code == 200
    refused(http.get(url + "/ota/info", headers=early, timeout=10))


def test_a_request_changed_after_signing_is_refused_and_writes_nothing(http, url, target, ota_auth):
    auth = ota_auth()
    t = target.ota_token
    files = {"files": [[PROBE, len(DATA), WRONG_SHA], ["ota_probe2.txt", len(DATA), WRONG_SHA]]}
    assert http.post(url + "/ota/begin", json=files, auth=auth, timeout=10).status_code == 200
    other = DATA[:-1] + b"!"
    tries = [  # (method, path sent, body sent, and what was signed instead)
        ("PUT", "/ota/app/0?offset=0", other, signed(url, t, "PUT", "/ota/app/0?offset=0", DATA)),  # body
        ("PUT", "/ota/app/1?offset=0", DATA, signed(url, t, "PUT", "/ota/app/0?offset=0", DATA)),  # path
        ("PUT", "/ota/app/0?offset=0", DATA, signed(url, t, "PUT", "/ota/app/0", DATA)),  # query
        ("POST", "/ota/commit", None, signed(url, t, "PUT", "/ota/commit")),  # method
        ("PUT", "/ota/app/0?offset=0", DATA, signed(url, t, "PUT", "/ota/app/0?offset=0", b"")),  # body dropped
    ]
    for method, path, body, headers in tries:
        refused(http.request(method, url + path, data=body, headers=headers, timeout=10))
    # the signed original is spent too: the changed copy used its nonce
    _, path, _, headers = tries[0]
    refused(http.put(url + path, data=DATA, headers=headers, timeout=10))
    for i, name in enumerate((PROBE, "ota_probe2.txt")):  # nothing arrived
        r = http.put(url + "/ota/app/%d?offset=0" % i, data=DATA, auth=auth, timeout=10)
        assert r.status_code == 200 and r.json() == {"name": name, "got": len(DATA)}
    assert http.post(url + "/ota/commit", auth=auth, timeout=10).status_code == 422


def test_wrong_sha256_is_refused_and_nothing_is_written(http, url, target, info, ota_auth):
    auth = ota_auth()
    r = http.post(url + "/ota/begin", json=FILES, auth=auth, timeout=10)
    assert r.status_code == 200 and r.json()["files"] == 1
    r = http.put(url + "/ota/app/0?offset=0", data=DATA, auth=auth, timeout=10)
    assert r.status_code == 200 and r.json()["got"] == len(DATA)
    r = http.post(url + "/ota/commit", auth=auth, timeout=10)
    assert r.status_code == 422 and r.json()["files"] == [PROBE]
    r = http.post(url + "/ota/hashes", json=[PROBE], auth=auth, timeout=10)
    assert r.status_code == 200 and r.json() == {PROBE: None}
    if target.vb is not None:  # the virtual board's filesystem is here to look at
        assert not (target.vb.workdir / "app" / PROBE).exists()
    # the refused update is gone: no more pieces, no second commit
    assert http.put(url + "/ota/app/0?offset=0", data=DATA, auth=auth, timeout=10).status_code == 409
    assert http.post(url + "/ota/commit", auth=auth, timeout=10).status_code == 409
    still_up(http, url, info)


def test_oversized_pieces_are_413(http, url, ota_auth):
    auth = ota_auth()
    piece = http.get(url + "/ota/info", auth=auth, timeout=10).json()["piece"]
    files = {"files": [[PROBE, len(DATA), WRONG_SHA], ["ota_probe2.txt", 2 * piece, WRONG_SHA]]}
    assert http.post(url + "/ota/begin", json=files, auth=auth, timeout=10).status_code == 200
    r = http.put(url + "/ota/app/0?offset=0", data=DATA + b"!", auth=auth, timeout=10)
    assert r.status_code == 413 and r.json()["name"] == PROBE  # more than announced
    r = http.put(url + "/ota/app/1?offset=0", data=bytes(piece + 1), auth=auth, timeout=10)
    assert r.status_code == 413  # more than one piece
    r = http.post(url + "/ota/commit", auth=auth, timeout=10)
    assert r.status_code == 422 and sorted(r.json()["files"]) == sorted([PROBE, "ota_probe2.txt"])


@pytest.mark.parametrize("name", ["../x", "/main.py", "a//b", ".ota/0", "wifi.json", "boot.py"])
def test_bad_file_names_are_400(http, url, ota_auth, name):
    auth = ota_auth()
    r = http.post(url + "/ota/begin", json={"files": [[name, 1, WRONG_SHA]]}, auth=auth, timeout=10)
    assert r.status_code == 400 and r.json()["name"] == name


def test_firmware_upload_refuses_what_it_cannot_take(http, url, ota_auth):
    auth = ota_auth()
    body = http.get(url + "/ota/info", auth=auth, timeout=10).json()
    r = http.post(url + "/ota/firmware/begin", json={"size": body["piece"], "sha256": WRONG_SHA},
                  auth=auth, timeout=10)
    if body["firmware"] is None:  # no OTA partitions (unix, rp2, an ESP32 without the table)
        assert r.status_code == 501 and r.json()["error"] == body["reason"]
        return
    assert r.status_code == 200
    # not an app image: refused before anything is written to the partition
    r = http.put(url + "/ota/firmware?offset=0", data=bytes(body["piece"]), auth=auth, timeout=10)
    assert r.status_code == 422
    assert http.post(url + "/ota/firmware/commit", auth=auth, timeout=10).status_code == 409
