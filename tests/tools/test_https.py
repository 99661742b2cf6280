"""HTTPS with a pinned device certificate, on the virtual board (issue #22 part 6).

Real parts: keys and certificates made by tools/device/cert.py (Python's cryptography), the
MicroPython unix port serving the kit over TLS with its ssl module (mbedtls) from the
certificate and key put on the board's filesystem, real TLS sockets on loopback, the real
tools/device/ota.py and logs.py. A board presenting another certificate is refused in one
line before a byte of the request goes out (checked against a TLS server that records what it
receives).
"""
import hashlib
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

from tools.device import cert as C
from tools.device import logs as L
from tools.device import ota as O
from tools.targets import virtual as V

ROOT = V.ROOT
MISSING = V.unavailable()
needs_board = pytest.mark.skipif(MISSING is not None, reason="virtual board unavailable: %s" % MISSING)

TOKEN = "https-field-token-42"
APP = ("import os\nimport kitnet\nimport kitota\nfrom microdot import Microdot\napp = Microdot()\n"
       "@app.get('/')\nasync def index(request):\n    return 'app %s ' + request.scheme\n"
       "kitota.install(app)\napp.run(port=int(os.getenv('PORT')), ssl=kitnet.tls())\n")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Two boards' certificates: the one the board gets, and another one."""
    base = tmp_path_factory.mktemp("certs")
    return C.make(base / "board"), base / "board", C.make(base / "other"), base / "other"


def app_dir(tmp_path, name, source):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "main.py").write_text(source)
    return folder


def get(url, pin, path="/"):
    """GET over a pinned connection: (status, body)."""
    host, port = url.split("://")[1].split(":")
    conn = C.PinnedHTTPSConnection(host, int(port), C.read_pin(pin), timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def wait_for(url, pin, text, timeout=40.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            status, body = get(url, pin)
            if body == text:
                return body
            last = body
        except (OSError, C.CertError, ConnectionError) as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError("no %r from %s (last: %r)" % (text, url, last))


# --------------------------------------------------------------------------------------------
# make cert


def test_make_cert_writes_a_p256_key_and_a_self_signed_certificate(tmp_path, capsys):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    out = tmp_path / "kitchen"
    assert C.main(["--out", str(out)]) == 0
    said = capsys.readouterr().out
    der = (out / "cert.der").read_bytes()
    pin = hashlib.sha256(der).hexdigest()
    assert (out / "cert.sha256").read_text().strip() == pin and pin in said
    assert "make deploy CERT=%s" % out in said
    assert (out / "key.der").stat().st_mode & 0o077 == 0  # the key is readable by its owner only
    cert = x509.load_der_x509_certificate(der)
    key = load_der_private_key((out / "key.der").read_bytes(), None)
    assert isinstance(key.curve, ec.SECP256R1) and cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.issuer == cert.subject and "kitchen" in cert.subject.rfc4514_string()
    # a second run keeps the key (a new one would be a new pin) unless forced
    assert C.main(["--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "FORCE=1" in err and pin in err
    assert (out / "cert.der").read_bytes() == der
    assert C.main(["--out", str(out), "--force"]) == 0
    assert (out / "cert.der").read_bytes() != der
    # the pin from a folder, the .sha256 file, the DER, a PEM and 64 hex digits (colons allowed)
    new = C.read_pin(out)
    pem = ssl.DER_cert_to_PEM_cert((out / "cert.der").read_bytes())
    (tmp_path / "c.pem").write_text(pem)
    assert new == C.read_pin(out / "cert.sha256") == C.read_pin(out / "cert.der") == C.read_pin(tmp_path / "c.pem")
    assert C.read_pin(new.upper()) == new == C.read_pin(":".join(new[i:i + 2] for i in range(0, 64, 2)))
    with pytest.raises(C.CertError, match="make cert"):
        C.read_pin(tmp_path / "nothing")


def test_certs_are_git_ignored():
    out = subprocess.run(["git", "check-ignore", "certs/board/key.der"], cwd=str(ROOT), capture_output=True, text=True)
    assert out.returncode == 0, "certs/ must be in .gitignore: keys are never committed"


def test_the_make_targets_pass_the_certificate():
    def make_n(*args):
        out = subprocess.run(["make", "-n"] + list(args), cwd=str(ROOT), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert "tools.device.cert --out certs/k" in make_n("cert", "CERT=certs/k")
    assert "tools.device.cert --out certs/board" in make_n("cert")
    assert "--cert certs/k" in make_n("deploy", "CERT=certs/k")
    assert "--cert certs/k" in make_n("wifi", "SSID=x", "CERT=certs/k")
    assert "--pin certs/k" in make_n("ota", "DEVICE=https://b:5000", "CERT=certs/k")
    assert "--pin abc" in make_n("logs", "DEVICE=https://b:5000", "CERT=certs/k", "PIN=abc")
    assert "-- --pin certs/k" in make_n("test-hw", "DEVICE=https://b:5000", "CERT=certs/k")
    rotate = make_n("ota", "DEVICE=https://b:5000", "CERT=certs/k", "NEWCERT=certs/n")
    assert "--pin certs/k" in rotate and '--new-cert "certs/n"' in rotate
    run = make_n("run", "OTA_TOKEN=x", "HTTPS=1")
    assert "--https certs/board" in run and "--https" not in make_n("run", "OTA_TOKEN=x")


# --------------------------------------------------------------------------------------------
# The PC side: what is refused before anything is sent


class RecordingTLSServer:
    """A TLS server with a given certificate that records every byte it receives after the
    handshake (a board, or an impostor, at the board's address)."""

    def __init__(self, folder):
        der, key = C.files(folder)
        self.dir = folder
        (folder / "cert.pem").write_text(ssl.DER_cert_to_PEM_cert(der))
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.serialization import load_der_private_key

        pem = load_der_private_key(key, None).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption())
        (folder / "key.pem").write_bytes(pem)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(folder / "cert.pem"), str(folder / "key.pem"))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.handshakes = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(raw, server_side=True) as tls:
                    self.handshakes += 1
                    tls.settimeout(2)
                    while True:
                        data = tls.recv(4096)
                        if not data:
                            break
                        self.received += data
            except (OSError, ssl.SSLError):
                pass

    def close(self):
        self.sock.close()


def test_another_certificate_is_refused_in_one_line_before_anything_is_sent(certs, tmp_path, capsys):
    pin, board, _, other = certs
    impostor = RecordingTLSServer(other)
    try:
        url = "https://127.0.0.1:%d" % impostor.port
        app = app_dir(tmp_path, "v2", APP % "2")
        assert O.main(["--device", url, "--app", str(app), "--token", TOKEN, "--pin", str(board)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert "not the pinned one (sha256 %s, pinned %s)" % (C.read_pin(other), pin) in err
        assert "CERT=" in err
        assert L.main(["--device", url, "--token", TOKEN, "--pin", pin]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not the pinned one" in err
        time.sleep(0.3)
        assert impostor.handshakes >= 2  # it was reached, and the TLS handshake completed ...
        assert impostor.received == b""  # ... but not one byte of a request (no nonce asked, no token use)
        # the right pin passes the handshake and sends its request
        dev = O.Device(url, TOKEN, timeout=3, pin=str(other))
        with pytest.raises(O.OtaError):
            dev.nonce()  # the recording server never answers
        dev.close()
        time.sleep(0.3)
        assert impostor.received.startswith(b"GET /ota/nonce HTTP/1.1\r\n")
    finally:
        impostor.close()


def test_https_needs_a_pin_and_a_pin_needs_https(certs):
    pin, board, _, _ = certs
    with pytest.raises(O.OtaError, match="no certificate is pinned: pass CERT="):
        O.Device("https://127.0.0.1:5000", TOKEN)
    with pytest.raises(O.OtaError, match="DEVICE is http://: pass DEVICE=https://127.0.0.1:5000"):
        O.Device("http://127.0.0.1:5000", TOKEN, pin=pin)
    with pytest.raises(O.OtaError, match="No certificate at"):
        O.Device("https://127.0.0.1:5000", TOKEN, pin=str(board / "missing"))
    assert O.Device("https://127.0.0.1:5000", TOKEN, pin=str(board)).pin == pin


# --------------------------------------------------------------------------------------------
# The virtual board serving HTTPS


@needs_board
def test_https_end_to_end_on_the_virtual_board(certs, tmp_path, capsys):
    pin, board_cert, other_pin, other = certs
    with V.VirtualBoard("UNIX", app=None, netns="off", ota_token=TOKEN, https=board_cert, quiet=True) as board:
        assert board.url.startswith("https://127.0.0.1:")
        assert (board.files / "cert.der").read_bytes() == (board_cert / "cert.der").read_bytes()
        # the board without an app (kitota.serve) answers over TLS with its own certificate
        status, body = get(board.url, board_cert)
        assert status == 200 and body.startswith("No app on this board yet: send one with make ota DEVICE=https://")
        # plain HTTP gets no answer from it
        with socket.create_connection((board.host, board.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(5)
            try:
                got = s.recv(4096)
            except (ConnectionError, socket.timeout):
                got = b""
            assert b"HTTP/1.1 200" not in got
        # the first app over HTTPS, pinned; it serves HTTPS itself with kitnet.tls()
        assert O.main(["--device", board.url, "--app", str(app_dir(tmp_path, "v1", APP % "1")), "--token", TOKEN,
                       "--pin", str(board_cert), "--wait", "40"]) == 0, capsys.readouterr().err + board.output_tail(40)
        assert "confirmed" in capsys.readouterr().out
        assert wait_for(board.url, board_cert, "app 1 https") == "app 1 https"
        # an update, then the log, pinned by the hex digits
        assert O.main(["--device", board.url, "--app", str(app_dir(tmp_path, "v2", APP % "2")), "--token", TOKEN,
                       "--pin", pin, "--wait", "40"]) == 0, capsys.readouterr().err + board.output_tail(40)
        assert wait_for(board.url, board_cert, "app 2 https") == "app 2 https"
        assert L.main(["--device", board.url, "--token", TOKEN, "--pin", str(board_cert)]) == 0
        capsys.readouterr()
        # another board's certificate is refused, and the app stays as it is
        assert O.main(["--device", board.url, "--app", str(app_dir(tmp_path, "v3", APP % "3")), "--token", TOKEN,
                       "--pin", str(other), "--wait", "10"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not the pinned one (sha256 %s, pinned %s)" % (pin, other_pin) in err
        assert O.main(["--device", board.url.replace("https", "http"), "--app", str(tmp_path / "v3"),
                       "--token", TOKEN, "--wait", "10"]) == 1
        assert "Lost the connection" in capsys.readouterr().err  # no plain HTTP either
        assert get(board.url, board_cert) == (200, "app 2 https")


@needs_board
def test_without_a_certificate_the_board_serves_plain_http(tmp_path, capsys):
    import requests

    with V.VirtualBoard("UNIX", app=app_dir(tmp_path, "v1", APP % "1"), netns="off", ota_token=TOKEN,
                        quiet=True) as board:
        assert board.url.startswith("http://")
        assert requests.get(board.url + "/", timeout=5).text == "app 1 http"
        # a pinning client does not fall back to plain HTTP
        pin = "ab" * 32
        dev = O.Device(board.url.replace("http", "https"), TOKEN, timeout=5, pin=pin)
        with pytest.raises(O.OtaError, match="No TLS handshake|Lost the connection"):
            dev.nonce()
        # the board itself takes no key over plain HTTP (a throwaway pair: the PC tool never sends one)
        throwaway = tmp_path / "throwaway"
        C.make(throwaway)
        unsigned = requests.post(board.url + "/ota/cert", data=pair_body(*C.files(throwaway)), timeout=10)
        assert unsigned.status_code == 401 and unsigned.headers.get("WWW-Authenticate") == "KitOTA"
        status, answer = O.Device(board.url, TOKEN).call("POST", "/cert", json_body(pair_body(*C.files(throwaway))))
        assert status == 403 and "keys over HTTPS only" in answer["error"]
        assert not (board.files / "cert.der").exists() and not (board.files / "key.der").exists()


def test_https_on_the_virtual_board_needs_a_token_and_a_certificate(certs, tmp_path):
    _, board_cert, _, _ = certs
    with pytest.raises(V.VirtualError, match="HTTPS=1 needs OTA_TOKEN="):
        V.VirtualBoard("UNIX", app=ROOT / "examples" / "hello", https=board_cert)
    with pytest.raises(V.VirtualError, match="make cert CERT="):
        V.VirtualBoard("UNIX", app=None, ota_token=TOKEN, https=tmp_path / "none")


@needs_board
def test_make_run_https_makes_a_certificate_and_serves_with_it(tmp_path):
    port = V.free_port()
    folder = tmp_path / "run-cert"
    out = open(tmp_path / "run.log", "wb")
    cli = subprocess.Popen([sys.executable, "-m", "tools.targets", "--ota-token", TOKEN, "--netns", "off",
                            "--port", str(port), "--https", str(folder)], cwd=str(ROOT), stdout=out,
                           stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = "https://127.0.0.1:%d" % port
        deadline = time.monotonic() + 40
        while not (folder / "cert.der").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        deadline = time.monotonic() + 40
        while True:
            try:
                status, body = get(url, folder)
                break
            except (OSError, C.CertError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert status == 200 and "No app on this board yet" in body
        log = (tmp_path / "run.log").read_text()
        assert "made a certificate for the board in %s (pin %s" % (folder, C.read_pin(folder)) in log
        assert "CERT=%s" % folder in log
    finally:
        os.killpg(cli.pid, 15)
        cli.wait(20)
        out.close()


# --------------------------------------------------------------------------------------------
# Certificate rotation: make ota NEWCERT= over pinned HTTPS only


def signed_raw(url, pin, nonce, body, token=TOKEN):
    """The bytes of one signed POST /ota/cert (to send, and send again)."""
    auth = O.authorization(token, "POST", "/ota/cert", nonce, body)
    return (b"POST /ota/cert HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Authorization: " + auth.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def send_raw(url, pin, raw):
    """Send ``raw`` over a pinned TLS connection; the answer's status line and body."""
    host, port = url.split("://")[1].split(":")
    with C.connect(host, int(port), C.read_pin(pin)) as tls:
        tls.sendall(raw)
        got = b""
        while True:
            data = tls.recv(4096)
            if not data:
                break
            got += data
    head, _, body = got.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def pair_body(der, key):
    import base64
    import json

    return json.dumps({"cert": base64.b64encode(der).decode(), "key": base64.b64encode(key).decode()}).encode()


def test_rotation_over_plain_http_is_refused_before_any_byte(certs, capsys):
    _, board, _, _ = certs
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        url = "http://127.0.0.1:%d" % listener.getsockname()[1]
        assert O.main(["--device", url, "--token", TOKEN, "--new-cert", str(board)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "over pinned HTTPS only, never in clear" in err, err
        assert "make deploy CERT=" in err and "DEVICE=https://" in err and "NEWCERT=" in err
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # not even a connection was opened
    finally:
        listener.close()


def test_rotation_refuses_a_folder_that_is_not_a_pair(certs, tmp_path):
    import shutil

    _, board, _, other = certs
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(board / "cert.der", mixed / "cert.der")
    shutil.copy(other / "key.der", mixed / "key.der")
    dev = O.Device("https://127.0.0.1:9", TOKEN, pin=str(board))
    with pytest.raises(O.OtaError, match="are not an EC P-256 key and its certificate: make a pair"):
        O.rotate_cert(dev, str(mixed))  # checked on the PC before any connection (port 9 listens to nothing)
    with pytest.raises(O.OtaError, match="already serves the certificate"):
        O.rotate_cert(dev, str(board))


@needs_board
def test_rotation_over_pinned_https_on_the_virtual_board(certs, tmp_path, capsys):
    pin, board_cert, other_pin, other = certs
    new = tmp_path / "new"
    new_pin = C.make(new)
    with V.VirtualBoard("UNIX", app=app_dir(tmp_path, "v1", APP % "1"), netns="off", ota_token=TOKEN,
                        https=board_cert, quiet=True) as board:
        assert wait_for(board.url, board_cert, "app 1 https") == "app 1 https"
        old_files = [(board.files / n).read_bytes() for n in ("cert.der", "key.der")]
        der, key = C.files(new)
        dev = O.Device(board.url, TOKEN, pin=str(board_cert))
        # a bad pair leaves the old one: a key not matching the certificate, a cut key, a cut certificate
        for bad in (pair_body(der, C.files(other)[1]), pair_body(der, key[:-20]), pair_body(der[:200], key)):
            status, answer = dev.call("POST", "/cert", json_body(bad))
            assert status == 422 and "not a key and its certificate; the old ones stay" in answer["error"], (status, answer)
        dev.close()
        assert [(board.files / n).read_bytes() for n in ("cert.der", "key.der")] == old_files
        assert not [p.name for p in board.files.iterdir() if p.name.endswith(".new")]
        assert O.served_pin(board.host, board.port) == pin
        # a replayed request gets 401: its nonce was used (here a refused one: 422, then 401)
        raw = signed_raw(board.url, board_cert, dev.nonce(), pair_body(der, key[:-20]))
        dev.close()
        assert send_raw(board.url, board_cert, raw)[0] == 422
        status, body = send_raw(board.url, board_cert, raw)
        assert status == 401 and "fresh nonce" in body
        # the rotation with the real tool over the pinned connection; the board restarts with the new pair
        boots = board.boots
        assert O.main(["--device", board.url, "--token", TOKEN, "--pin", str(board_cert), "--new-cert", str(new),
                       "--wait", "40"]) == 0, capsys.readouterr().err + board.output_tail(40)
        out = capsys.readouterr().out
        assert "serves the new certificate (pin %s): pass CERT=%s" % (new_pin, new) in out
        assert board.boots > boots
        assert (board.files / "cert.der").read_bytes() == der and (board.files / "key.der").read_bytes() == key
        assert O.served_pin(board.host, board.port) == new_pin
        # the old pin is refused in one line, the new one accepted
        assert L.main(["--device", board.url, "--token", TOKEN, "--pin", str(board_cert)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not the pinned one (sha256 %s, pinned %s)" % (new_pin, pin) in err
        assert get(board.url, new) == (200, "app 1 https")
        assert L.main(["--device", board.url, "--token", TOKEN, "--pin", new_pin]) == 0
        # an accepted rotation request replayed after the restart: 401, the certificate stays
        third = tmp_path / "third"
        third_pin = C.make(third)
        raw = signed_raw(board.url, new, O.Device(board.url, TOKEN, pin=str(new)).nonce(), pair_body(*C.files(third)))
        status, body = send_raw(board.url, new, raw)
        assert status == 200 and third_pin in body
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                if O.served_pin(board.host, board.port) == third_pin:
                    break
            except (OSError, ssl.SSLError):
                pass
            time.sleep(0.2)
        assert O.served_pin(board.host, board.port) == third_pin
        status, body = send_raw(board.url, third, raw)
        assert status == 401, body
        assert (board.files / "cert.der").read_bytes() == C.files(third)[0]


def json_body(raw):
    import json

    return json.loads(raw.decode())


@needs_board
def test_a_cut_rotation_is_finished_or_dropped_at_start(certs, tmp_path):
    """kitota.finish_cert on the unix port: a lone cert.new (the key already renamed) is put in
    place; both .new files (cut before the renames) are dropped and the old pair stays."""
    pin, board, _, other = certs
    script = ("import kitnet\nkitnet.CERT, kitnet.KEY = 'cert.der', 'key.der'\nimport kitota\n"
              "kitota.finish_cert()\nimport os\nprint(sorted(os.listdir('.')))\n")
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", str(ROOT / "src" / "kit")]))
    for leftovers, want in (({"cert.der.new": other}, other), ({"cert.der.new": other, "key.der.new": other}, board)):
        fs = tmp_path / ("fs%d" % len(leftovers))
        fs.mkdir()
        for n in ("cert.der", "key.der"):
            (fs / n).write_bytes((board / n).read_bytes())
        for n, src in leftovers.items():
            (fs / n).write_bytes((src / n[:-4]).read_bytes())
        run = subprocess.run([V.find_micropython(), "-c", script], cwd=str(fs), env=env, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert "['cert.der', 'key.der']" in run.stdout, run.stdout
        assert (fs / "cert.der").read_bytes() == (want / "cert.der").read_bytes()


# --------------------------------------------------------------------------------------------
# make test-hw: the hardware suite's --pin (tests/hardware/conftest.py)


def _suite(device, *extra):
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/hardware/test_info.py",
            "--device", device] + list(extra)
    return subprocess.run(argv, cwd=str(ROOT), capture_output=True, text=True, timeout=300)


def test_the_hardware_suite_refuses_another_certificate_in_one_line(certs):
    pin, board, other_pin, other = certs
    impostor = RecordingTLSServer(other)
    try:
        url = "https://127.0.0.1:%d" % impostor.port
        run = _suite(url, "--pin", str(board))
        assert run.returncode != 0
        assert "not the pinned one (sha256 %s, pinned %s)" % (other_pin, pin) in run.stdout, run.stdout[-2000:]
        run = _suite(url)
        assert run.returncode != 0 and "no certificate is pinned: pass CERT=" in run.stdout
        # make test-hw DEVICE=https://... CERT=...: tools.suite.smoke hands the pin to the suite
        run = subprocess.run([sys.executable, "-m", "tools.suite.smoke", "--device", url, "--report",
                              str(board.parent / "hw.xml"), "--", "--pin", str(board)],
                             cwd=str(ROOT), capture_output=True, text=True, timeout=300)
        assert run.returncode != 0 and "not the pinned one (sha256 %s" % other_pin in run.stdout, run.stdout[-2000:]
        time.sleep(0.3)
        assert impostor.received == b""  # nothing of a request reached it
    finally:
        impostor.close()


@needs_board
def test_the_hardware_suite_talks_to_a_pinned_board_over_https(certs):
    pin, board_cert, _, _ = certs
    with V.VirtualBoard("UNIX", app=None, netns="off", ota_token=TOKEN, https=board_cert, quiet=True) as board:
        run = _suite(board.url, "--pin", pin)
        # the pin check passed and the pinned session reached the board: the board without an app
        # is not the smoke app, and says so over TLS (404)
        assert "not the pinned one" not in run.stdout
        assert "does not answer /__smoke/info: 404" in run.stdout, run.stdout[-2000:]


# --------------------------------------------------------------------------------------------
# make wifi CERT= / make deploy CERT=: the files reach the board over its serial port


@needs_board
@pytest.mark.skipif(os.name != "posix", reason="the virtual serial board needs POSIX ptys")
def test_make_wifi_and_deploy_put_the_certificate_on_the_board(certs, tmp_path, capsys):
    from serial_board import SerialBoard
    from tools.device import deploy as S
    from tools.device import wifi as W

    pin, board_cert, _, other = certs
    board_fs = tmp_path / "board"
    board_fs.mkdir()
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", str(ROOT / "src" / "kit")]))
    with SerialBoard(V.find_micropython(), board_fs, env=env) as board:
        W.store("Home Net", "correct horse", board.port, cert=str(board_cert))
        assert (board_fs / "cert.der").read_bytes() == (board_cert / "cert.der").read_bytes()
        assert (board_fs / "key.der").read_bytes() == (board_cert / "key.der").read_bytes()
        assert "pin %s" % pin in capsys.readouterr().out
        # the board's kitnet serves it (paths relative: the unix port's root is the host's)
        out = S.exec_code(board.port, "import kitnet\nkitnet.CERT, kitnet.KEY = 'cert.der', 'key.der'\n"
                                      "print('CTX', type(kitnet.tls()).__name__)")
        assert "CTX SSLContext" in out, out
        # make deploy CERT= replaces them (another board's certificate here)
        assert S.main(["--app", str(app_dir(tmp_path, "app", "print('hi')\n")), "--port", board.port,
                       "--cert", str(other), "--no-reset"]) == 0, capsys.readouterr().err
        assert (board_fs / "cert.der").read_bytes() == (other / "cert.der").read_bytes()
        assert S.main(["--app", str(tmp_path / "app"), "--port", board.port, "--cert", str(tmp_path / "none"),
                       "--no-reset"]) == 1
        assert "make cert CERT=" in capsys.readouterr().err
