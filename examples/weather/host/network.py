"""Host stand-in for ``network`` (virtual board only, never deployed): a connected station."""
import math
import time

STA_IF = 0
AP_IF = 1
STAT_GOT_IP = 1010


class WLAN:
    def __init__(self, interface=STA_IF):
        self.interface = interface

    def active(self, *args):
        return True

    def isconnected(self):
        return True

    def status(self, param=None):
        if param == 'rssi':
            return int(-58 + 6 * math.sin(time.time() / 10.0))
        return STAT_GOT_IP

    def config(self, name=None, **kwargs):
        if name == 'essid' or name == 'ssid':
            return 'virtual-wifi'
        if name == 'mac':
            return b'\x02\x00\x00\x00\x00\x01'
        if name == 'hostname':
            return 'virtual-board'
        return None

    def ifconfig(self, *args):
        return ('127.0.0.1', '255.0.0.0', '127.0.0.1', '127.0.0.1')
