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

    def shutdown(self):
        """Stop the server: the built-in one, or the server process hosting this app."""
        if self.embedded_server:
            super().shutdown()
        else:
            os.kill(os.getpid(), signal.SIGTERM)
