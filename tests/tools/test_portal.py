"""The set-up portal (src/kit/kitportal.py, kitdns.py, kitstart.py, the frozen boot.py) on the virtual board.

The device app (tests/tools/cablefree_device) runs the kit's boot.py on the real MicroPython
unix port; the radio is the ``network`` stand-in of tools/targets/virtual_host/, fed from a JSON file.
DNS queries are real UDP packets built here with ``struct``; the pages are real HTTP. Pure
parts (the DNS answer, the settings check, the atomic store) also run on CPython.
"""
import json
import re
import socket
import struct
import sys
import time

import pytest
import requests

from tests.ota_sign import Signed
from tests.tools.cablefree_board import CableFreeBoard, write_radio
from tools.targets import virtual as V
from tools.device import wifi as W

ROOT = V.ROOT
sys.path.insert(0, str(ROOT / "src" / "kit"))
import kitdns  # noqa: E402
import kitportal  # noqa: E402

sys.path.pop(0)

MISSING = V.unavailable()
needs_board = pytest.mark.skipif(MISSING is not None, reason="virtual board unavailable: %s" % MISSING)

AP_IP = "127.0.0.9"  # the stand-in access point's address (loopback, so the test can reach it)
EVIL = '<img src=x onerror=pwned=1>"\'&'  # 30 bytes: a valid SSID
NETWORKS = [
    {"ssid": "Home", "password": "secret123", "rssi": -42, "ip": "127.0.0.1"},
    {"ssid": "Cafe", "password": "", "rssi": -80, "ip": "127.0.0.1"},
    {"ssid": EVIL, "password": "whatever1", "rssi": -60},
    {"ssid": "Home", "password": "secret123", "rssi": -70},  # a second access point of Home
]


def query(name, qtype=1, qid=0x4242, flags=0x0100, questions=1):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", qid, flags, questions, 0, 0, 0) + labels + struct.pack(">HH", qtype, 1)


def parse_reply(data):
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", data[:12])
    i = 12
    while data[i]:
        i += data[i] + 1
    i += 5
    answers = []
    for _ in range(an):
        assert data[i:i + 2] == b"\xc0\x0c"  # a pointer to the question's name
        rtype, rclass, ttl, size = struct.unpack(">HHIH", data[i + 2:i + 12])
        answers.append((rtype, ttl, socket.inet_ntoa(data[i + 12:i + 12 + size])))
        i += 12 + size
    return qid, flags, answers


# --------------------------------------------------------------------------------------------
# Pure parts (CPython)


def test_dns_answer_logic():
    qid, flags, answers = parse_reply(kitdns.answer(query("connectivitycheck.gstatic.com"), "192.168.4.1"))
    assert qid == 0x4242 and flags & 0x8000 and flags & 0x0100 and flags & 0x000F == 0
    assert answers == [(1, kitdns.TTL, "192.168.4.1")]
    assert parse_reply(kitdns.answer(query("x.y", qtype=28), "192.168.4.1"))[2] == []  # AAAA: none
    good = query("a.b")
    for bad in (good[:11], good[:-1], query("a.b", flags=0x8180), query("a.b", flags=0x2900),
                query("a.b", questions=2), good[:12] + b"\xc0\x0c\0\x01\0\x01", good[:12] + b"\x40" + b"a" * 64 + b"\0\0\1\0\1",
                b"\0" * 600, query(".".join(["a" * 60] * 5))):
        assert kitdns.answer(bad, "192.168.4.1") is None, bad


def test_settings_check_agrees_with_make_wifi():
    cases = [("Home", "secret123", ""), ("", "secret123", ""), ("x" * 33, "secret123", ""),
             ("Café", "", ""), ("Home", "short", ""), ("Home", "ab" * 32, ""), ("Home", "p" * 64, ""),
             ("Home", "pässwörd1", ""), ("Home", "secret123", "tok-0123456789"), ("Home", "secret123", "short"),
             ("Home", "secret123", "has space 0123"), ("Home", "secret123", "t" * 65)]
    for ssid, password, token in cases:
        try:
            W.validate(ssid, password)
            if token:
                W.validate_token(token)
            pc = None
        except W.WifiError as exc:
            pc = str(exc)
        board = kitportal.check(ssid, password, token)
        assert (pc is None) == (board is None), (ssid, password, token, pc, board)
    assert kitportal.TOKEN_MIN == W.TOKEN_MIN
    assert json.loads(W.config_text("Home", "secret123", None, "tok-0123456789")) == {
        "ssid": "Home", "password": "secret123", "ota_token": "tok-0123456789"}  # the key kitota reads


def test_store_is_whole_or_nothing(tmp_path, monkeypatch):
    path = str(tmp_path / "wifi.json")
    (tmp_path / "wifi.json").write_text(json.dumps({"ssid": "Old", "password": "oldpass123", "hostname": "kit",
                                                    "ota_token": "keep-this-token"}))
    kitportal.store("New", "newpass123", "", path)
    assert json.loads((tmp_path / "wifi.json").read_text()) == {
        "ssid": "New", "password": "newpass123", "hostname": "kit", "ota_token": "keep-this-token"}

    def broken_rename(src, dst):
        raise OSError(28)  # ENOSPC

    monkeypatch.setattr(kitportal.os, "rename", broken_rename)
    with pytest.raises(OSError):
        kitportal.store("Other", "otherpass1", "another-token-1", path)
    assert json.loads((tmp_path / "wifi.json").read_text())["ssid"] == "New"  # untouched


def test_page_escapes_and_needs_no_javascript():
    html = kitportal.page("microdot-12AB", [(EVIL, -60, False), ("Home", -40, True)], error="<b>bad</b>")
    assert EVIL not in html and "<script" not in html.lower() and "<img" not in html
    assert "&lt;img src=x onerror=pwned=1&gt;&quot;&#39;&amp;" in html
    assert '<form method="post" action="/save">' in html and "&lt;b&gt;bad&lt;/b&gt;" in html
    assert len(html.encode()) < 4096
    assert kitportal.ap_name(b"\x24\x0a\xc4\x12\x34\xab") == "microdot-34AB"


# --------------------------------------------------------------------------------------------
# On the virtual board


@pytest.fixture
def radio(tmp_path):
    return write_radio(tmp_path / "radio.json", NETWORKS, ap_ip=AP_IP, mac="240ac41234ab")


def portal_board(radio, files=None):
    return CableFreeBoard(radio, V.free_port(), files=files)


def ask(port, packet, timeout=2.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, ("127.0.0.1", port))
        try:
            return s.recvfrom(1024)[0]
        except socket.timeout:
            return None


@needs_board
def test_portal_answers_dns_probes_and_shows_the_networks(radio):
    with portal_board(radio) as board:
        assert "kitportal: join the Wi-Fi network 'microdot-34AB'" in board.output_tail()
        assert '"essid": "microdot-34AB"' in board.output_tail()  # the access point's name
        for name in ("connectivitycheck.gstatic.com", "captive.apple.com", "www.msftconnecttest.com", "example.org"):
            reply = ask(board.dns_port, query(name, qid=77))
            assert reply is not None, name
            qid, flags, answers = parse_reply(reply)
            assert qid == 77 and answers == [(1, 60, AP_IP)]
        for bad in (b"\x00\x01garbage", query("a.b", flags=0x8180), query("a.b")[:-2]):
            assert ask(board.dns_port, bad, timeout=0.5) is None  # dropped
        assert parse_reply(ask(board.dns_port, query("after.bad", qid=78)))[2] == [(1, 60, AP_IP)]  # still serving
        home = "http://%s:%d/" % (AP_IP, board.port)
        for probe in kitportal.PROBES + ("/anything/else", "/favicon.ico"):
            r = requests.get(board.url + probe, allow_redirects=False, timeout=10)
            assert r.status_code == 302 and r.headers["Location"] == home, probe
        r = requests.get(home, headers={"Host": "connectivitycheck.gstatic.com"}, timeout=10)  # via the AP address
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
        assert len(r.content) < 4096 and "<script" not in r.text
        assert "<title>Wi-Fi for microdot-34AB</title>" in r.text
        assert r.text.count('name="ssid" value="Home"') == 1  # one entry per network, strongest first
        assert r.text.index("Home") < r.text.index("&lt;img") < r.text.index("Cafe")
        assert EVIL not in r.text and "(-80 dBm, open)" in r.text
        assert not (board.files / "wifi.json").exists()


@needs_board
def test_portal_stores_joins_shows_the_address_and_restarts(radio):
    with portal_board(radio) as board:
        r = requests.post(board.url + "/save", allow_redirects=False, timeout=10,
                          data={"ssid": "Home", "other": "", "password": "secret123", "token": "my-ota-token-123"})
        assert r.status_code == 303 and r.headers["Location"] == "/status"
        assert json.loads((board.files / "wifi.json").read_text()) == {
            "ssid": "Home", "password": "secret123", "ota_token": "my-ota-token-123"}
        deadline = time.monotonic() + 15
        while True:
            page = requests.get(board.url + "/status", timeout=10).text
            if "Connected" in page or time.monotonic() > deadline:
                break
            assert 'http-equiv="refresh"' in page  # the joining page reloads itself, no JavaScript
            time.sleep(0.2)
        assert '<b id="ip">127.0.0.1</b>' in page and "http://127.0.0.1:%d/" % board.port in page
        board.wait_boots(2)  # restarted into station mode
        assert requests.get(board.url + "/", timeout=10).text == "app 1"
        log = board.output_tail(40)
        assert log.index("machine stand-in: reset") < log.rindex("kitnet: connected to 'Home', IP 127.0.0.1")
        assert "kitportal: join" not in log.split("machine stand-in: reset")[1]
        r = requests.get(board.url + "/ota/info", auth=Signed("my-ota-token-123"), timeout=10)
        assert r.status_code == 200  # the token given on the form opens OTA


@needs_board
def test_portal_refuses_bad_settings_and_reports_a_failed_join(radio):
    with portal_board(radio) as board:
        for form, message in (({"ssid": "Home", "password": "short"}, "8 to 63 characters"),
                              ({"password": "secret123"}, "Choose a network"),
                              ({"ssid": "Home", "password": "secret123", "token": "tiny"}, "OTA token needs 12")):
            r = requests.post(board.url + "/save", data=form, allow_redirects=False, timeout=10)
            assert r.status_code == 400 and message in r.text
        assert not (board.files / "wifi.json").exists()
        # "other" wins over the list; a wrong password is reported with the form again
        r = requests.post(board.url + "/save", data={"ssid": "Cafe", "other": EVIL, "password": "wrongpass1"}, timeout=10)
        deadline = time.monotonic() + 15
        while "Could not join" not in r.text and time.monotonic() < deadline:
            time.sleep(0.2)
            r = requests.get(board.url + "/status", timeout=10)
        assert "Could not join" in r.text and "wrong password" in r.text and EVIL not in r.text
        assert '<form method="post" action="/save">' in r.text
        assert board.boots == 1


@needs_board
def test_a_failing_stored_network_opens_the_portal(radio):
    stored = json.dumps({"ssid": "Home", "password": "not-the-password", "hostname": "kit",
                         "ota_token": "the-owners-token"})
    with portal_board(radio, files={"wifi.json": stored}) as board:
        log = board.output_tail()
        assert "kitnet: no connection (wrong password)" in log and "kitportal: join the Wi-Fi network" in log
        page = requests.get(board.url + "/", timeout=10).text
        assert page.count("<form") == 1
        assert (board.files / "wifi.json").read_text() == stored  # kept until new settings arrive
        # anyone in range can reach an open portal: it must not hand out control of OTA
        assert 'name="token"' not in page and "An OTA token is set" in page
        r = requests.post(board.url + "/save", allow_redirects=False, timeout=10,
                          data={"ssid": "Home", "password": "secret123", "token": "attackers-token-1"})
        assert r.status_code == 303
        assert json.loads((board.files / "wifi.json").read_text()) == {
            "ssid": "Home", "password": "secret123", "hostname": "kit", "ota_token": "the-owners-token"}


@needs_board
def test_the_kits_boot_runs_the_boards_boot_py_and_joins_once(radio):
    # /boot.py as `make wifi` leaves it: the kit's frozen boot.py runs it (kitnet.run_file, as
    # __main__), its block joins, and kitstart.start(portal=False) does not join a second time.
    user_boot = W.boot_with_kitnet("print('boot.py ran as', __name__, __file__)")
    files = {"wifi.json": json.dumps({"ssid": "Home", "password": "secret123"}), "boot.py": user_boot}
    with portal_board(radio, files=files) as board:
        assert requests.get(board.url + "/", timeout=10).text == "app 1"
        log = board.output_tail(40)
        assert "boot.py ran as __main__ boot.py" in log
        assert log.count("kitnet: joining 'Home'") == 1 and "kitnet: connected to 'Home'" in log
        assert "kitportal: join" not in log and board.boots == 1


def test_board_modules_follow_house_style():
    for name in ("kitportal.py", "kitdns.py", "kitota.py", "kitstart.py", "kitsafe.py", "kitlog.py",
                 "kitboot/boot.py", "kitboot/main.py"):
        text = (ROOT / "src" / "kit" / name).read_text()
        if name == "kitstart.py":  # the one place that catches the app's own failure (kitsafe.failed)
            text = text.replace("except Exception as exc:  # MemoryError too", "", 1)
        top = "\n".join(line for line in text.splitlines() if not line.startswith((" ", "\t")))
        assert not re.search(r"""(?<![\w\\])f["']""", text), name  # no f-strings
        for heavy in ("import re", "import typing", "dataclasses", "import network", "import machine",
                      "import esp32", "from microdot"):
            assert heavy not in top, (name, heavy)  # imported lazily, inside the function needing it
        assert "assert " not in text and "except Exception" not in text, name
