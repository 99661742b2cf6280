"""Helpers for the framework tests, which run under pytest (CPython) and mprunner (MicroPython).

Only what both runtimes have may be used here and in the test modules.
"""
import asyncio
import sys

MICROPYTHON = sys.implementation.name == 'micropython'


class raises:
    """``with raises(ValueError):`` - fails unless the block raises that exception."""
    def __init__(self, exc_type):
        self.exc_type = exc_type
        self.value = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            raise AssertionError('did not raise ' + self.exc_type.__name__)
        if not issubclass(exc_type, self.exc_type):
            return False
        self.value = exc
        return True


#: id(test function) -> reason, read by mprunner (MicroPython functions take no attributes)
SKIPPED = {}


def cpython_only(f):
    """Mark a test that only makes sense on CPython (e.g. it uses threads)."""
    if MICROPYTHON:
        SKIPPED[id(f)] = 'CPython only'
    return f


def micropython_only(f):
    """Mark a test that only makes sense on MicroPython."""
    if not MICROPYTHON:
        import pytest
        return pytest.mark.skip(reason='MicroPython only')(f)
    return f


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    import socket
    import random
    for _ in range(50):
        s = socket.socket()
        try:
            if hasattr(s, 'getsockname'):
                s.bind(socket.getaddrinfo('127.0.0.1', 0)[0][-1])
                return s.getsockname()[1]
            port = 20000 + random.getrandbits(14)  # MicroPython sockets lack getsockname
            s.bind(socket.getaddrinfo('127.0.0.1', port)[0][-1])
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise OSError('no free port')


class running_server:
    """``async with running_server(app) as port:`` - serve ``app`` on 127.0.0.1 meanwhile."""
    def __init__(self, app, **kwargs):
        self.app = app
        self.kwargs = kwargs
        self.task = None
        self.port = None

    async def __aenter__(self):
        self.port = free_port()
        self.task = asyncio.create_task(
            self.app.start_server(host='127.0.0.1', port=self.port, **self.kwargs))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if self.app.server is not None:
                break
        return self.port

    async def __aexit__(self, exc_type, exc, tb):
        self.app.shutdown()
        try:
            await asyncio.wait_for(self.task, 5)
        except asyncio.TimeoutError:  # pragma: no cover
            self.task.cancel()
        return False


async def raw_request(port, data, read_all=True, timeout=5):
    """Send raw bytes to 127.0.0.1:port and return everything the server sends back."""
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    try:
        writer.write(data)
        await writer.drain()
        out = b''
        while True:
            chunk = await asyncio.wait_for(reader.read(4096), timeout)
            if not chunk:
                break
            out += chunk
            if not read_all:
                break
        return out
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except Exception:
            pass
