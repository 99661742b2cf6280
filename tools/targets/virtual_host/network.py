"""Stand-in for ``network`` on the virtual board (tools/targets/virtual.py; a host stand-in,
never frozen or deployed).

The air around the board comes from the JSON file named by $KIT_RADIO::

    {"networks": [{"ssid": "Home", "password": "secret123", "rssi": -50, "ip": "127.0.0.1"}],
     "ap_ip": "127.0.0.1", "mac": "0200000012ab"}

A station joins a listed network when the password matches (status codes as on esp32); the
access point takes any name and reports ``ap_ip``. Every change is printed, so a test can read
what the firmware did with the radio from the board's output.
"""
import json
import os

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_CONNECT_FAIL = 203
AUTH_OPEN = 0
AUTH_WPA2_PSK = 3


def _radio():
    path = os.getenv("KIT_RADIO")
    if not path:
        return {}
    with open(path) as f:
        return json.load(f)


_ifaces = {}


def WLAN(interface=STA_IF):
    if interface not in _ifaces:
        _ifaces[interface] = _WLAN(interface)
    return _ifaces[interface]


class _WLAN:
    def __init__(self, interface):
        self.interface = interface
        self.up = False
        self.joined = None
        self.code = STAT_IDLE
        self.settings = {}

    def active(self, on=None):
        if on is None:
            return self.up
        if bool(on) != self.up:
            print("network stand-in: %s %s" % ("AP" if self.interface == AP_IF else "STA",
                                               "on" if on else "off"))
        self.up = bool(on)
        return self.up

    def scan(self):
        out = []
        for n in _radio().get("networks", []):
            out.append((n["ssid"].encode(), b"\x02\x00\x00\x00\x00\x01", 6, n.get("rssi", -60),
                        AUTH_WPA2_PSK if n.get("password") else AUTH_OPEN, False))
        return out

    def connect(self, ssid, password=""):
        print("network stand-in: STA connect %r" % ssid)
        for n in _radio().get("networks", []):
            if n["ssid"] == ssid:
                if n.get("password", "") == password:
                    self.joined = n
                    self.code = STAT_GOT_IP
                else:
                    self.code = STAT_WRONG_PASSWORD
                return
        self.code = STAT_NO_AP_FOUND

    def disconnect(self):
        self.joined = None
        self.code = STAT_IDLE

    def isconnected(self):
        return self.joined is not None

    def status(self, param=None):
        if param == "rssi":
            return self.joined.get("rssi", -60) if self.joined else 0
        return self.code

    def config(self, *args, **kwargs):
        if kwargs:
            self.settings.update(kwargs)
            if self.interface == AP_IF:
                print("network stand-in: AP config %s" % json.dumps(self.settings))
            return None
        name = args[0]
        if name == "mac":
            mac = _radio().get("mac", "0200000012ab")
            return bytes(int(mac[i:i + 2], 16) for i in range(0, 12, 2))
        if name in ("essid", "ssid"):
            if self.interface == AP_IF:
                return self.settings.get("essid", self.settings.get("ssid", ""))
            return self.joined["ssid"] if self.joined else ""
        return self.settings.get(name)

    def ifconfig(self, *args):
        if self.interface == AP_IF:
            ip = _radio().get("ap_ip", "127.0.0.1")
        else:
            ip = self.joined.get("ip", "127.0.0.1") if self.joined else "0.0.0.0"
        return (ip, "255.255.255.0", ip, ip)


def hostname(name=None):
    return "virtual-board"
