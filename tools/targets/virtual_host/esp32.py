"""Stand-in for ``esp32.Partition`` backed by files, on the virtual board (tools/targets/virtual.py;
a host stand-in, never frozen or deployed).

Two app slots, ``ota_0`` and ``ota_1``, are files of $KIT_PART_SIZE bytes (default 256 KB) in
the folder $KIT_FLASH (default ``.flash`` next to the app); ``otadata.json`` there plays the
bootloader's otadata. Importing this module is the boot: a slot chosen by ``set_boot()`` starts
in "pending verify"; if the board restarts again before ``mark_app_valid_cancel_rollback()``
the bootloader rolls back to the previous slot, as ESP-IDF's does with rollback enabled.
With $KIT_NO_ESP32 set it is not there at all, as on rp2.

The data partition ``romfs`` (the kit's esp32 tables have one) is ``romfs.bin`` there, of
$KIT_ROMFS_SIZE bytes (default 128 KB; 0: no such partition): kitota writes ROMFS images into
it, and the virtual board's start-up (kitboard.py) mounts it at /rom as MicroPython does.
"""
import json
import os

if os.getenv("KIT_NO_ESP32"):  # a board like rp2: no esp32 module at all
    raise ImportError("no module named 'esp32'")

BLOCK = 4096
_DIR = os.getenv("KIT_FLASH") or ".flash"
_SIZE = int(os.getenv("KIT_PART_SIZE") or str(256 * 1024))
_SLOTS = ("ota_0", "ota_1")
ROMFS = "romfs"
_ROMFS_SIZE = int(os.getenv("KIT_ROMFS_SIZE") or str(128 * 1024))
_STATE = _DIR + "/otadata.json"


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _load():
    try:
        with open(_STATE) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"boot": "ota_0", "previous": None, "state": "valid"}


def _save(state):
    with open(_STATE + ".new", "w") as f:
        json.dump(state, f)
    os.rename(_STATE + ".new", _STATE)


def _boot():
    """What the bootloader does before the firmware runs."""
    if not _exists(_DIR):
        os.mkdir(_DIR)
    for label in _SLOTS + ((ROMFS,) if _ROMFS_SIZE else ()):
        path = "%s/%s.bin" % (_DIR, label)
        if not _exists(path):
            with open(path, "wb") as f:
                chunk = b"\xff" * BLOCK
                for _ in range((_ROMFS_SIZE if label == ROMFS else _SIZE) // BLOCK):
                    f.write(chunk)
    state = _load()
    if state["state"] == "new":
        state["state"] = "pending_verify"
        print("esp32 stand-in: booting %s (pending verify)" % state["boot"])
    elif state["state"] == "pending_verify":
        print("esp32 stand-in: %s was not confirmed; rolling back to %s" % (state["boot"], state["previous"]))
        state = {"boot": state["previous"], "previous": None, "state": "valid"}
    else:
        print("esp32 stand-in: booting %s" % state["boot"])
    _save(state)
    return state["boot"]


_running = _boot()


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1

    def __init__(self, id, block_size=BLOCK):
        if id == Partition.RUNNING:
            id = _running
        elif id == Partition.BOOT:
            id = _load()["boot"]
        if id not in _SLOTS and not (id == ROMFS and _ROMFS_SIZE):
            raise ValueError("partition not found")
        self.label = id
        self.path = "%s/%s.bin" % (_DIR, id)
        self.size = _ROMFS_SIZE if id == ROMFS else _SIZE

    @staticmethod
    def find(type=TYPE_APP, subtype=255, label=None):
        if type == Partition.TYPE_DATA:
            return [Partition(ROMFS)] if _ROMFS_SIZE and label in (None, ROMFS) else []
        if type != Partition.TYPE_APP:
            return []
        return [Partition(s) for s in _SLOTS if label is None or s == label]

    def info(self):
        if self.label == ROMFS:
            return (Partition.TYPE_DATA, 0x8F, 0x10000 + 2 * _SIZE, self.size, ROMFS, False)
        return (Partition.TYPE_APP, 0x10 + _SLOTS.index(self.label),
                0x10000 + _SLOTS.index(self.label) * _SIZE, _SIZE, self.label, False)

    def readblocks(self, block, buf, offset=0):
        with open(self.path, "rb") as f:
            f.seek(block * BLOCK + offset)
            data = f.read(len(buf))
        buf[:len(data)] = data

    def writeblocks(self, block, buf, offset=None):
        if offset is None:
            if len(buf) % BLOCK:
                raise OSError(22)  # EINVAL: whole blocks only when erasing
            offset = 0
        start = block * BLOCK + offset
        if start + len(buf) > self.size:
            raise OSError(22)
        with open(self.path, "r+b") as f:
            f.seek(start)
            f.write(buf)

    def ioctl(self, op, arg):
        if op == 4:
            return self.size // BLOCK
        if op == 5:
            return BLOCK
        if op == 6:
            self.writeblocks(arg, b"\xff" * BLOCK)
            return 0
        return None

    def set_boot(self):
        state = _load()
        _save({"boot": self.label, "previous": _running, "state": "new"})
        print("esp32 stand-in: next boot from %s" % self.label)

    def get_next_update(self):
        return Partition(_SLOTS[1 - _SLOTS.index(self.label)])

    @staticmethod
    def mark_app_valid_cancel_rollback():
        state = _load()
        if state["state"] == "pending_verify":
            print("esp32 stand-in: %s confirmed" % state["boot"])
        state["state"] = "valid"
        _save(state)

    def __repr__(self):
        return "<Partition %s>" % self.label
