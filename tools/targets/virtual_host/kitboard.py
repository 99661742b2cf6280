"""The kit's start-up on the virtual board: a host stand-in for the firmware's boot sequence
(tools/targets/virtual.py runs it when given an OTA token; never frozen or deployed).

On a board the bootloader starts, then the kit's frozen boot.py and main.py run. The unix port
runs neither, so this script does what they do, with the board's filesystem root as the working
folder: the ``esp32`` stand-in's import plays the bootloader (it rolls back an unconfirmed
firmware update), the frozen ``boot`` module runs /boot.py and joins the stored network
(/wifi.json, the air from the ``network`` stand-in), then :func:`kitstart.run_main` runs
/main.py (watched by kitsafe) or, without one or in safe mode, waits for `make ota`.
Ports come from $PORT (the app's and the OTA routes') and $KIT_DNS_PORT (the set-up portal's).
"""
import os
import sys

try:
    import esp32  # noqa: F401  the stand-in's import is the bootloader
except ImportError:
    esp32 = None


def _mount_romfs():
    """What MicroPython's start-up does with a ROMFS area (extmod/vfs.c): mount a valid image
    at /rom and append /rom and /rom/lib to sys.path (the area is read into RAM here; on a
    board it is memory-mapped flash)."""
    import vfs

    found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label="romfs") if esp32 else []
    if not found or not hasattr(vfs, "VfsRom"):
        return
    with open(found[0].path, "rb") as f:
        data = f.read()
    try:
        vfs.mount(vfs.VfsRom(data), "/rom")
    except OSError:  # no valid image (blank, or a write cut before its header)
        return
    sys.path.append("/rom")
    sys.path.append("/rom/lib")


_mount_romfs()
import kitnet

kitnet.CONFIG = "wifi.json"  # the board's /wifi.json: the working folder is its filesystem root
kitnet.CERT, kitnet.KEY = "cert.der", "key.der"  # its /cert.der and /key.der (HTTPS, make cert)
_port = int(os.getenv("PORT") or "5000")
_main = os.getenv("KIT_APP_MAIN") or "main.py"
try:
    import kitportal
except ImportError:
    pass
else:
    kitportal.HTTP_PORT = kitportal.APP_PORT = _port
    kitportal.DNS_PORT = int(os.getenv("KIT_DNS_PORT") or "5353")
try:
    import kitota
except ImportError:
    pass
else:
    kitota.PORT = _port
    kitota.APP_MAIN = _main

# The frozen boot.py runs, never a /boot.py of the filesystem (which it runs itself): the
# filesystem root ('' as on a board) joins the path only after it.
import boot  # noqa: E402,F401
sys.path.insert(0, "")
import kitstart  # noqa: E402

kitstart.run_main(_main)
