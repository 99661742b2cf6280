"""tools.device.deploy: which files mpremote copies, the commands, the errors - and a real deploy.

The end-to-end tests use a board on a serial port without hardware: MicroPython's unix port
behind a pty (tests/tools/serial_board.py), driven by the real mpremote.
"""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.device import deploy as T

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
sys.path.insert(0, str(Path(__file__).parent))

needs_micropython = pytest.mark.skipif(not MICROPYTHON.exists(), reason="no .venv/bin/micropython; run `make setup`")
needs_pty = pytest.mark.skipif(os.name != "posix", reason="the virtual serial board needs POSIX ptys")


def make_app(tmp_path):
    app = tmp_path / "app"
    (app / "static" / "css").mkdir(parents=True)
    (app / "__pycache__").mkdir()
    (app / ".git").mkdir()
    (app / "main.py").write_text("print('app started', 6 * 7)\n")
    (app / "static" / "index.html").write_text("<h1>hi</h1>\n")
    (app / "static" / "css" / "site.css").write_text("body{}\n")
    (app / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"x")
    (app / ".git" / "HEAD").write_text("ref\n")
    (app / "notes.txt~").write_text("backup\n")
    (app / "wifi.json").write_text('{"ssid": "never copied"}')
    return app


def test_app_files_skip_caches_dotfiles_backups_and_secrets(tmp_path):
    app = make_app(tmp_path)
    assert sorted(T.app_files(app)) == ["main.py", "static/css/site.css", "static/index.html"]


def test_remote_dirs_parents_first():
    assert T.remote_dirs(["main.py", "static/css/site.css", "static/index.html", "lib/x/y.py"]) == [
        "lib", "static", "lib/x", "static/css",
    ]  # fmt: skip


def test_plan_copy_sends_only_changed_files_and_missing_dirs():
    local = {"main.py": "aa", "static/index.html": "bb", "static/css/site.css": "cc", "lib/util.py": "dd"}
    remote = {"main.py": "aa", "static/index.html": "XX", "static/css/site.css": None, "lib/util.py": "dd"}
    dirs = {"static": True, "static/css": False, "lib": True}
    assert T.plan_copy(local, remote, dirs) == (["static/css"], ["static/css/site.css", "static/index.html"])
    assert T.plan_copy(local, dict(local), dirs) == ([], [])
    everything = T.plan_copy(local, {}, {})
    assert everything == (["lib", "static", "static/css"], sorted(local))


def test_copy_argv_is_one_chained_mpremote_call(tmp_path):
    argv = T.copy_argv("/dev/ttyUSB0", tmp_path, ["static"], ["main.py", "static/index.html"])
    assert argv == [
        sys.executable, "-m", "mpremote", "connect", "/dev/ttyUSB0",
        "fs", "mkdir", ":static", "+",
        "fs", "cp", "-f", str(tmp_path / "main.py"), ":main.py", "+",
        "fs", "cp", "-f", str(tmp_path / "static/index.html"), ":static/index.html",
    ]  # fmt: skip
    assert T.SOFT_RESET == b"\r\x03\x03\x02\x04"
    assert T.monitor_argv("COM3") == [sys.executable, "-m", "mpremote", "connect", "COM3", "repl"]


@needs_micropython
def test_hash_script_runs_on_micropython_and_matches_local_hashes(tmp_path):
    app = make_app(tmp_path)
    files = T.app_files(app)
    names = sorted(files) + ["missing.py"]
    proc = subprocess.run(
        [str(MICROPYTHON), "-c", T.hash_script(names, T.remote_dirs(names) + ["nothere"])],
        cwd=str(app), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
    )  # fmt: skip
    remote, dirs = T.parse_hashes(proc.stdout.decode())
    local = T.local_hashes(files)
    assert {n: remote[n] for n in local} == local
    assert remote["missing.py"] is None
    assert dirs == {"static": True, "static/css": True, "nothere": False}
    assert local["main.py"] == hashlib.sha256(b"print('app started', 6 * 7)\n").hexdigest()


def test_parse_hashes_rejects_other_output():
    with pytest.raises(T.DeployError, match=r"did not answer the file check .*: ImportError: no module named 'hashlib'"):
        T.parse_hashes("Traceback...\nImportError: no module named 'hashlib'\n")


def test_errors(tmp_path, capsys):
    assert T.main(["--app", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == (
        "error: App folder '%s' not found: pass APP=examples/hello or your own folder with a main.py.\n" % (tmp_path / "nope")
    )
    (tmp_path / "empty").mkdir()
    assert T.main(["--app", str(tmp_path / "empty")]) == 1
    assert "has no files to copy; add a main.py." in capsys.readouterr().err
    app = make_app(tmp_path)
    assert T.main(["--app", str(app), "--port", "/dev/ttyUSB77"]) == 1
    assert capsys.readouterr().err.startswith("error: Serial port '/dev/ttyUSB77' does not exist: check the cable")
    assert T.main(["--monitor", "--port", "/dev/ttyUSB77"]) == 1
    assert "'/dev/ttyUSB77' does not exist" in capsys.readouterr().err


def test_mpremote_failure_messages():
    busy = T.mpremote_failure("/dev/ttyUSB0", "mpremote: failed to access /dev/ttyUSB0 (it may be in use by another program)")
    assert str(busy).startswith("mpremote cannot talk to the board on '/dev/ttyUSB0' (mpremote: failed to access")
    assert "close other programs using the port" in str(busy)
    assert str(T.mpremote_failure("p", "x\nboom.")) == "mpremote failed on 'p': boom."


# --------------------------------------------------------------------------------------------
# A real deploy to a board on a serial port


@needs_micropython
@needs_pty
def test_deploy_copies_changed_files_and_starts_main(tmp_path, capsys):
    from serial_board import SerialBoard

    app = make_app(tmp_path)
    board_fs = tmp_path / "board"
    board_fs.mkdir()
    with SerialBoard(str(MICROPYTHON), board_fs) as board:
        copied, unchanged = T.deploy(str(app), board.port, follow=1.5)
        assert copied == ["main.py", "static/css/site.css", "static/index.html"] and unchanged == 0
        for name in copied:
            assert (board_fs / name).read_bytes() == (app / name).read_bytes()
        assert not (board_fs / "wifi.json").exists()
        out = capsys.readouterr().out
        assert "board: app started 42" in out  # the soft reset ran main.py
        assert board.wait_for(b"app started 42")

        assert T.deploy(str(app), board.port, reset=False) == ([], 3)
        assert "all 3 files are up to date" in capsys.readouterr().out

        (app / "static" / "index.html").write_text("<h1>changed</h1>\n")
        (app / "lib").mkdir()
        (app / "lib" / "util.py").write_text("X = 1\n")
        copied, unchanged = T.deploy(str(app), board.port, reset=False)
        # the app's modules other than main.py go as .mpy compiled for the board
        assert copied == ["lib/util.mpy", "static/index.html"] and unchanged == 2
        assert (board_fs / "static" / "index.html").read_text() == "<h1>changed</h1>\n"
        assert (board_fs / "lib" / "util.mpy").read_bytes()[:1] == b"M"
        # a source left by an earlier deploy would be imported first: it goes
        (board_fs / "lib" / "util.py").write_text("X = 0\n")
        assert T.deploy(str(app), board.port, reset=False) == ([], 4)
        assert not (board_fs / "lib" / "util.py").exists()
        assert "removed :lib/util.py" in capsys.readouterr().out
