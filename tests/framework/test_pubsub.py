"""PubSub hub: fan-out, bounded queues, slow subscribers dropped, use with SSE and WebSocket."""
import asyncio

from microdot import Microdot
from microdot.pubsub import PubSub, SubscriptionClosed
from microdot.sse import with_sse
from microdot.websocket import with_websocket
from microdot.test_client import TestClient
from support import raises


async def test_publish_reaches_every_subscriber_of_the_topic():
    hub = PubSub()
    a = hub.subscribe('temp')
    b = hub.subscribe('temp')
    other = hub.subscribe('humidity')
    assert await hub.publish('temp', 21.5) == 2
    assert await hub.publish('nobody', 1) == 0
    assert await a.get() == 21.5
    assert await b.get() == 21.5
    assert other.queue == []
    assert hub.subscribers('temp') == 2


async def test_async_for_and_order():
    hub = PubSub()
    sub = hub.subscribe('t')
    got = []

    async def consumer():
        async for msg in sub:
            got.append(msg)

    task = asyncio.create_task(consumer())
    for i in range(5):
        await hub.publish('t', i)
        await asyncio.sleep(0)
    sub.close()
    await asyncio.wait_for(task, 2)
    assert got == [0, 1, 2, 3, 4]
    assert hub.subscribers('t') == 0


async def test_get_waits_for_a_message_from_another_task():
    hub = PubSub()
    sub = hub.subscribe('t')

    async def sensor():
        await asyncio.sleep(0.01)
        await hub.publish('t', {'v': 1})

    asyncio.create_task(sensor())
    assert await asyncio.wait_for(sub.get(), 2) == {'v': 1}
    with raises(asyncio.TimeoutError):
        await sub.get(timeout=0.01)


async def test_slow_subscriber_is_dropped_without_blocking_others():
    hub = PubSub(max_queue=3)
    slow = hub.subscribe('t')
    fast = hub.subscribe('t')
    counts = []
    for i in range(5):
        counts.append(await hub.publish('t', i))
        assert await fast.get() == i
    # the 4th message found slow's queue full: slow was dropped, fast still served
    assert counts == [2, 2, 2, 1, 1]
    assert slow.dropped and slow.closed
    assert not fast.dropped
    assert hub.subscribers('t') == 1
    # a dropped subscriber still gets what was queued, then its iteration ends
    got = []
    async for msg in slow:
        got.append(msg)
    assert got == [0, 1, 2]
    with raises(SubscriptionClosed):
        await slow.get()


async def test_context_manager_and_close_remove_subscriber():
    hub = PubSub()
    async with hub.subscribe('t') as sub:
        assert hub.subscribers('t') == 1
        await hub.publish('t', 'x')
        assert await sub.get() == 'x'
    assert hub.subscribers('t') == 0
    assert 't' not in hub.topics
    assert await hub.publish('t', 'y') == 0


async def test_close_wakes_a_waiting_reader():
    hub = PubSub()
    sub = hub.subscribe('t')

    async def closer():
        await asyncio.sleep(0.01)
        hub.close()

    asyncio.create_task(closer())
    with raises(SubscriptionClosed):
        await asyncio.wait_for(sub.get(), 2)


def test_publish_nowait_from_sync_code():
    hub = PubSub()
    sub = hub.subscribe('t', max_queue=1)
    assert hub.publish_nowait('t', 1) == 1
    assert hub.publish_nowait('t', 2) == 0  # queue of 1 was full: dropped
    assert sub.dropped


def make_app(hub, log):
    app = Microdot()

    @app.route('/events')
    @with_sse
    async def events(request, sse):
        try:
            async with hub.subscribe('temp') as sub:
                log.append('subscribed')
                async for value in sub:
                    await sse.send({'temp': value})
        finally:
            log.append('sse done')

    @app.route('/ws')
    @with_websocket
    async def ws_handler(request, ws):
        sub = hub.subscribe('temp')
        try:
            log.append('subscribed')
            while True:
                await ws.send(str(await sub.get()))
        finally:
            sub.close()
            log.append('ws done')

    return app


async def _wait_for(predicate):
    for _ in range(200):
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_sse_subscribers_fed_by_a_sensor_task():
    hub = PubSub()
    log = []
    client = TestClient(make_app(hub, log))
    s1 = await client.sse('/events')
    s2 = await client.sse('/events')
    assert await _wait_for(lambda: hub.subscribers('temp') == 2)
    assert await hub.publish('temp', 20) == 2
    assert await hub.publish('temp', 21) == 2
    for s in (s1, s2):
        assert (await s.next_event())['data_json'] == {'temp': 20}
        assert (await s.next_event())['data_json'] == {'temp': 21}
    await s1.close()
    assert await _wait_for(lambda: hub.subscribers('temp') == 1)  # dead subscriber removed
    assert await hub.publish('temp', 22) == 1
    assert (await s2.next_event())['data_json'] == {'temp': 22}
    hub.close()  # ends the remaining stream
    assert await s2.next_event() is None
    await s2.close()
    assert log.count('sse done') == 2


async def test_websocket_subscriber_removed_on_disconnect():
    hub = PubSub()
    log = []
    client = TestClient(make_app(hub, log))
    ws = await client.websocket('/ws')
    assert await _wait_for(lambda: hub.subscribers('temp') == 1)
    await hub.publish('temp', 5)
    assert await ws.receive() == '5'
    ws.from_server.close()  # the client vanishes: the next send fails
    ws.to_server.feed_eof()
    await hub.publish('temp', 6)
    await asyncio.wait_for(ws.task, 2)
    assert log == ['subscribed', 'ws done']
    assert hub.subscribers('temp') == 0
