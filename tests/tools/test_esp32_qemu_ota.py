"""Cable-free updates on the emulated ESP32-C3 and ESP32: the real esp32 port, its bootloader and flash.

What the virtual board shows with a file-backed esp32.Partition stand-in (tests/tools/
test_ota.py), shown here on the firmware itself under QEMU: a board flashed once with an OTA
build takes its first app over the network (the frozen boot.py runs ``kitota.serve()`` while
there is no main.py), refuses a missing or wrong token, keeps running its firmware after an
interrupted or foreign upload, writes a new firmware to the other app slot with
``make ota FIRMWARE=1``'s code, boots it and confirms it once its web server answers, and
goes back to the old slot (ESP-IDF's bootloader rollback) when the new firmware is reset
before it answered anything.

Runs on each emulated board (BOARDS: ESP32_C3_QEMU, then ESP32_QEMU) that is here: its QEMU
on PATH (`. <ROOT>/env.sh` from esp32c3-qemu.sh / esp32-qemu.sh) and an OTA build with the ota
extension in firmware/<BOARD>/:

    make BOARD=ESP32_C3_QEMU firmware OTA=1 EXTENSIONS="cors session sse websocket wifi ota" \\
        NATIVE=1 MICROPY_DIR=/tmp/esp32c3-qemu/src/micropython
    make BOARD=ESP32_QEMU firmware OTA=1 EXTENSIONS="cors session sse websocket wifi ota" \\
        NATIVE=1 MICROPY_DIR=/tmp/esp32-qemu/src/micropython

and skips that board with one line otherwise. Per board, the tests share one emulated board
and run in order.
"""
import json
import shutil
import time
import urllib.error
import urllib.request

import pytest

from tools.selection import boards as B
from tools.device import deploy as S
from tools.device import ota as O
from tools.targets import qemu_esp32 as Q
from tools.build.base import sha256_file

ROOT = B.ROOT
#: The emulated boards these tests run on, each when it is here; BOARD/OUT: the first one's.
BOARDS = ("ESP32_C3_QEMU", "ESP32_QEMU")
BOARD = BOARDS[0]
OUT = ROOT / "firmware" / BOARD
TOKEN = "qemu-ota-token-2026"
APP_V1 = '''\
import kitota
from microdot import Microdot

app = Microdot()
kitota.install(app)


@app.get("/")
async def index(request):
    return "app v1"


print("app v1 ready")
app.run(port=5000)
'''


def out(name):
    """firmware/<name>/, where the board's build is."""
    return ROOT / "firmware" / name


def _missing(name=BOARD):
    board = B.load_board(name)
    binary, where = board.qemu["binary"], out(name)
    if shutil.which(binary) is None:
        return "%s not on PATH (`. <ROOT>/env.sh` from %s)" % (binary, Q.SETUP_SCRIPTS[board.chip])
    try:
        info = json.loads((where / "build-info.json").read_text())
    except (OSError, ValueError):
        return "no firmware/%s/build-info.json (make BOARD=%s firmware OTA=1 ...)" % (name, name)
    if info.get("variant") not in (board.ota_variant, board.ota_noblobs_variant):
        return "firmware/%s is variant %s, not an OTA build (make BOARD=%s firmware OTA=1 ...)" % (
            name, info.get("variant"), name)
    if "ota" not in info.get("extensions", []):
        return 'firmware/%s has no ota extension (EXTENSIONS="... ota")' % name
    if not (where / O.APP_IMAGE).is_file() or not (where / "flash_image.bin").is_file():
        return "firmware/%s lacks %s or flash_image.bin; build it again" % (name, O.APP_IMAGE)
    return None


def each_board(missing=_missing):
    """BOARDS as fixture parameters, each skipping with ``missing``'s one-line reason."""
    return [pytest.param(n, marks=pytest.mark.skipif(missing(n) is not None, reason=str(missing(n))))
            for n in BOARDS]

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url, token=None):
    headers = {}
    if token:  # signed over a fresh nonce (the KitOTA scheme of tools/device/ota.py)
        parts = urllib.parse.urlsplit(url)
        with _opener.open("%s://%s/ota/nonce" % (parts.scheme, parts.netloc), timeout=20) as r:
            nonce = json.loads(r.read())["nonce"]
        headers["Authorization"] = O.authorization(token, "GET", parts.path, nonce)
    req = urllib.request.Request(url, headers=headers)
    try:
        with _opener.open(req, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(url, timeout=120.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return get(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="module", params=each_board())
def eb(request):
    lines = []
    with Q.EmulatedBoard(request.param, echo=lines.append) as board:
        yield board


@pytest.fixture(scope="module")
def dev(eb):
    d = O.Device(eb.url, TOKEN, timeout=30)
    yield d
    d.close()


def test_first_app_arrives_over_the_network_and_only_with_the_token(eb, dev, tmp_path_factory):
    eb.provision(ota_token=TOKEN)  # what `make wifi OTA_TOKEN=...` stores; no main.py on the board
    S.soft_reset(eb.console.device, follow=2.0)
    status, body = wait_for(eb.url + "/")
    assert status == 200 and b"No app on this board yet" in body  # kitota.serve() from boot.py
    for token in (None, "wrong-token-0000000"):
        status, body = get(eb.url + "/ota/info", token)
        assert status == 401 and b"error" in body
    status, body = get(eb.url + "/ota/info", TOKEN)
    info = json.loads(body)
    assert status == 200 and info["firmware"]["running"] == "ota_0" and info["firmware"]["next"] == "ota_1"
    assert info["firmware"]["next_bytes"] == 0x180000
    app = tmp_path_factory.mktemp("app")
    (app / "main.py").write_text(APP_V1)
    assert O.update_app(dev, str(app), wait=120) == ["main.py"]
    assert wait_for(eb.url + "/") == (200, b"app v1")


def test_broken_firmware_uploads_change_nothing(eb, dev):
    where = out(eb.board.name)
    image = (where / O.APP_IMAGE).read_bytes()
    sha = sha256_file(where / O.APP_IMAGE)
    # Not an app image (the merged flash image starts with the bootloader): refused at once.
    flash = (where / "flash_image.bin").read_bytes()
    dev.expect("POST", "/firmware/begin", {"size": len(image), "sha256": sha})
    status, answer = dev.call("PUT", "/firmware", flash[:O.PIECE], "offset=0")
    assert status == 422 and "app" in answer["error"]
    # Cut off after a few pieces: the commit refuses, the boot partition stays.
    dev.expect("POST", "/firmware/begin", {"size": len(image), "sha256": sha})
    for offset in range(0, 3 * O.PIECE, O.PIECE):
        dev.expect("PUT", "/firmware", image[offset:offset + O.PIECE], "offset=%d" % offset)
    status, answer = dev.call("POST", "/firmware/commit")
    assert status == 422 and "boot partition is unchanged" in answer["error"]
    # Too big for the slot.
    status, answer = dev.call("POST", "/firmware/begin", {"size": 0x180000 + 1, "sha256": sha})
    assert status == 413
    info = dev.expect("GET", "/info")
    assert info["firmware"]["running"] == "ota_0"
    assert get(eb.url + "/") == (200, b"app v1")


def test_new_firmware_boots_from_the_other_slot_and_confirms_itself(eb, dev):
    fw = O.update_firmware(dev, eb.board, wait=180)
    assert fw["running"] == "ota_1" and fw["confirmed"] is True
    assert get(eb.url + "/") == (200, b"app v1")  # the filesystem and the app survived


def _read_until(link, marker, timeout):
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data:
        if time.monotonic() > deadline:
            raise AssertionError("no %r on the console within %d s; last: %r" % (marker, timeout, data[-300:]))
        data += link.read(4096)
    return data


def test_unconfirmed_firmware_is_rolled_back_at_the_next_reset(eb, dev):
    board = eb.board
    with eb.open_console() as link:
        link.reset_input_buffer()
        O.update_firmware(dev, board, wait=0)  # to ota_0; restarts without waiting for it
        dev.close()
        # The new firmware boots and starts the app (kitota installed, the server about to
        # listen), but nothing has asked it anything yet.
        _read_until(link, b"app v1 ready", 180)
        link.write(b"\x03\x03")  # stop it and reset the chip before it answered a request
        _read_until(link, b">>> ", 30)
        link.write(b"import machine; machine.reset()\r\n")
        _read_until(link, b"kitnet:", 180)
    wait_for(eb.url + "/")
    fw = dev.expect("GET", "/info")["firmware"]
    assert fw["running"] == "ota_1" and fw["next"] == "ota_0"  # the bootloader went back
    assert get(eb.url + "/") == (200, b"app v1")
