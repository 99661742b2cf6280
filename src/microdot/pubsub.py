"""In-process publish/subscribe hub for fanning events out to WebSocket and SSE clients.

Usage::

    from microdot.pubsub import PubSub

    hub = PubSub(max_queue=8)

    async def sensor_task():                       # anywhere: a task, a handler...
        while True:
            await hub.publish('temp', read_temperature())
            await asyncio.sleep(1)

    @app.route('/events')
    @with_sse
    async def events(request, sse):
        async with hub.subscribe('temp') as sub:   # or: sub = hub.subscribe(...); sub.close()
            async for value in sub:
                await sse.send({'temp': value})

API:

- ``hub.subscribe(topic)`` returns a :class:`Subscription`. Read it with
  ``async for msg in sub:`` or ``msg = await sub.get(timeout=None)``; end it with
  ``sub.close()`` or use it as an async context manager.
- ``await hub.publish(topic, data)`` (or ``hub.publish_nowait()`` from synchronous
  code) delivers ``data`` to every subscriber of ``topic`` and returns how many got it.
  It never waits for a subscriber.
- Each subscriber has a bounded queue (``max_queue`` messages). A subscriber whose
  queue is full when a message arrives is dropped: it is removed from the hub, its
  ``dropped`` attribute becomes True and, after the messages already queued, its
  iterator ends (``get()`` raises :class:`SubscriptionClosed`). An SSE handler that
  loops over the subscription therefore ends and the browser reconnects.
- Closed and dropped subscribers are removed from the hub at once.

Built on ``asyncio.Event`` and lists only, so it runs on MicroPython (no
``asyncio.Queue`` there) as well as CPython. Not thread-safe: publish from the event
loop (use ``micropython.schedule`` or a task to publish from an interrupt).
"""
import asyncio


class SubscriptionClosed(Exception):
    """The subscription was closed, or dropped because its queue was full."""
    pass


class Subscription:
    """One subscriber's bounded message queue."""
    def __init__(self, hub, topic, max_queue):
        self.hub = hub
        self.topic = topic
        self.max_queue = max_queue
        self.queue = []
        self.closed = False
        self.dropped = False
        self._event = asyncio.Event()

    def _put(self, data):
        if self.closed:
            return False
        if len(self.queue) >= self.max_queue:
            self.dropped = True
            self.close()
            return False
        self.queue.append(data)
        self._event.set()
        return True

    async def get(self, timeout=None):
        """Return the next message; raise SubscriptionClosed once closed and empty.

        With ``timeout`` (seconds), raise ``asyncio.TimeoutError`` when nothing arrives.
        """
        while not self.queue:
            if self.closed:
                raise SubscriptionClosed()
            self._event.clear()
            if timeout is None:
                await self._event.wait()
            else:
                await asyncio.wait_for(self._event.wait(), timeout)
        return self.queue.pop(0)

    def close(self):
        """Stop receiving; messages already queued can still be read."""
        if not self.closed:
            self.closed = True
            self.hub._remove(self)
        self._event.set()

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        self.close()
        return False


class PubSub:
    """A hub of topics; see the module documentation."""
    def __init__(self, max_queue=8):
        self.max_queue = max_queue
        self.topics = {}

    def subscribe(self, topic, max_queue=None):
        """Return a new :class:`Subscription` to ``topic``."""
        sub = Subscription(self, topic, max_queue or self.max_queue)
        self.topics.setdefault(topic, []).append(sub)
        return sub

    def _remove(self, sub):
        subs = self.topics.get(sub.topic)
        if subs is not None:
            try:
                subs.remove(sub)
            except ValueError:
                pass
            if not subs:
                del self.topics[sub.topic]

    def subscribers(self, topic):
        """How many subscribers ``topic`` has."""
        return len(self.topics.get(topic, ()))

    def publish_nowait(self, topic, data):
        """Deliver ``data`` to the subscribers of ``topic``; return how many got it."""
        delivered = 0
        for sub in list(self.topics.get(topic, ())):
            if sub._put(data):
                delivered += 1
        return delivered

    async def publish(self, topic, data):
        """Deliver ``data`` to the subscribers of ``topic``; return how many got it."""
        return self.publish_nowait(topic, data)

    def close(self):
        """Close every subscription (their iterators end after their queued messages)."""
        for subs in list(self.topics.values()):
            for sub in list(subs):
                sub.close()
