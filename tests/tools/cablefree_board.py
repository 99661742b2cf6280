"""The cable-free tests' board (portal, OTA, the field): the virtual board with its stand-ins.

The device app (tests/tools/cablefree_device) runs on the MicroPython unix port through
tools.targets.virtual.VirtualBoard with ``standins=True``: the stand-ins for ``network``,
``machine`` and ``esp32`` (tools/targets/virtual_host/), restarts in place after
``machine.reset()``, the watchdog, ``power_cycle()`` and ``wait_boots()`` are the virtual board's.
This module only adds the air around the board (the radio file the ``network`` stand-in reads)
and the set-up portal's DNS port.
"""
import json
from pathlib import Path

from tools.targets import virtual as V

HERE = Path(__file__).resolve().parent
DEVICE = HERE / "cablefree_device"
RESET_STATUS = V.RESET_STATUS


class CableFreeBoard(V.VirtualBoard):
    def __init__(self, radio, dns_port, extensions="wifi ota", env=None, files=None, **kwargs):
        self.radio = radio
        self.dns_port = dns_port
        extra = {"KIT_RADIO": str(radio), "KIT_DNS_PORT": str(dns_port)}
        extra.update(env or {})
        super().__init__("UNIX", app=DEVICE, netns="off", extensions=extensions, env=extra,
                         quiet=True, standins=True, seed=files, **kwargs)


def write_radio(path, networks, ap_ip="127.0.0.1", mac="0200000012ab"):
    path.write_text(json.dumps({"networks": networks, "ap_ip": ap_ip, "mac": mac}))
    return path
