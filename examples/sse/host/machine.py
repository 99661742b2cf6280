"""Host stand-in for ``machine`` (virtual board only; `make deploy` never copies host/).

``ADC.read_u16()`` returns a light level that drifts over time like a photo-resistor
near a window, with a little noise.
"""
import math
import time

try:
    _ms = time.ticks_ms
except AttributeError:  # CPython
    def _ms():
        return int(time.monotonic() * 1000)

_START = _ms()


class Pin:
    IN = 1
    OUT = 3

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id

    def __repr__(self):
        return 'Pin(%r)' % (self.id,)


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin = pin
        self._n = 0

    def atten(self, value):
        pass

    def read_u16(self):
        self._n += 1
        s = (_ms() - _START) / 1000.0
        level = 0.55 + 0.3 * math.sin(s / 8.0) + 0.04 * math.sin(self._n * 2.3)
        return max(0, min(65535, int(level * 65535)))
