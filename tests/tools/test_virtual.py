"""tools/targets/virtual.py: the virtual board runs an app on the real MicroPython unix port with only
the board's staged .mpy modules importable, in its own network namespace when allowed; `make run`
(python -m tools.targets) serves it until interrupted."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tools.manifest import frozen as M
from tools.targets import virtual as V

ROOT = Path(__file__).resolve().parents[2]

PROBE_APP = '''
import sys
from microdot import Microdot

app = Microdot()


def origin(name):
    try:
        __import__(name)
    except ImportError:
        return 'missing'
    return getattr(sys.modules[name], '__file__', 'frozen')


@app.get('/mods')
async def mods(request):
    names = request.args.get('names').split(',')
    return dict((n, origin(n)) for n in names)


print('probe app up')
app.run(host=__import__('os').getenv('SMOKE_HOST'), port=int(__import__('os').getenv('SMOKE_PORT')))
'''


def get_json(url, timeout=10):
    import json
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


@pytest.fixture
def probe_app(tmp_path):
    app = tmp_path / "probe"
    app.mkdir()
    (app / "main.py").write_text(PROBE_APP)
    return app


def test_compile_command_ignores_board_march():
    argv = V.compile_command("mpy-cross", Path("src/microdot/sse.py"), "microdot/sse.py", Path("o.mpy"))
    assert argv == ["mpy-cross", "-o", "o.mpy", "-s", "microdot/sse.py", "src/microdot/sse.py"]
    assert not any(a.startswith("-march") for a in argv)


def test_environment_puts_only_frozen_and_staged_lib_on_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("SMOKE_BREAK", "json")  # a stray setting from the caller is dropped
    env = V.micropython_env(tmp_path / "lib", "0.0.0.0", 5000, "UNIX")
    assert env["MICROPYPATH"] == ".frozen" + os.pathsep + str(tmp_path / "lib")
    env = V.micropython_env(tmp_path / "lib", "0.0.0.0", 5000, "UNIX", firmware=tmp_path / "fw")
    assert env["MICROPYPATH"].split(os.pathsep) == [".frozen", str(tmp_path / "fw"), str(tmp_path / "lib")]
    assert "src" not in env["MICROPYPATH"]
    assert env["SMOKE_PORT"] == "5000" and env["SMOKE_HOST"] == "0.0.0.0"
    assert "SMOKE_BREAK" not in env
    assert V.micropython_env(tmp_path, "h", 1, "UNIX", {"SMOKE_BREAK": "echo"})["SMOKE_BREAK"] == "echo"


def test_micropython_command_sets_heap():
    assert V.micropython_command("mp", Path("/a/main.py"), "256K") == ["mp", "-X", "heapsize=256K", "/a/main.py"]
    assert V.micropython_command("mp", Path("/a/main.py"), None) == ["mp", "/a/main.py"]


def test_stage_compiles_exactly_the_frozen_sources(tmp_path, probe_app):
    exts, _ = V.available_extensions("ESP32_GENERIC")
    staged = V.stage("ESP32_GENERIC", probe_app, tmp_path / "run", exts)
    expected = [t for _, t in M.frozen_sources("ESP32_GENERIC", exts)]
    assert staged == expected
    files = sorted(p.relative_to(tmp_path / "run" / "firmware").as_posix()
                   for p in (tmp_path / "run" / "firmware").rglob("*") if p.is_file())
    assert files == sorted(t[:-3] + ".mpy" for t in expected)
    assert not list((tmp_path / "run" / "lib").iterdir())  # the board's /lib starts empty
    for f in (tmp_path / "run" / "firmware").rglob("*.mpy"):
        assert f.read_bytes()[:2] == b"M\x06"  # .mpy v6 header from mpy-cross
    assert (tmp_path / "run" / "app" / "main.py").read_text() == PROBE_APP


def test_only_the_boards_modules_are_importable(probe_app):
    names = "microdot,microdot.sse,microdot.multipart,microdot.jinja,microdot.asgi"
    with V.VirtualBoard("ESP32_GENERIC", app=probe_app, quiet=True) as vb:
        mods = get_json(vb.url + "/mods?names=" + names)
    assert mods["microdot"].endswith(".mpy")
    assert mods["microdot.sse"].endswith(".mpy")          # in ESP32_GENERIC's defaults
    assert mods["microdot.multipart"] == "missing"        # exists in src/, not selected
    assert mods["microdot.jinja"] == "missing"            # CPython-only, never frozen
    assert mods["microdot.asgi"] == "missing"


def test_extensions_option_overrides_the_board(probe_app):
    with V.VirtualBoard("UNIX", app=probe_app, extensions="none", quiet=True) as vb:
        mods = get_json(vb.url + "/mods?names=microdot,microdot.sse,kitnet")
        assert vb.extensions == []
    assert mods["microdot"].endswith(".mpy")
    assert mods["microdot.sse"] == "missing" and mods["kitnet"] == "missing"


def test_process_namespace_and_staging_are_removed(probe_app):
    vb = V.VirtualBoard("UNIX", app=probe_app, quiet=True)
    with vb:
        pid, workdir, host, port = vb.proc.pid, vb.workdir, vb.host, vb.port
        ns = vb.ns
        assert workdir.is_dir() and _alive(pid)
    assert vb.proc is None
    assert not _alive(pid)
    assert not workdir.exists()
    if ns is None:
        with pytest.raises(OSError):
            socket.create_connection((host, port), timeout=1).close()
    else:  # the namespace and both veth ends are gone
        assert ns.name not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert subprocess.run(["ip", "link", "show", ns.host_if], capture_output=True).returncode != 0


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:  # a zombie counts as gone
        return f.read().split()[2] != "Z"


@pytest.mark.skipif(V.Netns.unavailable() is not None, reason="network namespaces need root and 'ip'")
def test_own_network_namespace(probe_app):
    with V.VirtualBoard("UNIX", app=probe_app, netns="on", quiet=True) as vb:
        assert vb.ns is not None and vb.host.startswith("10.213.") and vb.port == V.DEVICE_PORT
        assert vb.ns.name in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert get_json(vb.url + "/mods?names=microdot")["microdot"].endswith(".mpy")
        # nothing listens on the host's loopback: the board really is on another network
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", vb.port), timeout=1).close()


def test_loopback_when_asked(probe_app):
    with V.VirtualBoard("UNIX", app=probe_app, netns="off", quiet=True) as vb:
        assert vb.ns is None and vb.host == "127.0.0.1"
        assert get_json(vb.url + "/mods?names=microdot")["microdot"].endswith(".mpy")


def test_crashing_app_reports_its_output(tmp_path):
    app = tmp_path / "bad"
    app.mkdir()
    (app / "main.py").write_text("print('starting')\nimport nonexistent_thing\n")
    vb = V.VirtualBoard("UNIX", app=app, quiet=True, timeout=10)
    with pytest.raises(V.VirtualError) as err:
        vb.start()
    msg = str(err.value)
    assert "exited with status 1 before listening" in msg
    assert "starting" in msg and "ImportError" in msg
    assert vb.proc is None and not vb.workdir.exists()


def test_unknown_kit_module_is_named_before_the_board_starts(tmp_path):
    app = tmp_path / "bad"
    app.mkdir()
    (app / "main.py").write_text("import microdot.nonexistent_thing\n")
    vb = V.VirtualBoard("UNIX", app=app, quiet=True, timeout=10)
    with pytest.raises(V.VirtualError, match=r"^main.py:1 imports microdot.nonexistent_thing, which the kit "
                                             r"does not have; known modules: .*microdot.sse"):
        vb.start()
    assert vb.proc is None and not vb.workdir.exists()


def test_app_without_main_is_refused(tmp_path):
    with pytest.raises(V.VirtualError, match="has no main.py"):
        V.VirtualBoard("UNIX", app=tmp_path)


def test_cli_unknown_board(capsys):
    from tools.targets.__main__ import main

    assert main(["--board", "NOPE", "--app", "tests/hardware/device"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown board 'NOPE'. Known boards:")


def test_cli_serves_until_interrupted(probe_app):
    proc = subprocess.Popen([sys.executable, "-m", "tools.targets", "--app", str(probe_app), "--netns", "off"],
                            cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "== serving" in line:
                url = line.split(" on ", 1)[1].split()[0]
                break
        assert url and url.startswith("http://127.0.0.1:"), lines
        assert get_json(url + "/mods?names=microdot")["microdot"].endswith(".mpy")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert "== stopped" in out
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1).close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_firmware_modules_never_imports_the_start_up_scripts(tmp_path):
    # A kit-built binary with the wifi fragment freezes main.py: importing it to see whether the
    # firmware has it runs it (it serves on port 5000 and the question never returns).
    seen = tmp_path / "code.txt"
    fake = tmp_path / "micropython"
    fake.write_text("#!%s\nimport sys\nopen(%r, 'w').write(sys.argv[-1])\n"
                    "print('KITFW{\"has\": [\"microdot\"], \"mpy\": null, \"version\": \"1.28.0\", "
                    "\"machine\": \"x\"}')\n" % (sys.executable, str(seen)))
    fake.chmod(0o755)
    assert V.firmware_modules(str(fake)) == ["microdot"]
    code = seen.read_text()
    assert '"microdot.sse"' in code and '"kitnet"' in code
    assert '"main"' not in code and '"boot"' not in code
