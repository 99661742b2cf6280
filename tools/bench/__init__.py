"""Measurements outside the test suite: the benchmark against bare asyncio and upstream Microdot, bare-metal heap, the soak run."""
