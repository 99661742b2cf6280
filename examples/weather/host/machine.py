"""Host stand-in for ``machine`` (virtual board only; `make deploy` never copies host/)."""


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._value = value or 0

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0

    def __repr__(self):
        return 'Pin(%r)' % (self.id,)


def unique_id():
    return b'\xde\xad\xbe\xef\x00\x01'
