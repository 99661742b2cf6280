"""The connection cap cannot be held hostage: at max_connections, a connection that never
completed a request (oldest first), else an idle keep-alive one, makes room for a newcomer;
a 503 only when every slot serves a request. Real sockets on 127.0.0.1, both runtimes."""
import asyncio
import errno
import gc
import socket

from microdot import Microdot
from support import running_server, raw_request, MICROPYTHON

HALF_HEAD = b'GET / HTTP/1.1\r\nHost: x\r\nUser-Ag'
CLOSE = b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
KEEP = b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'


def make_app(cap):
    app = Microdot()
    app.max_connections = cap
    # nobody times out during a test: every slot that frees up was freed by the cap policy
    app.request_timeout = 120
    app.keepalive_timeout = 120
    gate = asyncio.Event()

    @app.get('/')
    async def index(req):
        return 'hello'

    @app.get('/slow')
    async def slow(req):
        await gate.wait()
        return 'done'

    return app, gate


def heap_used():
    gc.collect()
    gc.collect()
    if MICROPYTHON:
        return gc.mem_alloc()
    import tracemalloc
    return tracemalloc.get_traced_memory()[0]


async def open_stalled(port, n):
    """``n`` plain sockets that each sent half a request head and then went quiet."""
    addr = socket.getaddrinfo('127.0.0.1', port)[0][-1]
    out = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(addr)
        except OSError as exc:
            if exc.args[0] not in (errno.EINPROGRESS, errno.EAGAIN):
                raise
        for _ in range(200):
            await asyncio.sleep(0.005)  # lets the server accept (and evict) meanwhile
            try:
                s.send(HALF_HEAD)
                break
            except OSError as exc:  # not connected yet
                if exc.args[0] not in (errno.EAGAIN, errno.ENOTCONN, errno.EINPROGRESS):
                    raise
        else:
            raise AssertionError('could not send on a stalled connection')
        out.append(s)
    return out


async def closed_by_server(s, timeout=5):
    """True once the server told the socket 503 and closed it, False if it is still open."""
    got = b''
    for _ in range(int(timeout / 0.02)):
        try:
            data = s.recv(256)
        except OSError as exc:
            if exc.args[0] == errno.EAGAIN:
                await asyncio.sleep(0.02)
                continue
            data = b''  # a reset
        if data:
            got += data
            continue
        assert got.startswith(b'HTTP/1.1 503 ') and b'Retry-After: 1' in got, got
        return True
    assert not got, got
    return False


def close_all(socks):
    for s in socks:
        s.close()


async def settle(app, timeout=5):
    for _ in range(int(timeout / 0.02)):
        if not app._conns:
            return 0
        await asyncio.sleep(0.02)
    return len(app._conns)


async def keep_alive(port, data=KEEP):
    """A connection that made one keep-alive request, read the reply and is now idle."""
    r, w = await asyncio.open_connection('127.0.0.1', port)
    w.write(data)
    await w.drain()
    head = b''
    while not head.endswith(b'hello'):
        chunk = await asyncio.wait_for(r.read(256), 10)
        assert chunk, head
        head += chunk
    assert head.startswith(b'HTTP/1.1 200'), head
    return r, w


async def is_closed(r, timeout=10):
    try:
        return await asyncio.wait_for(r.read(64), timeout) == b''
    except asyncio.TimeoutError:
        return False
    except OSError:
        return True


async def test_64_stalled_connections_do_not_lock_out_a_normal_client():
    app, _ = make_app(16)
    async with running_server(app) as port:
        peak = [0]
        done = [False]

        async def watch():
            while not done[0]:
                peak[0] = max(peak[0], len(app._conns))
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        stalled = await open_stalled(port, 64)
        try:
            await asyncio.sleep(0.2)
            out = await raw_request(port, CLOSE, timeout=30)  # generous: no timing target here
            assert out.startswith(b'HTTP/1.1 200 '), out[:60]
            assert out.endswith(b'hello'), out[-60:]
            # the oldest stalled clients made room; the newest ones still hold their slots
            assert await closed_by_server(stalled[0])
            assert await closed_by_server(stalled[47])
            assert not await closed_by_server(stalled[-1], timeout=0.3)
        finally:
            close_all(stalled)
            done[0] = True
            await watcher
        assert peak[0] <= 16, peak[0]
        assert await settle(app) == 0


async def test_heap_stays_bounded_under_a_stalled_flood():
    if not MICROPYTHON:
        import tracemalloc
        tracemalloc.start()
    try:
        app, _ = make_app(16)
        async with running_server(app) as port:
            await raw_request(port, CLOSE)
            await asyncio.sleep(0.1)
            base = heap_used()
            first = await open_stalled(port, 16)  # fills the cap: nobody evicted yet
            await asyncio.sleep(0.3)
            at_cap = heap_used() - base
            more = await open_stalled(port, 48)  # each of these evicts an older one
            await asyncio.sleep(0.3)
            flooded = heap_used() - base
            assert len(app._conns) <= 16
            out = await raw_request(port, CLOSE, timeout=30)
            assert out.endswith(b'hello'), out[-60:]
            close_all(first + more)
            first = more = None
            assert await settle(app) == 0
        # four times the clients, about the same heap: the server keeps 16 connections'
        # state (the 48 extra plain client sockets cost little); without eviction it
        # would hold all 64 (about 4x at_cap)
        assert at_cap > 0, at_cap
        assert flooded < 1.5 * at_cap + 4096, (at_cap, flooded)
    finally:
        if not MICROPYTHON:
            tracemalloc.stop()


async def test_idle_keep_alive_connection_makes_room_when_no_one_is_stalled():
    app, _ = make_app(2)
    async with running_server(app) as port:
        r1, w1 = await keep_alive(port)
        r2, w2 = await keep_alive(port)
        out = await raw_request(port, CLOSE, timeout=30)
        assert out.startswith(b'HTTP/1.1 200 ') and out.endswith(b'hello'), out[:60]
        assert await is_closed(r1)  # the oldest idle one went
        w2.write(KEEP)  # the other one is still served
        await w2.drain()
        reply = await asyncio.wait_for(r2.read(256), 10)
        assert reply.startswith(b'HTTP/1.1 200 '), reply[:60]
        for w in (w1, w2):
            w.close()
            await w.wait_closed()
        assert await settle(app) == 0


async def test_a_stalled_connection_goes_before_an_older_idle_one():
    app, _ = make_app(2)
    async with running_server(app) as port:
        r1, w1 = await keep_alive(port)  # older, idle between requests
        stalled = await open_stalled(port, 1)  # newer, never completed a request
        await asyncio.sleep(0.1)
        try:
            out = await raw_request(port, CLOSE, timeout=30)
            assert out.endswith(b'hello'), out[-60:]
            assert await closed_by_server(stalled[0])
            w1.write(KEEP)
            await w1.drain()
            reply = await asyncio.wait_for(r1.read(256), 10)
            assert reply.startswith(b'HTTP/1.1 200 '), reply[:60]
        finally:
            close_all(stalled)
            w1.close()
            await w1.wait_closed()
        assert await settle(app) == 0


async def test_503_only_when_every_slot_serves_a_request():
    app, gate = make_app(2)
    async with running_server(app) as port:
        busy = [asyncio.create_task(raw_request(port, b'GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n',
                                                timeout=30)) for _ in range(2)]
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(app._conns) == 2 and all(v is None for v in app._conns.values()):
                break  # both handlers are running
        out = await raw_request(port, CLOSE, timeout=30)
        assert out.startswith(b'HTTP/1.1 503 '), out[:60]
        assert b'Retry-After' in out
        gate.set()
        for t in busy:
            assert (await t).endswith(b'done')  # the requests being served were not cut
        ok = await raw_request(port, CLOSE, timeout=30)
        assert ok.endswith(b'hello')
        assert await settle(app) == 0
