"""HTTPS with a pinned device certificate on the emulated ESP32-C3: the real esp32 port and its
mbedtls under QEMU (issue #22 part 6; the virtual board's side is tests/tools/test_https.py).

The board gets what a real one gets over USB: the network set-up with an OTA token
(`make wifi OTA_TOKEN=...`'s code) and a certificate made by tools/device/cert.py (`make
deploy CERT=...`'s code, tools.device.deploy.put_cert). After a soft reset the kit serves
HTTPS: the wait for a first app (kitota.serve with kitnet.tls()), then the first app sent by
tools/device/ota.py over a pinned connection, which serves HTTPS itself with
``app.run(ssl=kitnet.tls())``. A client pinning another certificate is refused in one line.
Then the certificate is rotated over that pinned connection (``make ota NEWCERT=``'s code): a
pair whose key is another's is refused (422) by the esp32 port's checks, a good one is taken,
the board restarts and serves it, and the old pin is refused.

Needs qemu-system-riscv32 on PATH and an OTA build with the ota extension in
firmware/ESP32_C3_QEMU/ (the same image as test_esp32_qemu_ota.py)::

    make BOARD=ESP32_C3_QEMU firmware OTA=1 EXTENSIONS="cors session sse websocket wifi ota" \\
        NATIVE=1 MICROPY_DIR=/tmp/esp32c3-qemu/src/micropython

and skips with one line otherwise.
"""
import json
import shutil
import time

import pytest

from tools.device import cert as C
from tools.device import deploy as S
from tools.device import logs as L
from tools.device import ota as O
from tools.selection import boards as B
from tools.targets import qemu_esp32 as Q

ROOT = B.ROOT
BOARD = "ESP32_C3_QEMU"
TOKEN = "qemu-tls-token-2026"
APP = '''\
import kitnet
import kitota
from microdot import Microdot

app = Microdot()
kitota.install(app)


@app.get("/")
async def index(request):
    return "app %s " + request.scheme


app.run(port=5000, ssl=kitnet.tls())
'''


def _missing():
    board = B.load_board(BOARD)
    if shutil.which(board.qemu["binary"]) is None:
        return "%s not on PATH (`. <ROOT>/env.sh` from %s)" % (board.qemu["binary"], Q.SETUP_SCRIPTS[board.chip])
    try:
        info = json.loads((ROOT / "firmware" / BOARD / "build-info.json").read_text())
    except (OSError, ValueError):
        return "no firmware/%s/build-info.json (make BOARD=%s firmware OTA=1 ...)" % (BOARD, BOARD)
    missing = [e for e in ("wifi", "ota") if e not in info.get("extensions", [])]
    if missing:
        return 'firmware/%s has no %s extension (EXTENSIONS="... wifi ota")' % (BOARD, " or ".join(missing))
    return None


MISSING = _missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))


def get(url, pin, path="/"):
    host, port = url.split("://")[1].split(":")
    conn = C.PinnedHTTPSConnection(host, int(port), C.read_pin(pin), timeout=30)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def wait_for(url, pin, timeout=120.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return get(url, pin)
        except (OSError, C.CertError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    base = tmp_path_factory.mktemp("certs")
    C.make(base / "board")
    C.make(base / "other")
    C.make(base / "new")
    return base / "board", base / "other", base / "new"


@pytest.fixture(scope="module")
def eb(certs):
    lines = []
    with Q.EmulatedBoard(BOARD, echo=lines.append) as board:
        board.provision(ota_token=TOKEN)  # make wifi OTA_TOKEN=...
        S.put_cert(certs[0], board.console_device)  # make deploy CERT=... (cert.der, key.der)
        S.soft_reset(board.console_device, follow=2.0)
        yield board


def https_url(eb):
    return eb.url.replace("http://", "https://")


def test_the_board_waits_for_its_first_app_over_https(eb, certs):
    status, body = wait_for(https_url(eb), certs[0])
    assert status == 200 and body.startswith("No app on this board yet: send one with make ota DEVICE=https://")
    # the same port speaks no plain HTTP
    with pytest.raises(O.OtaError, match="Lost the connection"):
        O.Device(eb.url, TOKEN, timeout=20).nonce()


def test_another_certificate_is_refused_in_one_line(eb, certs, tmp_path, capsys):
    app = tmp_path / "x"
    app.mkdir()
    (app / "main.py").write_text(APP % "x")
    assert O.main(["--device", https_url(eb), "--app", str(app), "--token", TOKEN, "--pin", str(certs[1])]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "not the pinned one (sha256 %s, pinned %s)" % (C.read_pin(certs[0]), C.read_pin(certs[1])) in err
    assert L.main(["--device", https_url(eb), "--token", TOKEN, "--pin", C.read_pin(certs[1])]) == 1
    assert "not the pinned one" in capsys.readouterr().err
    assert wait_for(https_url(eb), certs[0])[1].startswith("No app on this board yet")  # nothing arrived


def test_first_app_over_pinned_https_serves_https(eb, certs, tmp_path, capsys):
    app = tmp_path / "v1"
    app.mkdir()
    (app / "main.py").write_text(APP % "1")
    t0 = time.monotonic()
    code = O.main(["--device", https_url(eb), "--app", str(app), "--token", TOKEN, "--pin", str(certs[0]),
                   "--wait", "180"])
    out = capsys.readouterr()
    assert code == 0, out.err + eb.console_text(40)
    assert "confirmed" in out.out
    print("first app over pinned HTTPS, sent and confirmed in %.1f s" % (time.monotonic() - t0))
    assert wait_for(https_url(eb), certs[0]) == (200, "app 1 https")
    assert L.main(["--device", https_url(eb), "--token", TOKEN, "--pin", str(certs[0])]) == 0


def test_rotation_over_pinned_https(eb, certs, tmp_path, capsys):
    import base64

    board, other, new = certs
    der, key = C.files(new)
    dev = O.Device(https_url(eb), TOKEN, timeout=60, pin=str(board))
    status, answer = dev.call("POST", "/cert", {"cert": base64.b64encode(der).decode(),
                                                "key": base64.b64encode(C.files(other)[1]).decode()})
    dev.close()
    assert status == 422 and "the old ones stay" in answer["error"], (status, answer)
    assert O.served_pin("127.0.0.1", eb.http_port, timeout=30) == C.read_pin(board)
    t0 = time.monotonic()
    code = O.main(["--device", https_url(eb), "--token", TOKEN, "--pin", str(board), "--new-cert", str(new),
                   "--wait", "180"])
    out = capsys.readouterr()
    assert code == 0, out.err + eb.console_text(40)
    assert "serves the new certificate (pin %s)" % C.read_pin(new) in out.out
    print("certificate rotated over pinned HTTPS in %.1f s" % (time.monotonic() - t0))
    assert wait_for(https_url(eb), new) == (200, "app 1 https")
    assert L.main(["--device", https_url(eb), "--token", TOKEN, "--pin", str(board)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not the pinned one (sha256 %s" % C.read_pin(new) in err
