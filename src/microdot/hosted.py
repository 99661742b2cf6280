"""Base for applications that a separate server process runs (ASGI, WSGI). CPython only."""
import os
import signal

from microdot.microdot import Microdot as BaseMicrodot


class HostedMicrodot(BaseMicrodot):
    """A Microdot app whose ``shutdown()`` also works when an external server hosts it."""
    embedded_server = False

    async def start_server(self, *args, **kwargs):
        self.embedded_server = True
        return await super().start_server(*args, **kwargs)

    def run(self, host='0.0.0.0', port=5000, debug=False, **options):
        """Serve with the built-in server (normally an ASGI/WSGI server runs the app)."""
        self.embedded_server = True
        super().run(host=host, port=port, debug=debug, **options)

    def shutdown(self):
        """Stop the server: the built-in one, or the server process hosting this app."""
        if self.embedded_server:
            super().shutdown()
        else:
            os.kill(os.getpid(), signal.SIGTERM)


def reexported(name):
    """The names upstream's asgi and wsgi modules re-export from the core and the WebSocket
    extension, for their module ``__getattr__`` (resolved on first use)."""
    if name in ('BaseMicrodot', 'URLPattern', 'AsyncBytesIO', 'abort', 'redirect', 'send_file',
                'MUTED_SOCKET_ERRORS'):
        from microdot import microdot as core
        return core.Microdot if name == 'BaseMicrodot' else getattr(core, name)
    if name in ('WebSocket', 'BaseWebSocket', 'websocket_upgrade', 'websocket_wrapper',
                'with_websocket'):
        from microdot import websocket
        return websocket.WebSocket if name == 'BaseWebSocket' else getattr(websocket, name)
    raise AttributeError(name)
