"""Over-the-air updates (src/kit/kitota.py on the board, tools/device/ota.py on the PC) on the virtual board.

The device app (tests/tools/cablefree_device) runs on the real MicroPython unix port and serves
real HTTP on loopback; its ``esp32.Partition`` is the file-backed stand-in of tools/targets/virtual_host/,
and the firmware images are real ESP32 app images made by esptool's own image writer (and
read back by ``esptool image-info``). A ``machine.reset()`` restarts the board in place.
"""
import hashlib
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.ota_sign import Signed, headers as signed
from tests.tools.cablefree_board import DEVICE, CableFreeBoard, write_radio
from tools.device import ota as O
from tools.targets import virtual as V

MISSING = V.unavailable()
needs_board = pytest.mark.skipif(MISSING is not None, reason="virtual board unavailable: %s" % MISSING)

TOKEN = "ota-token-0123456789"
AUTH = Signed(TOKEN)  # every request signed over a fresh nonce (the KitOTA scheme)
HOME = [{"ssid": "Home", "password": "secret123", "rssi": -40, "ip": "127.0.0.1"}]
PART_SIZE = 64 * 1024


# --------------------------------------------------------------------------------------------
# Real ESP app images, written by esptool


def app_description(version):
    """An esp_app_desc_t (what ESP-IDF puts at the start of an app's first segment)."""
    head = struct.pack("<IIII", 0xABCD5432, 0, 0, 0)
    fields = [(version, 32), ("micropython", 32), ("12:00:00", 16), ("Dec  1 2026", 16), ("v5.5.1", 32)]
    body = b"".join(text.encode().ljust(size, b"\0") for text, size in fields) + bytes(32)
    return (head + body).ljust(256, b"\0")


def esp_image(path, version, chip="esp32", code_bytes=6000, app_desc=True):
    """Write a small but real app image for ``chip`` with esptool's image classes."""
    from esptool.bin_image import ELFSection, ESP32FirmwareImage, ESP32S3FirmwareImage

    image = {"esp32": ESP32FirmwareImage, "esp32s3": ESP32S3FirmwareImage}[chip]()
    image.entrypoint = 0x40080400
    first = (app_description(version) if app_desc else b"\x11" * 256) + version.encode() * 50
    code = (hashlib.sha256(version.encode()).digest() * (code_bytes // 32 + 1))[:code_bytes]
    image.segments = [ELFSection(b".flash.appdesc", 0x3F400020, first, 0),
                      ELFSection(b".iram0.text", 0x40080000, code, 0)]
    image.append_digest = True
    image.save(str(path))
    return Path(path)


def test_esptool_reads_the_test_images(tmp_path):
    image = esp_image(tmp_path / "app.bin", "v2")
    out = subprocess.run([sys.executable, "-m", "esptool", "image-info", str(image)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "App version: v2" in out.stdout and "Validation hash" in out.stdout and "(valid)" in out.stdout
    assert O.check_image(image, "esp32") == image.read_bytes()


def test_pc_refuses_images_that_are_not_app_images(tmp_path):
    with pytest.raises(O.OtaError, match="no app description"):
        O.check_image(esp_image(tmp_path / "boot.bin", "b", app_desc=False), "esp32")  # like a bootloader
    (tmp_path / "junk.bin").write_bytes(b"\x00" * 4096)
    with pytest.raises(O.OtaError, match="not an esp32 app image esptool can read"):
        O.check_image(tmp_path / "junk.bin", "esp32")
    with pytest.raises(O.OtaError, match="OTA=1"):
        O.check_image(tmp_path / "missing.bin", "esp32")
    with pytest.raises(O.OtaError, match="another chip|not an esp32 app image"):
        O.check_image(esp_image(tmp_path / "s3.bin", "s3", chip="esp32s3"), "esp32")


def test_firmware_defaults_to_the_app_image_the_build_copied(tmp_path, monkeypatch):
    monkeypatch.setattr(O, "ROOT", tmp_path)  # a project without builds
    with pytest.raises(O.OtaError) as exc:
        O.update_firmware(None, O.B.load_board("ESP32_GENERIC"))  # fails before talking to a board
    msg = str(exc.value)
    assert msg.startswith("No app image at 'firmware/ESP32_GENERIC/micropython.bin': ")
    assert "`make firmware BOARD=ESP32_GENERIC OTA=1`" in msg and "IMAGE=" in msg and "\n" not in msg
    with pytest.raises(O.OtaError, match="ESP32_GENERIC_C3 with a partition table of two app slots"):
        O.update_firmware(None, O.B.load_board("ESP32_GENERIC_C3"))
    out = tmp_path / "firmware" / "ESP32_GENERIC"
    out.mkdir(parents=True)
    (out / "micropython.bin").write_bytes(b"\x00" * 4096)  # there, but not an image: it was read
    with pytest.raises(O.OtaError, match="micropython.bin' is not an esp32 app image"):
        O.update_firmware(None, O.B.load_board("ESP32_GENERIC"))
    with pytest.raises(O.OtaError, match="other.bin"):  # IMAGE= still wins
        O.update_firmware(None, O.B.load_board("ESP32_GENERIC"), str(tmp_path / "other.bin"))


def test_cli_errors_are_one_line(capsys, monkeypatch):
    monkeypatch.delenv("OTA_TOKEN", raising=False)
    assert O.main(["--app", "examples/hello"]) == 1
    assert capsys.readouterr().err.startswith("error: No DEVICE: pass DEVICE=http://")
    assert O.main(["--device", "http://127.0.0.1:9"]) == 1
    assert "No OTA token: pass OTA_TOKEN=" in capsys.readouterr().err
    assert O.main(["--device", "ftp://x", "--token", TOKEN]) == 1
    assert "is not an http:// address" in capsys.readouterr().err
    port = V.free_port()  # nothing listens there
    assert O.main(["--device", "http://127.0.0.1:%d" % port, "--token", TOKEN]) == 1
    assert "Lost the connection to the board" in capsys.readouterr().err
    assert O.main(["--device", "http://127.0.0.1:%d" % port, "--token", TOKEN, "--firmware",
                   "--board", "RPI_PICO_W"]) == 1
    assert "cannot update its firmware over the air; flash it with `make flash`" in capsys.readouterr().err


def test_same_is_constant_time_shaped():
    sys.path.insert(0, str(O.ROOT / "src" / "kit"))
    try:
        import kitota
    finally:
        sys.path.pop(0)
    assert kitota.same("abc", "abc") and not kitota.same("abd", "abc") and not kitota.same("", "")
    assert not kitota.same("abc", None) and not kitota.same(None, "abc")
    text = (O.ROOT / "src" / "kit" / "kitota.py").read_text()
    body = text.split("def same", 1)[1].split("\ndef ", 1)[0]
    assert "==" not in body.replace("diff == 0", "")  # no early-exit comparison of the secrets


# --------------------------------------------------------------------------------------------
# On the virtual board


@pytest.fixture
def radio(tmp_path):
    return write_radio(tmp_path / "radio.json", HOME)


def start(radio, token=TOKEN, env=None, files=None):
    seed = {"wifi.json": json.dumps({"ssid": "Home", "password": "secret123", "ota_token": token})
            if token else json.dumps({"ssid": "Home", "password": "secret123"})}
    seed.update(files or {})
    extra = {"KIT_PART_SIZE": str(PART_SIZE)}
    extra.update(env or {})
    return CableFreeBoard(radio, V.free_port(), files=seed, env=extra)


def app_copy(tmp_path, version):
    app = tmp_path / ("app-" + version)
    shutil.copytree(str(DEVICE), str(app))
    (app / "version.txt").write_text(version + "\n")
    (app / "static").mkdir()
    (app / "static" / "blob.bin").write_bytes(hashlib.sha256(version.encode()).digest() * 400)  # 12.8 KB: 4 pieces
    return app


def staged(board):
    stage = board.files / ".ota"
    return sorted(p.name for p in stage.iterdir()) if stage.is_dir() else []


@needs_board
def test_token_is_required_and_nothing_is_written(radio, tmp_path):
    with start(radio) as board:
        wrong = Signed("wrong-token-000000")
        for kwargs in ({}, {"auth": wrong}, {"headers": {"Authorization": TOKEN}},
                       {"headers": {"Authorization": "Bearer " + TOKEN}}):  # the token in clear: refused too
            r = requests.get(board.url + "/ota/info", timeout=10, **kwargs)
            assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "KitOTA"
            r = requests.post(board.url + "/ota/begin", timeout=10,
                              json={"files": [["main.py", 3, "0" * 64]]}, **kwargs)
            assert r.status_code == 401
        assert staged(board) == []
        # an update begun with the right token cannot be fed with a wrong one
        body = b"new"
        r = requests.post(board.url + "/ota/begin", auth=AUTH, timeout=10,
                          json={"files": [["version.txt", 3, hashlib.sha256(body).hexdigest()]]})
        assert r.status_code == 200
        r = requests.put(board.url + "/ota/app/0?offset=0", data=body, timeout=10, auth=Signed("nope-nope-nope"))
        assert r.status_code == 401
        assert (board.files / ".ota" / "0").stat().st_size == 0
        r = requests.post(board.url + "/ota/commit", timeout=10)
        assert r.status_code == 401
        assert requests.get(board.url + "/", timeout=10).text == "app 1" and board.boots == 1
    with start(radio, token=None) as board:  # no token stored: OTA is closed
        r = requests.get(board.url + "/ota/info", auth=AUTH, timeout=10)
        assert r.status_code == 401 and "no OTA token on the board" in r.json()["error"]


@needs_board
def test_app_update_end_to_end(radio, tmp_path, capsys):
    app = app_copy(tmp_path, "2")
    with start(radio) as board:
        wifi_before = (board.files / "wifi.json").read_text()
        assert requests.get(board.url + "/", timeout=10).text == "app 1"
        assert O.main(["--device", board.url, "--app", str(app), "--token", TOKEN, "--wait", "30"]) == 0
        out = capsys.readouterr().out
        assert "static/blob.bin (12800 bytes)" in out and "version.txt (2 bytes)" in out
        assert "main.py" not in out.split("Sent")[0]  # unchanged: not sent
        assert "100%" in out and "Sent 2 file(s)" in out and "(1 unchanged)" in out
        assert requests.get(board.url + "/", timeout=10).text == "app 2"
        assert board.boots == 2, board.output_tail(80)  # the app restarted
        assert (board.files / "static" / "blob.bin").read_bytes() == (app / "static" / "blob.bin").read_bytes()
        assert (board.files / "wifi.json").read_text() == wifi_before
        assert staged(board) == []
        assert O.main(["--device", board.url, "--app", str(app), "--token", TOKEN]) == 0
        assert "all 3 files are up to date" in capsys.readouterr().out
        assert board.boots == 2


def upload(board, files, pieces=None):
    """begin + pieces through a raw keep-alive connection; returns the commit's (status, json)."""
    conn = http.client.HTTPConnection(board.host, board.port, timeout=10)
    rows = [[name, len(data), hashlib.sha256(data).hexdigest()] for name, data in files]
    body = json.dumps({"files": rows}).encode()
    conn.request("POST", "/ota/begin", body, dict(signed(board.url, TOKEN, "POST", "/ota/begin", body),
                                                   **{"Content-Type": "application/json"}))
    res = conn.getresponse()
    assert res.status == 200, res.read()
    res.read()
    for index, (name, data) in enumerate(files):
        data = (pieces or {}).get(name, data)
        for offset in range(0, len(data), 4096):
            target, piece = "/ota/app/%d?offset=%d" % (index, offset), data[offset:offset + 4096]
            conn.request("PUT", target, piece, signed(board.url, TOKEN, "PUT", target, piece))
            res = conn.getresponse()
            assert res.status == 200, res.read()
            res.read()
    conn.request("POST", "/ota/commit", headers=signed(board.url, TOKEN, "POST", "/ota/commit"))
    res = conn.getresponse()
    answer = json.loads(res.read())
    conn.close()
    return res.status, answer


@needs_board
def test_corrupted_file_changes_nothing(radio, tmp_path):
    with start(radio) as board:
        old_main = (board.files / "main.py").read_bytes()
        good = b"2\n"
        blob = b"x" * 9000
        bad = blob[:5000] + b"y" + blob[5001:]  # one byte flipped on the way
        status, answer = upload(board, [("version.txt", good), ("static/blob.bin", blob)],
                                pieces={"static/blob.bin": bad})
        assert status == 422 and answer["files"] == ["static/blob.bin"]
        assert "nothing changed" in answer["error"]
        assert (board.files / "version.txt").read_text() == "1\n"  # the intact file was not swapped in alone
        assert not (board.files / "static").exists()
        assert (board.files / "main.py").read_bytes() == old_main
        assert staged(board) == []
        assert requests.get(board.url + "/", timeout=10).text == "app 1" and board.boots == 1


@needs_board
def test_connection_cut_mid_upload_leaves_the_old_app(radio, tmp_path):
    with start(radio) as board:
        data = b"v" * 10000
        r = requests.post(board.url + "/ota/begin", auth=AUTH, timeout=10,
                          json={"files": [["version.txt", len(data), hashlib.sha256(data).hexdigest()]]})
        assert r.status_code == 200
        r = requests.put(board.url + "/ota/app/0?offset=0", data=data[:4096], auth=AUTH, timeout=10)
        assert r.status_code == 200
        # the next piece: its head and half of its body, then the connection drops
        with socket.create_connection((board.host, board.port), timeout=10) as s:
            auth = signed(board.url, TOKEN, "PUT", "/ota/app/0?offset=4096", data[4096:8192])["Authorization"]
            s.sendall(b"PUT /ota/app/0?offset=4096 HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                      b"Content-Length: 4096\r\n\r\n" % auth.encode() + data[4096:6000])
        r = requests.post(board.url + "/ota/commit", auth=AUTH, timeout=10)
        assert r.status_code == 422 and r.json()["files"] == ["version.txt"]
        assert (board.files / "version.txt").read_text() == "1\n"
        assert requests.get(board.url + "/", timeout=10).text == "app 1" and board.boots == 1
        # a reset in the middle of an upload: the half-made staging is dropped at the next boot
        r = requests.post(board.url + "/ota/begin", auth=AUTH, timeout=10,
                          json={"files": [["version.txt", len(data), hashlib.sha256(data).hexdigest()]]})
        requests.put(board.url + "/ota/app/0?offset=0", data=data[:4096], auth=AUTH, timeout=10)
        assert staged(board) == ["0"]
        board.power_cycle()
        board.wait_boots(2)
        assert requests.get(board.url + "/", timeout=10).text == "app 1"
        assert staged(board) == []


@needs_board
def test_a_swap_cut_by_a_reset_is_finished_at_boot(radio, tmp_path):
    journal = json.dumps([[".ota/0", "version.txt"], [".ota/1", "static/new.txt"]])
    files = {".ota/0": "3\n", ".ota/1": "fresh", ".ota/swap.json": journal}
    with start(radio, files=files) as board:
        assert requests.get(board.url + "/", timeout=10).text == "app 3"
        assert (board.files / "static" / "new.txt").read_text() == "fresh"
        assert staged(board) == []


@needs_board
def test_oversized_or_bad_uploads_change_nothing(radio, tmp_path):
    with start(radio) as board:
        def begin(rows):
            return requests.post(board.url + "/ota/begin", auth=AUTH, json={"files": rows}, timeout=10)

        sha = "a" * 64
        assert begin([["big.bin", 600 * 1024, sha]]).status_code == 413
        (board.files / "adir").mkdir()
        for name in ("../evil.py", "/main.py", "wifi.json", "boot.py", ".ota/0", "a//b", "x\\y", "adir"):
            r = begin([[name, 3, sha]])
            assert r.status_code == 400, name
        assert begin([["main.py", 3, "short"]]).status_code == 400
        assert begin("main.py").status_code == 400
        assert begin([["n%d.py" % i, 1, sha] for i in range(65)]).status_code == 413
        r = requests.post(board.url + "/ota/hashes", auth=AUTH, json=["n%d" % i for i in range(300)], timeout=10)
        assert r.status_code == 413
        r = requests.post(board.url + "/ota/hashes", auth=AUTH, json=["main.py", "../x", "nope.py"], timeout=10)
        assert r.json() == {"main.py": hashlib.sha256((DEVICE / "main.py").read_bytes()).hexdigest(),
                            "../x": None, "nope.py": None}
        assert begin([["version.txt", 3, sha]]).status_code == 200
        assert requests.put(board.url + "/ota/app/0?offset=0", data=b"toolong", auth=AUTH, timeout=10).status_code == 413
        assert requests.put(board.url + "/ota/app/0?offset=1", data=b"x", auth=AUTH, timeout=10).status_code == 409
        assert requests.put(board.url + "/ota/app/7?offset=0", data=b"x", auth=AUTH, timeout=10).status_code == 404
        assert requests.put(board.url + "/ota/app/0?offset=0", data=b"x" * 20000, auth=AUTH, timeout=10).status_code == 413
        assert (board.files / ".ota" / "0").stat().st_size == 0
        assert requests.post(board.url + "/ota/commit", auth=AUTH, timeout=10).status_code == 422
        assert (board.files / "version.txt").read_text() == "1\n" and board.boots == 1


# --------------------------------------------------------------------------------------------
# Firmware


def otadata(board):
    return json.loads((board.files / ".flash" / "otadata.json").read_text())


@needs_board
def test_firmware_update_boots_and_confirms(radio, tmp_path, capsys):
    old = esp_image(tmp_path / "v1.bin", "v1").read_bytes()
    new = esp_image(tmp_path / "micropython.bin", "v2", code_bytes=20000)
    with start(radio, files={".flash/ota_0.bin": old + b"\xff" * (PART_SIZE - len(old))}) as board:
        assert O.main(["--device", board.url, "--token", TOKEN, "--firmware", "--board", "ESP32_GENERIC",
                       "--image", str(new), "--wait", "30"]) == 0
        out = capsys.readouterr().out
        assert "-> partition ota_1 (%d bytes)" % len(new.read_bytes()) in out and "100%" in out
        assert "runs the new firmware from ota_1 and confirmed it" in out
        assert board.boots == 2
        written = (board.files / ".flash" / "ota_1.bin").read_bytes()
        assert written[:len(new.read_bytes())] == new.read_bytes()
        assert otadata(board) == {"boot": "ota_1", "previous": "ota_0", "state": "valid"}
        log = board.output_tail(60)
        assert "esp32 stand-in: booting ota_1 (pending verify)" in log and "ota_1 confirmed" in log
        board.power_cycle()  # confirmed: it stays
        board.wait_boots(3)
        info = requests.get(board.url + "/ota/info", auth=AUTH, timeout=10).json()
        assert info["firmware"]["running"] == "ota_1"


@needs_board
def test_unconfirmed_firmware_rolls_back(radio, tmp_path):
    new = esp_image(tmp_path / "micropython.bin", "v2")
    with start(radio) as board:
        dev = O.Device(board.url, TOKEN)
        O.update_firmware(dev, O.B.load_board("ESP32_GENERIC"), str(new), wait=0)
        dev.close()
        board.wait_boots(2)  # it restarted from ota_1 but nobody asked its web server anything
        assert otadata(board)["state"] == "pending_verify"
        board.power_cycle()
        board.wait_boots(3)
        assert "ota_1 was not confirmed; rolling back to ota_0" in board.output_tail(60)
        info = requests.get(board.url + "/ota/info", auth=AUTH, timeout=10).json()
        assert info["firmware"]["running"] == "ota_0"


@needs_board
def test_bad_firmware_uploads_leave_the_boot_partition(radio, tmp_path):
    old = esp_image(tmp_path / "v1.bin", "v1").read_bytes()
    with start(radio, files={".flash/ota_0.bin": old + b"\xff" * (PART_SIZE - len(old))}) as board:
        before = otadata(board)

        def send(data, sha=None, size=None):
            r = requests.post(board.url + "/ota/firmware/begin", auth=AUTH, timeout=10,
                              json={"size": size or len(data), "sha256": sha or hashlib.sha256(data).hexdigest()})
            if r.status_code != 200:
                return r
            for offset in range(0, len(data), 4096):
                r = requests.put(board.url + "/ota/firmware?offset=%d" % offset, data=data[offset:offset + 4096],
                                 auth=AUTH, timeout=10)
                if r.status_code != 200:
                    return r
            return requests.post(board.url + "/ota/firmware/commit", auth=AUTH, timeout=10)

        good = esp_image(tmp_path / "v2.bin", "v2").read_bytes()
        assert send(good * 20).status_code == 413  # larger than the 64 KB partition
        r = send(esp_image(tmp_path / "s3.bin", "s3", chip="esp32s3").read_bytes())
        assert r.status_code == 422 and "chip id 9" in r.json()["error"]
        r = send(esp_image(tmp_path / "boot.bin", "b", app_desc=False).read_bytes())
        assert r.status_code == 422 and "not an app image" in r.json()["error"]
        assert send(b"\x00" * 5000).status_code == 422
        r = send(good, sha="0" * 64)
        assert r.status_code == 422 and "sha256 does not match" in r.json()["error"]
        r = send(good[:4096] + good[4096:5000], size=len(good))  # a short piece that is not the last
        assert r.status_code == 413
        r = send(good[:4096], size=len(good))  # cut short: committed before the rest arrived
        assert r.status_code == 422 and "got 4096 of" in r.json()["error"]
        assert "boot partition is unchanged" in r.json()["error"]
        assert otadata(board) == before and board.boots == 1
        assert requests.get(board.url + "/", timeout=10).text == "app 1"


@needs_board
def test_boards_without_firmware_ota_answer_501(radio, tmp_path, capsys):
    with start(radio, env={"KIT_NO_ESP32": "1"}) as board:
        r = requests.post(board.url + "/ota/firmware/begin", auth=AUTH, json={"size": 100, "sha256": "a" * 64}, timeout=10)
        assert r.status_code == 501 and "rp2" in r.json()["error"]
        info = requests.get(board.url + "/ota/info", auth=AUTH, timeout=10).json()
        assert info["firmware"] is None and info["app"] is True
        image = esp_image(tmp_path / "micropython.bin", "v2")
        assert O.main(["--device", board.url, "--token", TOKEN, "--firmware", "--image", str(image)]) == 1
        assert "The board cannot take a firmware image: this board has no esp32.Partition" in capsys.readouterr().err


@needs_board
def test_the_first_app_arrives_over_the_air(radio, tmp_path, capsys):
    """A freshly provisioned board has no main.py: the kit's main.py serves only the OTA routes."""
    app = tmp_path / "first"
    app.mkdir()
    (app / "app.py").write_text(
        "from microdot import Microdot\nimport kitota, os\napp = Microdot()\n"
        "@app.get('/')\nasync def index(request):\n    return 'first app ' + __name__ + ' ' + __file__\n"
        "kitota.install(app)\napp.run(port=int(os.getenv('PORT')))\n")
    with start(radio, env={"KIT_APP_MAIN": "app.py"}) as board:
        r = requests.get(board.url + "/", timeout=10)
        assert r.text.startswith("No app on this board yet: send one with make ota")
        assert "kitota: no app.py; waiting for `make ota`" in board.output_tail()
        assert O.main(["--device", board.url, "--app", str(app), "--token", TOKEN, "--wait", "30"]) == 0
        assert "Sent 1 file(s)" in capsys.readouterr().out
        # kitstart.run_main() runs it as MicroPython runs main.py: as __main__, __file__ its name
        assert requests.get(board.url + "/", timeout=10).text == "first app __main__ app.py" and board.boots == 2


@needs_board
@pytest.mark.skipif(sys.platform == "win32", reason="the virtual serial board needs POSIX ptys")
def test_make_wifi_stores_the_token_kitota_checks(tmp_path, capsys):
    from tests.tools.serial_board import SerialBoard
    from tools.device import wifi as W

    fs = tmp_path / "board"
    fs.mkdir()
    env = dict(os.environ, MICROPYPATH=str(O.ROOT / "src" / "kit"))  # kitnet "frozen" in
    with SerialBoard(V.find_micropython(), fs, env=env) as serial:
        assert W.main(["--ssid", "Home", "--password", "secret123", "--port", serial.port,
                       "--ota-token", "short"]) == 1
        assert "OTA_TOKEN must be 12 to 64 printable ASCII characters" in capsys.readouterr().err
        assert not (fs / "wifi.json").exists()
        assert W.main(["--ssid", "Home", "--password", "secret123", "--port", serial.port,
                       "--ota-token", TOKEN]) == 0
    stored = json.loads((fs / "wifi.json").read_text())
    assert stored == {"ssid": "Home", "password": "secret123", "ota_token": TOKEN}
    radio = write_radio(tmp_path / "radio.json", HOME)
    with CableFreeBoard(radio, V.free_port(), files={"wifi.json": json.dumps(stored)}) as board:
        assert requests.get(board.url + "/ota/info", auth=AUTH, timeout=10).status_code == 200


def test_a_post_the_board_is_slow_to_answer_is_not_sent_twice():
    """A timeout is not a closed keep-alive connection: the board may be mid-commit, and a
    second copy of the request would meet "no update in progress"."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    seen = []

    def serve():
        conns = []
        listener.settimeout(5)
        try:
            while True:
                conn, _ = listener.accept()
                conns.append(conn)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                line = head.split(b"\r\n", 1)[0]
                seen.append(line)
                if line.startswith(b"GET"):  # answered at once, the connection kept alive
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    head = b""
                    while b"\r\n\r\n" not in head:  # the POST on the same connection: no answer
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    if head:
                        seen.append(head.split(b"\r\n", 1)[0])
        except OSError:
            pass
        for c in conns:
            c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    dev = O.Device("http://127.0.0.1:%d" % port, TOKEN, timeout=1.0)
    try:
        assert dev._exchange("GET", "/ota/status", None, {})[0] == 200
        with pytest.raises(O.OtaError, match="did not answer POST /ota/commit within 1 s"):
            dev._exchange("POST", "/ota/commit", b"{}", {"Content-Length": "2"})
    finally:
        dev.close()
        t.join(8)
        listener.close()
    assert seen == [b"GET /ota/status HTTP/1.1", b"POST /ota/commit HTTP/1.1"]
