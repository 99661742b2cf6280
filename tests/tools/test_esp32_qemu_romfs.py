"""Apps in place from flash on the emulated ESP32-C3: the real esp32 port, its ``romfs``
partition and MicroPython's own ROMFS mount (what tests/tools/test_romfs.py shows on the
virtual board).

``make deploy ROMFS=1``'s code writes the app's modules and the kit module its firmware lacks
(microdot.pubsub) as one ROMFS image with ``mpremote romfs deploy``; after the soft reset they
are imported from /rom. ``make ota ROMFS=1``'s code then sends a new image over the network:
kitota checks it and writes it at the restart; wrong, foreign and cut uploads leave the old
image.

QEMU's esp32c3 cache model copies a 64 KiB flash page when the MMU maps it and refreshes it
only when its MMU entry changes: neither flash writes nor the chip's software reset make it
read a page that was mapped before again (a chip's cache is invalidated at reset). So after
each write the tests power-cycle the emulated board (QEMU starts again on the same flash),
and what they check is what is in flash.

Needs qemu-system-riscv32 on PATH (`. <ROOT>/env.sh` from esp32c3-qemu.sh) and an OTA build
with the ota extension and a ROMFS area in firmware/ESP32_C3_QEMU/:

    make BOARD=ESP32_C3_QEMU firmware OTA=1 EXTENSIONS="cors session sse websocket wifi ota" \\
        NATIVE=1 MICROPY_DIR=/tmp/esp32c3-qemu/src/micropython

and skips with one line otherwise. The tests share one emulated board and run in order.
"""
import hashlib
import json
import shutil
import time
import urllib.error
import urllib.request

import pytest

from tools.selection import boards as B
from tools.device import deploy as S
from tools.device import ota as O
from tools.device import romfs as R
from tools.targets import qemu_esp32 as Q

ROOT = B.ROOT
BOARD = "ESP32_C3_QEMU"
OUT = ROOT / "firmware" / BOARD
TOKEN = "qemu-romfs-token-2026"
MAIN = '''\
import kitota
from microdot import Microdot
import helpers

app = Microdot()
kitota.install(app)


@app.get("/")
async def index(request):
    return "%s from %s" % (helpers.VERSION, helpers.__file__)


print("romfs app ready")
app.run(port=5000)
'''
PAD = "x" * 6000  # a constant that makes the image longer than one 4 KiB piece


def _missing():
    board = B.load_board(BOARD)
    if shutil.which(board.qemu["binary"]) is None:
        return "%s not on PATH (`. <ROOT>/env.sh` from esp32c3-qemu.sh)" % board.qemu["binary"]
    try:
        info = json.loads((OUT / "build-info.json").read_text())
    except (OSError, ValueError):
        return "no firmware/%s/build-info.json (make BOARD=%s firmware OTA=1 ...)" % (BOARD, BOARD)
    if info.get("variant") not in (board.ota_variant, board.ota_noblobs_variant) or "ota" not in info.get("extensions", []):
        return 'firmware/%s is not an OTA build with the ota extension (make BOARD=%s firmware OTA=1 EXTENSIONS="... ota")' % (BOARD, BOARD)
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url):
    try:
        with _opener.open(url, timeout=20) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(url, want, timeout=150.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = get(url)
            if last == (200, want):
                return last
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError("%s did not answer %r within %d s (last: %r)" % (url, want, timeout, last))


def make_app(folder, version, pad=False):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text(MAIN)
    body = "from microdot.pubsub import PubSub\nVERSION = %r\n" % version
    if pad:
        body += "PAD = %r\n" % PAD
    (folder / "helpers.py").write_text(body)
    return folder


@pytest.fixture(scope="module")
def eb():
    lines = []
    with Q.EmulatedBoard(BOARD, echo=lines.append) as board:
        has = board.console_run("import vfs\nprint('ROMFS', hasattr(vfs, 'rom_ioctl') and vfs.rom_ioctl(1))")
        if "ROMFS 1" not in has:
            pytest.skip("firmware/%s has no ROMFS area (built before it; make BOARD=%s firmware OTA=1 ...)" % (BOARD, BOARD))
        yield board


@pytest.fixture(scope="module")
def dev(eb):
    d = O.Device(eb.url, TOKEN, timeout=30)
    yield d
    d.close()


def test_deploy_romfs_imports_in_place_from_the_partition(eb, tmp_path_factory, capsys):
    eb.provision(ota_token=TOKEN)
    app = make_app(tmp_path_factory.mktemp("v1"), "v1")
    S.deploy(str(app), port=eb.console_device, reset=True, follow=4.0, romfs=True)
    out = capsys.readouterr().out
    assert "ROMFS image:" in out and "/rom/helpers.mpy, /rom/lib/microdot/pubsub.mpy" in out
    assert "ROMFS image deployed" not in out  # mpremote's output stays captured
    eb.power_cycle()
    wait_for(eb.url + "/", "v1 from /rom/helpers.mpy")
    # the filesystem has main.py only; the image is in the partition, mounted at /rom
    listing = eb.console_run("import os\nprint(sorted(os.listdir('/')), sorted(os.listdir('/rom')), os.listdir('/rom/lib/microdot'))")
    assert "'main.py'" in listing and "'helpers.py'" not in listing
    assert "['helpers.mpy', 'lib'] ['pubsub.mpy']" in listing
    eb.reset()
    wait_for(eb.url + "/", "v1 from /rom/helpers.mpy")


def test_ota_romfs_replaces_the_image(eb, dev, tmp_path_factory):
    info = dev.expect("GET", "/info")
    assert info["romfs"]["bytes"] == 0x40000 and info["romfs"]["pending"] is False
    v2 = make_app(tmp_path_factory.mktemp("v2"), "v2", pad=True)
    done = O.update_romfs(dev, str(v2), wait=150)
    assert {"helpers.mpy", "lib/microdot/pubsub.mpy"} <= set(done["paths"]) and done["files"] == []
    assert "lib/kitota.mpy" not in done["paths"]  # the firmware holds it (POST /ota/modules)
    assert done["bytes"] > O.PIECE
    assert dev.expect("GET", "/info")["romfs"]["pending"] is False  # written at the restart
    dev.close()
    eb.power_cycle()
    wait_for(eb.url + "/", "v2 from /rom/helpers.mpy")


def test_wrong_or_cut_romfs_uploads_leave_the_old_image(eb, dev, tmp_path_factory):
    v3 = make_app(tmp_path_factory.mktemp("v3"), "v3", pad=True)
    data, _ = R.image(v3, ["-march=rv32imc"], [(ROOT / "src/microdot/pubsub.py", "microdot/pubsub.py")])
    sha = hashlib.sha256(data).hexdigest()
    # a wrong sha256: refused at the commit
    dev.expect("POST", "/romfs/begin", {"size": len(data), "sha256": "ab" * 32})
    for offset in range(0, len(data), O.PIECE):
        dev.expect("PUT", "/romfs", data[offset:offset + O.PIECE], "offset=%d" % offset)
    status, answer = dev.call("POST", "/romfs/commit", {})
    assert status == 422 and "sha256 does not match; the ROMFS image is unchanged" in answer["error"]
    # cut after the first piece: the commit finds it incomplete
    dev.expect("POST", "/romfs/begin", {"size": len(data), "sha256": sha})
    dev.expect("PUT", "/romfs", data[:O.PIECE], "offset=0")
    status, answer = dev.call("POST", "/romfs/commit", {})
    assert status == 422 and "got %d of %d bytes" % (O.PIECE, len(data)) in answer["error"]
    # not a ROMFS image: refused at its first piece
    dev.expect("POST", "/romfs/begin", {"size": len(data), "sha256": sha})
    status, answer = dev.call("PUT", "/romfs", b"\xe9" + data[1:O.PIECE], "offset=0")
    assert status == 422 and "not a ROMFS image" in answer["error"]
    # too large for the partition
    status, answer = dev.call("POST", "/romfs/begin", {"size": 0x40000 + 1, "sha256": sha})
    assert status == 413
    assert get(eb.url + "/") == (200, "v2 from /rom/helpers.mpy")
    # and the partition still holds v2 after a power cycle
    dev.close()
    eb.power_cycle()
    wait_for(eb.url + "/", "v2 from /rom/helpers.mpy")
