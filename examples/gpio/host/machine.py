"""Host stand-in for ``machine`` (virtual board only; `make deploy` never copies host/).

Just enough of ``machine.Pin`` for the gpio example: outputs remember their value, inputs
change on their own so the page has something to show.
"""
import time

try:
    _ms = time.ticks_ms
except AttributeError:  # CPython
    def _ms():
        return int(time.monotonic() * 1000)

_START = _ms()
_levels = {}  # pin id -> level of outputs (shared by every Pin object of that id)


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        elif not hasattr(self, 'mode'):
            self.mode = Pin.IN
        if pull != -1:
            self.pull = pull
        elif not hasattr(self, 'pull'):
            self.pull = None
        if value is not None:
            _levels[self.id] = 1 if value else 0

    def _input(self):
        # a push button (pulled up, pressed = 0) pressed for 1 s every 4 s, and a
        # slide switch that flips every 7 s; other inputs float at their pull level
        t = (_ms() - _START) // 1000
        if self.pull == Pin.PULL_UP:
            return 0 if t % 4 == 3 else 1
        return (t // 7) % 2

    def value(self, v=None):
        if v is None:
            if self.mode == Pin.OUT:
                return _levels.get(self.id, 0)
            return self._input()
        _levels[self.id] = 1 if v else 0
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def toggle(self):
        self.value(0 if self.value() else 1)

    def irq(self, handler=None, trigger=3):
        return None

    def __repr__(self):
        return 'Pin(%r)' % (self.id,)
