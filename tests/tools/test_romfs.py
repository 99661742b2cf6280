"""Apps in place from flash: ROMFS images (tools/device/romfs.py), `make deploy ROMFS=1` and
`make ota ROMFS=1` (tools/device/deploy.py, tools/device/ota.py, src/kit/kitota.py).

The images are built by mpremote's own ROMFS writer from modules compiled by the real
mpy-cross, and mounted by the real MicroPython unix port with ``vfs.VfsRom``; on the virtual
board (tools/targets/virtual.py, ``romfs=True``) the ROMFS area is the ``esp32`` stand-in's
file-backed ``romfs`` partition, which the kit's start-up mounts at /rom as MicroPython does.
The emulated ESP32-C3 shows the same on the firmware itself (tests/tools/test_esp32_qemu_romfs.py).
"""
import hashlib
import os
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from tests.ota_sign import Signed, headers as signed
from tools.device import deploy as S
from tools.device import ota as O
from tools.device import romfs as R
from tools.targets import virtual as V

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
MISSING = V.unavailable()
needs_board = pytest.mark.skipif(MISSING is not None, reason="virtual board unavailable: %s" % MISSING)

TOKEN = "romfs-token-0123456789"
AUTH = Signed(TOKEN)
MAIN = '''\
import os
import kitota
from microdot import Microdot
import helpers

app = Microdot()
kitota.install(app)


@app.get("/")
async def index(request):
    return "%s %s from %s" % (helpers.VERSION, TAG, helpers.__file__)


TAG = "main-1"
app.run(port=int(os.getenv("PORT") or 5000))
'''


def make_app(folder, version, tag="main-1", pubsub=False):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text(MAIN.replace("main-1", tag))
    body = 'VERSION = "%s"\n' % version
    if pubsub:
        body = "from microdot.pubsub import PubSub\n" + body
    (folder / "helpers.py").write_text(body)
    (folder / "static").mkdir(exist_ok=True)
    (folder / "static" / "page.txt").write_text("page\n")
    return folder


# --------------------------------------------------------------------------------------------
# Building images


def test_split_and_plan_keep_main_on_the_filesystem(tmp_path):
    app = make_app(tmp_path / "app", "v1")
    modules = R.app_modules(app)
    assert sorted(modules) == ["helpers.py"]
    files = S.app_files(app)
    inside, rest = R.split_app(files)
    assert sorted(inside) == ["helpers.py"] and sorted(rest) == ["main.py", "static/page.txt"]
    kit = [(ROOT / "src/microdot/pubsub.py", "microdot/pubsub.py")]
    assert [t for _, _, t in R.plan(modules, kit)] == ["helpers.mpy", "lib/microdot/pubsub.mpy"]


def test_header_check():
    assert R.header_problem(b"") == "no d2 cd 31 ROMFS header"
    good = R.MAGIC + bytes([3]) + b"abc"
    assert R.header_problem(good) is None
    assert R.header_problem(good[:-1]) == "the header says 7 bytes, the image has 6"
    assert R.header_problem(b"\x00" + good[1:]) == "no d2 cd 31 ROMFS header"


@pytest.mark.skipif(not MICROPYTHON.exists(), reason="no .venv/bin/micropython; run `make setup`")
def test_image_mounts_and_imports_on_micropython(tmp_path):
    app = make_app(tmp_path / "app", "v7", pubsub=True)
    kit = [(ROOT / "src/microdot/pubsub.py", "microdot/pubsub.py")]
    data, paths = R.image(app, [], kit)
    assert paths == ["helpers.mpy", "lib/microdot/pubsub.mpy"]
    assert R.header_problem(data) is None
    (tmp_path / "app.romfs").write_bytes(data)
    code = (
        "import vfs, sys, os\n"
        "vfs.mount(vfs.VfsRom(open('app.romfs', 'rb').read()), '/rom')\n"
        "sys.path[:] = ['/rom', '/rom/lib', '.frozen']\n"
        "import helpers\n"
        "print(helpers.VERSION, helpers.__file__, sorted(os.listdir('/rom')), sys.modules['microdot.pubsub'].__file__)\n"
    )
    out = subprocess.run([str(MICROPYTHON), "-c", code], cwd=str(tmp_path), capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, MICROPYPATH=str(ROOT / "src")))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.split() == ["v7", "/rom/helpers.mpy", "['helpers.mpy',", "'lib']",
                                  "/rom/lib/microdot/pubsub.mpy"]


def test_empty_image_and_cli_errors_are_one_line(tmp_path, capsys):
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "main.py").write_text("print(1)\n")
    with pytest.raises(R.RomfsError, match="Nothing to put into a ROMFS image"):
        R.image(lone, [])
    assert R.main(["--app", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err.startswith("error: App folder")
    app = make_app(tmp_path / "app", "v1", pubsub=True)
    assert R.main(["--app", str(app), "--board", "ESP32_C3_QEMU", "--out", str(tmp_path / "a.romfs")]) == 0
    # the C3's default firmware freezes neither pubsub nor kitota: both go into the image
    assert "/rom/helpers.mpy, /rom/lib/kitota.mpy, /rom/lib/microdot/pubsub.mpy" in capsys.readouterr().out
    assert R.header_problem((tmp_path / "a.romfs").read_bytes()) is None


@pytest.mark.skipif(not MICROPYTHON.exists() or os.name != "posix", reason="needs .venv/bin/micropython and POSIX ptys")
def test_deploy_romfs_to_a_board_without_a_romfs_area_is_refused(tmp_path, capsys):
    from serial_board import SerialBoard

    app = make_app(tmp_path / "app", "v1")
    board_fs = tmp_path / "board"
    board_fs.mkdir()
    with SerialBoard(str(MICROPYTHON), board_fs) as board:  # the unix port has no vfs.rom_ioctl
        with pytest.raises(S.DeployError) as exc:
            S.deploy(str(app), board.port, reset=False, romfs=True)
    assert "could not write the ROMFS image" in str(exc.value) and "ROMFS is not enabled" in str(exc.value)
    assert not (board_fs / "main.py").exists()  # nothing copied before the image was written


# --------------------------------------------------------------------------------------------
# The virtual board: make deploy ROMFS=1, make ota ROMFS=1


def board(app, **kw):
    # a firmware with the kit's runtime but without pubsub, which the apps here need
    return V.VirtualBoard("UNIX", app=app, ota_token=TOKEN, romfs=True, netns="off", quiet=True,
                          extensions=["ota", "wifi"], **kw)


def get(vb):
    return requests.get(vb.url + "/", timeout=10).text


def romfs_bytes(vb):
    return (vb.flash / "romfs.bin").read_bytes()


def send(vb, data, sha=None, cut_at=None, restart=True):
    """begin + pieces (``cut_at``: the connection drops inside the piece holding that offset)
    + commit; the commit's (status, json), or None when cut."""
    r = requests.post(vb.url + "/ota/romfs/begin", auth=AUTH, timeout=10,
                      json={"size": len(data), "sha256": sha or hashlib.sha256(data).hexdigest()})
    if r.status_code != 200:
        return r.status_code, r.json()
    for offset in range(0, len(data), 4096):
        piece = data[offset:offset + 4096]
        target = "/ota/romfs?offset=%d" % offset
        if cut_at is not None and offset <= cut_at < offset + 4096:
            with socket.create_connection((vb.host, vb.port), timeout=10) as s:
                auth = signed(vb.url, TOKEN, "PUT", target, piece)["Authorization"]
                s.sendall(b"PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n"
                          % (target.encode(), auth.encode(), len(piece)) + piece[:len(piece) // 2])
            return None
        r = requests.put(vb.url + target, data=piece, auth=AUTH, timeout=10)
        if r.status_code != 200:
            return r.status_code, r.json()
    r = requests.post(vb.url + "/ota/romfs/commit", auth=AUTH, timeout=10, json={"restart": restart})
    return r.status_code, r.json()


@needs_board
def test_deploy_romfs_then_ota_romfs_on_the_virtual_board(tmp_path, capsys):
    v1 = make_app(tmp_path / "v1", "v1", pubsub=True)
    with board(v1) as vb:
        # make deploy ROMFS=1: helpers and the kit module the firmware lacks come from /rom
        assert get(vb) == "v1 main-1 from /rom/helpers.mpy"
        assert {"helpers.mpy", "lib/microdot/pubsub.mpy"} <= set(vb.rom_paths)
        assert not (vb.files / "helpers.py").exists() and (vb.files / "static" / "page.txt").exists()
        info = requests.get(vb.url + "/ota/info", auth=AUTH, timeout=10).json()
        assert info["romfs"]["bytes"] == 128 * 1024 and info["romfs"]["pending"] is False
        # unsigned ROMFS requests are refused before anything is staged
        r = requests.post(vb.url + "/ota/romfs/begin", json={"size": 10, "sha256": "0" * 64}, timeout=10)
        assert r.status_code == 401

        # make ota ROMFS=1 with only the modules changed: the image goes, the board restarts
        v2 = make_app(tmp_path / "v2", "v2", pubsub=True)
        done = O.update_romfs(O.Device(vb.url, TOKEN), str(v2), wait=30)
        assert done["paths"] == vb.rom_paths and done["files"] == []
        assert get(vb) == "v2 main-1 from /rom/helpers.mpy" and vb.boots == 2
        assert "with the new ROMFS image" in capsys.readouterr().out

        # modules and main.py changed: the image waits and is written at the app update's restart
        v3 = make_app(tmp_path / "v3", "v3", tag="main-3", pubsub=True)
        done = O.update_romfs(O.Device(vb.url, TOKEN), str(v3), wait=40)
        assert done["files"] == ["main.py"]
        assert get(vb) == "v3 main-3 from /rom/helpers.mpy"
        assert "confirmed" in capsys.readouterr().out
        assert not (vb.files / ".kit" / "romfs.img").exists()


@needs_board
def test_cut_or_wrong_romfs_uploads_leave_the_old_image(tmp_path):
    v1 = make_app(tmp_path / "v1", "v1")
    v2 = make_app(tmp_path / "v2", "v2")
    new, _ = R.image(v2, [])
    with board(v1) as vb:
        old = romfs_bytes(vb)
        # a wrong sha256: checked at the commit, the area is untouched
        status, answer = send(vb, new, sha="ab" * 32)
        assert status == 422 and "sha256 does not match; the ROMFS image is unchanged" in answer["error"]
        # not a ROMFS image: refused at its first piece
        status, answer = send(vb, b"\x7fELF" + new[4:])
        assert status == 422 and "not a ROMFS image" in answer["error"]
        # larger than the area
        r = requests.post(vb.url + "/ota/romfs/begin", auth=AUTH, timeout=10,
                          json={"size": 128 * 1024 + 1, "sha256": "0" * 64})
        assert r.status_code == 413 and "does not fit the 131072-byte ROMFS area" in r.json()["error"]
        # the connection drops mid-upload; the commit finds it incomplete
        big = new + b""  # one piece: cut inside it
        assert send(vb, big, cut_at=10) is None
        r = requests.post(vb.url + "/ota/romfs/commit", auth=AUTH, timeout=10, json={})
        assert r.status_code == 422 and "got 0 of" in r.json()["error"]
        assert romfs_bytes(vb) == old and get(vb) == "v1 main-1 from /rom/helpers.mpy" and vb.boots == 1
        # and a reset in the middle of an upload: the old image is still there after it
        requests.post(vb.url + "/ota/romfs/begin", auth=AUTH, timeout=10,
                      json={"size": len(new), "sha256": hashlib.sha256(new).hexdigest()})
        vb.power_cycle()
        vb.wait_boots(2)
        assert get(vb) == "v1 main-1 from /rom/helpers.mpy" and romfs_bytes(vb) == old
        assert not (vb.files / ".ota" / "romfs").exists()


@needs_board
def test_a_checked_image_cut_by_a_reset_is_written_at_the_next_start(tmp_path):
    v1 = make_app(tmp_path / "v1", "v1")
    v2 = make_app(tmp_path / "v2", "v2")
    new, _ = R.image(v2, [])
    with board(v1) as vb:
        status, answer = send(vb, new, restart=False)  # checked; it waits for a restart
        assert status == 200 and answer == {"size": len(new), "restarting": False}
        assert (vb.files / ".kit" / "romfs.img").read_bytes() == new
        # power lost before the write, and the area left as a write cut after block 0's erase
        # would leave it: no valid header, so nothing is mounted at the next start
        area = bytearray(romfs_bytes(vb))
        area[:4096] = b"\xff" * 4096
        (vb.flash / "romfs.bin").write_bytes(bytes(area))
        vb.power_cycle()
        # the start without /rom fails to import helpers; kitota.install writes the checked
        # image first in the kit's safe mode, and the board restarts into it
        vb.wait_boots(3, timeout=60)
        vb.wait_listening(timeout=30)
        assert get(vb) == "v2 main-1 from /rom/helpers.mpy"
        assert romfs_bytes(vb)[:len(new)] == new and not (vb.files / ".kit" / "romfs.img").exists()


@needs_board
def test_ota_romfs_needs_a_romfs_area(tmp_path, capsys):
    app = make_app(tmp_path / "v1", "v1")
    with V.VirtualBoard("UNIX", app=app, ota_token=TOKEN, netns="off", quiet=True,
                        env={"KIT_ROMFS_SIZE": "0"}) as vb:
        assert get(vb) == "v1 main-1 from helpers.py"
        with pytest.raises(O.OtaError, match="has no ROMFS area: flash a kit firmware with one"):
            O.update_romfs(O.Device(vb.url, TOKEN), str(app), wait=5)
        r = requests.post(vb.url + "/ota/romfs/begin", auth=AUTH, timeout=10, json={"size": 10, "sha256": "0" * 64})
        assert r.status_code == 501 and "no ROMFS area" in r.json()["error"]
