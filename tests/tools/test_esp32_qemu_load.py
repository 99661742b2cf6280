"""A page that stays reachable under load (issue #23): 64 clients trying to hold a WebSocket at
once on examples/websocket, with plain GETs meanwhile (tools/bench/load.py, real sockets).

- the virtual board (MicroPython's unix port): the long-lived share (all slots but two), 503 +
  Retry-After for the rest, no reset, the page answered throughout;
- the unix port with few file descriptors: the cap follows the sockets the stack has left
  (one kept to refuse with), measured by the server when it starts listening;
- each emulated board, the ESP32-C3 and the ESP32 (QEMU, firmware/<BOARD>; each skips with one
  line without them): 32 clients at once - no reset or timeout, the long-lived share held
  (HELD), every other client a 503 with Retry-After, GETs >= 95 %, no reboot. A client the
  board has no TCP connection for waits for its SYN to be taken (QEMU's user-mode network
  retries every 12 s once backed off, and gives up after 75 s): with 12 WebSockets held the
  board takes three per retry round (a packet capture showed it: docs/limits.md), so 64 clients
  at once (make bench) can outlast QEMU's patience; 32 stay within it.
"""
import resource
import subprocess
import sys
import textwrap
import time

import pytest

from tools import host
from tools.bench import load as L
from tools.selection import boards as B
from tools.targets import qemu_esp32 as Q

ROOT = B.ROOT


def micropython():
    try:
        return host.find_micropython(None, RuntimeError)
    except RuntimeError as exc:
        pytest.skip("no MicroPython unix port: %s" % exc)


def test_64_websockets_on_the_virtual_board_get_the_share_or_a_503():
    out = L.on_board("UNIX", netns="off", quiet=True, log=lambda line: None)
    print(L.format_result(out))
    assert out["resets"] == 0 and out["timeouts"] == 0, out["errors"]
    assert out["held"] == 14  # max_connections 16, all slots but two
    assert out["refused"] == out["refused_503"] == 50
    assert out["get_rate"] >= 0.95 and out["up_after"]


SERVER = textwrap.dedent("""\
    import sys
    sys.path.insert(0, {src!r})
    import asyncio
    from microdot import Microdot
    from microdot.microdot import _free_sockets
    from microdot.websocket import with_websocket
    app = Microdot()

    @app.get('/')
    async def index(req):
        return 'page'

    @app.route('/echo')
    @with_websocket
    async def echo(req, ws):
        while True:
            await ws.send(await ws.receive())

    async def main():
        task = asyncio.create_task(app.start_server(host='127.0.0.1', port={port}))
        while app.server is None:
            await asyncio.sleep(0.01)
        print('cap', app.max_connections, 'free', _free_sockets(64))
        await task

    asyncio.run(main())
""")


def test_the_cap_follows_the_sockets_the_stack_has_left():
    binary = micropython()
    port = host_free_port()
    limit = 16  # file descriptors: stdio, the listening socket, and what is left for clients
    script = SERVER.format(src=str(ROOT / "src"), port=port)

    def few_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    proc = subprocess.Popen([binary, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=few_fds, text=True)
    try:
        line = proc.stdout.readline().split()
        assert line[:1] == ["cap"], line
        cap, free = int(line[1]), int(line[3])
        assert cap == free - 1 and cap < 16, line  # one socket kept to answer 503 with
        # 40 GETs: the first meets the burst of handshakes and may get a 503 (a clean refusal)
        res = L.run_load("127.0.0.1", port, clients=32, gets=40, get_interval=0.05, timeout=30,
                         log=lambda line: None)
        print(res.line(), "cap", cap)
        assert res.resets == 0 and res.timeouts == 0, res.errors
        assert res.held == max(1, cap - 2)
        assert res.refused == res.refused_503 == 32 - res.held
        assert res.get_rate >= 0.95 and res.up_after
    finally:
        proc.kill()
        proc.wait()


def host_free_port():
    from tools.targets.process import free_port
    return free_port()


def test_load_cli_refuses_a_board_that_is_not_serving():
    port = host_free_port()
    code = subprocess.run([sys.executable, "-m", "tools.bench.load", "--url", "http://127.0.0.1:%d" % port,
                           "--clients", "2"], cwd=str(ROOT), capture_output=True, text=True)
    assert code.returncode == 1 and "does not answer 200 before the load" in code.stderr, code.stderr


EMULATED = ("ESP32_C3_QEMU", "ESP32_QEMU")
#: WebSockets each emulated board holds (the long-lived share, max_connections - 2). The ESP32
#: image finds one socket fewer free when it starts listening than the C3 (cap 13, not 14);
#: which part of it keeps that socket is not investigated.
HELD = {"ESP32_C3_QEMU": 12, "ESP32_QEMU": 11}


def each_emulated():
    """EMULATED as parameters, each skipping with its own one-line reason."""
    return [pytest.param(n, marks=pytest.mark.skipif(Q.available(n) is not None,
                                                     reason="no emulated %s: %s" % (n, Q.available(n))))
            for n in EMULATED]


@pytest.mark.parametrize("name", each_emulated())
def test_32_websockets_on_an_emulated_esp32(name):
    t0 = time.monotonic()
    out = L.on_board(name, clients=32, log=print, echo=print)
    print(L.format_result(out), "(%.0f s)" % (time.monotonic() - t0))
    assert not out["rebooted"] and out["up_after"]
    assert out["resets"] == 0 and out["timeouts"] == 0, out["errors"]
    assert out["held"] >= HELD[name]
    assert out["refused"] == out["refused_503"] == out["clients"] - out["held"]
    assert out["get_rate"] >= 0.95
