"""Host stand-in for MicroPython's ``dht`` driver (virtual board only, never deployed).

``DHT22(pin).measure()`` makes up a reading that drifts slowly like a room does; every
13th measurement fails with OSError (ETIMEDOUT) as a real sensor sometimes does.
"""
import math
import time

try:
    _ms = time.ticks_ms
except AttributeError:  # CPython
    def _ms():
        return int(time.monotonic() * 1000)

_START = _ms()


class DHTBase:
    def __init__(self, pin):
        self.pin = pin
        self._count = 0
        self._t = None
        self._h = None

    def measure(self):
        self._count += 1
        if self._count % 13 == 0:
            raise OSError(110)  # ETIMEDOUT: no answer from the sensor
        s = (_ms() - _START) / 1000.0
        t = 21.5 + 2.5 * math.sin(s / 40.0) + 0.3 * math.sin(s * 1.7)
        h = 48.0 + 6.0 * math.cos(s / 55.0) + 0.8 * math.sin(s * 1.3)
        self._t = round(t, 1)
        self._h = round(h, 1)


class DHT11(DHTBase):
    def temperature(self):
        return int(self._t)

    def humidity(self):
        return int(self._h)


class DHT22(DHTBase):
    def temperature(self):
        return self._t

    def humidity(self):
        return self._h
