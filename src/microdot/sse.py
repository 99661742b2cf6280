"""Server-Sent Events (SSE) for route handlers.

Usage::

    from microdot.sse import with_sse

    @app.route('/events')
    @with_sse
    async def events(request, sse):
        try:
            for i in range(10):
                await sse.send({'counter': i})            # unnamed event, JSON data
                await asyncio.sleep(1)
            await sse.send('end', event='status', event_id='10', retry=5)
        except asyncio.CancelledError:
            print('client went away')                   # or use finally:

The handler runs in its own task while the response streams. Returning from it ends
the stream. When the client disconnects, the handler task is cancelled (it gets
``CancelledError``) and no task is left behind; ``send()`` after that raises OSError.

- ``send(data, event=None, event_id=None, retry=None, comment=False)``: dict/list data
  is sent as JSON, bytes as they are, anything else as ``str()``, all after one
  ``data:`` (as upstream does: keep data on one line); ``retry`` is the reconnection
  delay in seconds; ``comment=True`` sends ``data`` as a comment (ignored by browsers).
  ``comment(text)`` is a shortcut for that.
- ``send()`` waits while ``SSE.max_queue`` events are waiting to be written, so a
  fast producer cannot fill the memory of the device.
- Keep-alive: a comment is sent after ``SSE.keepalive`` seconds (default 15) without
  events; ``@with_sse(keepalive=5)`` sets it per route, ``None``/0 disables it.
- Response headers: ``Content-Type: text/event-stream``; the connection closes when
  the stream ends.
"""
import asyncio
import json

from microdot.base import invoke_handler
from microdot.helpers import wraps

_COMMENT = b':\n\n'


class SSE:
    """The event stream of one client, handed to a ``@with_sse`` handler."""

    #: Seconds without events after which a keep-alive comment is sent (None: never).
    keepalive = 15
    #: Events waiting to be written before ``send()`` waits for the client.
    max_queue = 8

    def __init__(self):
        self.queue = []
        self.closed = False
        self.event = asyncio.Event()    # something was queued / the handler ended
        self._space = asyncio.Event()   # the writer took something from the queue

    def _push(self, item):
        self.queue.append(item)
        self.event.set()

    async def send(self, data, event=None, event_id=None, retry=None, comment=False):
        """Queue one event (or, with ``comment=True``, a comment) for the client.

        The lines come in upstream's order (``retry``, ``event``, ``id``, ``data``);
        ``data`` is written as given (a dict or list as JSON), so keep it on one line.
        """
        if self.closed:
            raise OSError(32, 'sse closed')
        if not isinstance(data, bytes):
            data = (json.dumps(data) if isinstance(data, (dict, list)) else str(data)).encode()
        if comment:
            data = b': ' + data + b'\n\n'
        else:
            head = b''
            if retry:
                head += b'retry: ' + str(int(retry * 1000)).encode() + b'\n'
            if event:
                head += b'event: ' + event.encode() + b'\n'
            if event_id:
                head += b'id: ' + event_id.encode() + b'\n'
            data = head + b'data: ' + data + b'\n\n'
        while len(self.queue) >= self.max_queue and not self.closed:
            self._space.clear()
            await self._space.wait()
        if self.closed:
            raise OSError(32, 'sse closed')
        self._push(data)

    async def comment(self, text=''):
        """Send a comment line (clients ignore it; useful as a heartbeat)."""
        await self.send(text, comment=True)


class _SSEStream:
    """The response body: an async iterator of encoded events that owns the handler task."""
    probe_delay = 0.25

    def __init__(self, request, f, args, kwargs, keepalive):
        self.request = request
        self.f = f
        self.args = args
        self.kwargs = kwargs
        self.keepalive = keepalive
        self.sse = SSE()
        self.task = None
        self.watcher = None
        self.done = False
        self.error = None

    async def _run(self):
        try:
            await invoke_handler(self.f, self.request, self.sse, *self.args, **self.kwargs)
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            self.error = exc
        finally:
            self.done = True
            self.sse.event.set()

    async def _watch(self):
        """Notice the client closing its side; then probe so a dead socket fails to write."""
        reader = self.request.sock[0]
        try:
            while True:
                data = await reader.read(64)
                if not data:
                    break  # bytes the client sends are ignored: the stream is the last response
        except Exception:
            pass
        # EOF: either a half-close or a gone client. A gone client makes the next
        # writes fail, which ends the stream and cancels the handler.
        for _ in range(4):
            self.sse._push(_COMMENT)
            await asyncio.sleep(self.probe_delay)

    def __aiter__(self):
        return self

    async def __anext__(self):
        sse = self.sse
        if self.task is None:
            self.task = asyncio.create_task(self._run())
            sock = getattr(self.request, 'sock', None)
            if sock is not None and sock[0] is not None:
                self.watcher = asyncio.create_task(self._watch())
        while True:
            if sse.queue:
                item = sse.queue.pop(0)
                sse._space.set()
                return item
            if self.done:
                self.close()
                if self.error is not None:
                    exc, self.error = self.error, None
                    raise exc
                raise StopAsyncIteration
            sse.event.clear()
            if self.keepalive:
                try:
                    await asyncio.wait_for(sse.event.wait(), self.keepalive)
                except asyncio.TimeoutError:
                    return _COMMENT
            else:
                await sse.event.wait()

    def close(self):
        """End the stream: cancel the handler and the watcher tasks (idempotent)."""
        sse = self.sse
        sse.closed = True
        sse._space.set()
        for task in (self.task, self.watcher):
            if task is not None:
                try:
                    task.cancel()
                except RuntimeError:  # pragma: no cover
                    pass
        self.watcher = None

    async def aclose(self):
        self.close()
        task = self.task
        if task is not None and not self.done:
            try:
                await task
            except BaseException:
                pass


def sse_response(request, event_function, *args, **kwargs):
    """Return the streaming response for ``event_function(request, sse, *args)``.

    Low-level form of :func:`with_sse`; takes an optional ``keepalive`` keyword.
    """
    keepalive = kwargs.pop('keepalive', SSE.keepalive)
    stream = _SSEStream(request, event_function, args, kwargs, keepalive)
    return stream, 200, {'Content-Type': 'text/event-stream', 'Connection': 'close'}


def with_sse(f=None, keepalive=-1):
    """Decorator: the route handler becomes ``f(request, sse, **url_args)``.

    Use bare (``@with_sse``) or with options (``@with_sse(keepalive=5)``).
    """
    def decorator(f):
        @wraps(f)
        async def handler(request, *args, **kwargs):
            kwargs['keepalive'] = SSE.keepalive if keepalive == -1 else keepalive
            return sse_response(request, f, *args, **kwargs)
        return handler
    if f is None:
        return decorator
    return decorator(f)
