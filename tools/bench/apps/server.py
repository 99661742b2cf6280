"""Benchmark server: one process per server kind, started by tools/bench/compare.py.

Usage: server.py KIND PORT CTRL_PORT [LIBDIR]
  KIND      floor (bare asyncio, readline), raw (bare asyncio, 1 KB reads), ours (this
            kit's microdot) or upstream (Microdot from PyPI)
  LIBDIR    put first on sys.path: where the ``microdot`` package to import lives

Runs on MicroPython and CPython. Two apps are served at once: hello world on ``/``
and a small JSON document on ``/json``, both with ``async def`` handlers. A control
server on CTRL_PORT answers one-line commands (kept off the measured server's path):
  start  -> collect garbage, disable the collector, remember gc.mem_alloc()
  stop   -> bytes allocated since ``start`` (then the collector is re-enabled)
  other  -> a JSON line naming the runtime and kind (a liveness check)
"""
import sys

KIND = sys.argv[1]
PORT = int(sys.argv[2])
CTRL_PORT = int(sys.argv[3])
if len(sys.argv) > 4:
    sys.path.insert(0, sys.argv[4])

import gc  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402

MICROPYTHON = sys.implementation.name == 'micropython'
HELLO = 'Hello, World!'
DOC = {'message': 'Hello, World!', 'ok': True, 'items': [1, 2, 3]}

if KIND in ('ours', 'upstream'):
    import microdot


def make_app():
    app = microdot.Microdot()

    @app.route('/')
    async def index(request):
        return HELLO

    @app.route('/json')
    async def doc(request):
        return DOC

    return app


def _canned(body, ctype):
    head = 'HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n' % (ctype, len(body))
    return (head + '\r\n' + body).encode(), (head + 'Connection: close\r\n\r\n' + body).encode()


HELLO_REPLY = _canned(HELLO, 'text/plain; charset=UTF-8')
JSON_REPLY = _canned(json.dumps(DOC), 'application/json')


async def floor(reader, writer):
    """The floor: bare asyncio as its docs show it - read the head line by line with
    readline(), write a canned reply, serve the next request unless told to close."""
    try:
        while True:
            head = await reader.readline()
            if not head:
                return
            line = head
            while line and line != b'\r\n':
                line = await reader.readline()
                head += line
            replies = JSON_REPLY if head.startswith(b'GET /json ') else HELLO_REPLY
            close = b'close' in head
            writer.write(replies[1] if close else replies[0])
            await writer.drain()
            if close:
                return
    except OSError:
        pass
    finally:
        writer.close()
        await writer.wait_closed()


async def raw(reader, writer):
    """A lower reference: read 1 KB at a time until the blank line, then reply."""
    buf = b''
    try:
        while True:
            end = buf.find(b'\r\n\r\n')
            while end < 0:
                data = await reader.read(1024)
                if not data:
                    return
                buf += data
                end = buf.find(b'\r\n\r\n')
            head = buf[:end]
            buf = buf[end + 4:]
            replies = JSON_REPLY if head.startswith(b'GET /json ') else HELLO_REPLY
            close = b'close' in head
            writer.write(replies[1] if close else replies[0])
            await writer.drain()
            if close:
                return
    except OSError:
        pass
    finally:
        writer.close()
        await writer.wait_closed()


state = {'mark': 0}


async def control(reader, writer):
    cmd = (await reader.readline()).strip()
    if cmd == b'start':
        gc.collect()
        if MICROPYTHON:
            gc.disable()
            state['mark'] = gc.mem_alloc()
        out = 'ok'
    elif cmd == b'stop':
        if MICROPYTHON:
            out = str(gc.mem_alloc() - state['mark'])
            gc.enable()
        else:
            out = '-1'
    else:
        out = json.dumps({'kind': KIND, 'runtime': sys.implementation.name})
    writer.write(out.encode() + b'\n')
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def main():
    servers = [await asyncio.start_server(control, '127.0.0.1', CTRL_PORT)]
    if KIND in ('floor', 'raw'):
        handler = floor if KIND == 'floor' else raw
        servers.append(await asyncio.start_server(handler, '127.0.0.1', PORT, backlog=16))
        while True:
            await asyncio.sleep(3600)
    else:
        await make_app().start_server(host='127.0.0.1', port=PORT)


asyncio.run(main())
