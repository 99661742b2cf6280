"""Every example on every board family's default firmware, after `make deploy`.

On the virtual board: the firmware modules of ESP32_GENERIC / RPI_PICO_W (or none: stock
MicroPython) stand where .frozen is, and /lib holds what `make deploy` copies for the example
(tools/selection/appdeps.py). Then for real: each example deployed with tools.device.deploy over mpremote to a
board on a serial port (the unix port behind a pty, tests/tools/serial_board.py) whose
"firmware" is one family's modules, and served from there.
"""
import os
import socket
import sys
import time
from pathlib import Path

import pytest
import requests

from examples_support import EXAMPLES, ROOT, running

sys.path.insert(0, str(ROOT / "tests" / "tools"))

EXAMPLE_NAMES = ["hello", "gpio", "weather", "websocket", "sse", "login", "uploads", "templates"]
FAMILIES = {"ESP32_GENERIC": "kit", "RPI_PICO_W": "kit", "stock": "stock"}
#: Text each example's main page shows.
PAGE = {"hello": "Hello from Microdot!", "gpio": "<h1>GPIO</h1>", "weather": "Weather station",
        "websocket": "<h1>WebSocket</h1>", "sse": "Live sensor", "login": "Log in",
        "uploads": "no files yet", "templates": "<title>Plants</title>"}


def _board(family):
    return ("ESP32_GENERIC", "stock") if family == "stock" else (family, "kit")


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_serves_on_the_family_after_deploy(name, family):
    from tools.selection import appdeps

    board, firmware = _board(family)
    with running(name, board=board, firmware=firmware) as vb:
        r = requests.get(vb.url + "/", timeout=5)
        assert r.status_code == 200 and PAGE[name] in r.text
        lacking = [f for f in appdeps.needs(EXAMPLES / name).fragments
                   if f not in (appdeps.firmware_fragments(board) if firmware == "kit" else [])]
        added = sorted({appdeps.module_index()[appdeps.module_name(t)].fragment for t in vb.added})
        assert added == sorted(lacking)
        lib = sorted(p.relative_to(vb.workdir / "lib").as_posix()
                     for p in (vb.workdir / "lib").rglob("*.mpy"))
        assert lib == sorted(t[:-3] + ".mpy" for t in vb.added)


def test_without_deploy_the_mismatch_shows(tmp_path):
    """What the issue saw on a board: the websocket example on ESP32_GENERIC's bare firmware."""
    from tools.targets import virtual

    work = tmp_path / "run"
    exts, _ = virtual.available_extensions("ESP32_GENERIC")
    virtual.stage("ESP32_GENERIC", EXAMPLES / "websocket", work, exts)
    import subprocess

    env = virtual.micropython_env(work / "lib", "127.0.0.1", 1, "ESP32_GENERIC", firmware=work / "firmware")
    out = subprocess.run([virtual.find_micropython(), "-c", "import microdot.pubsub"], cwd=str(work / "app"),
                         env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "ImportError: no module named 'microdot.pubsub'" in out.stdout + out.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_page(url, text, timeout=20):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            r = requests.get(url, timeout=3)
            if r.status_code == 200 and text in r.text:
                return r
            last = r.status_code
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError("%s did not serve its page: %s" % (url, last))


# each example once, the families in turn
DEPLOYS = [(name, sorted(FAMILIES)[i % len(FAMILIES)]) for i, name in enumerate(EXAMPLE_NAMES)]


@pytest.mark.skipif(os.name != "posix", reason="the serial board needs POSIX ptys")
@pytest.mark.parametrize("name,family", DEPLOYS)
def test_make_deploy_to_a_serial_board(name, family, tmp_path, capsys, monkeypatch):
    from serial_board import SerialBoard
    from tools.device import deploy
    from tools.targets import virtual

    try:
        micropython = virtual.find_micropython()
    except virtual.VirtualError as exc:
        pytest.skip(str(exc))
    board, firmware = _board(family)
    fw = tmp_path / "stage"
    exts = virtual.available_extensions(board)[0] if firmware == "kit" else []
    virtual.stage(board, EXAMPLES / name, fw, exts, framework=firmware == "kit")
    root = tmp_path / "board"
    root.mkdir()
    port = _free_port()
    path = [".frozen", str(fw / "firmware"), "lib"]
    if (EXAMPLES / name / "host").is_dir():
        path.append(str(EXAMPLES / name / "host"))  # stand-ins for machine/dht: never deployed
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(path), PORT=str(port))
    with SerialBoard(micropython, root, env=env) as sb:
        assert sb.wait_for(b">>> ")  # input sent before its prompt would be dropped
        monkeypatch.setattr(deploy, "MPREMOTE_TIMEOUT", 60)
        try:
            copied, _ = deploy.deploy(str(EXAMPLES / name), sb.port, follow=0.5)
        except deploy.DeployError:
            print("--- the serial board's output:\n%s" % sb.output.decode("utf-8", "replace")[-3000:])
            raise
        out = capsys.readouterr().out
        assert "main.py" in copied
        lib = sorted(c for c in copied if c.startswith("lib/"))
        assert lib == sorted(p.relative_to(root).as_posix() for p in (root / "lib").rglob("*.mpy"))
        if name in ("hello", "gpio", "weather") and firmware == "kit":
            assert not lib
        else:
            assert lib and "which the firmware lacks: copying" in out
        if firmware == "stock":
            assert "lib/microdot/__init__.mpy" in lib and "none (stock MicroPython)" in out
        _wait_page("http://127.0.0.1:%d/" % port, PAGE[name])
        # (a second deploy would need Ctrl-C to stop the server, which the pty stand-in cannot
        # deliver to the unix port; tests/tools/test_deploy.py covers the "nothing to copy" run)
