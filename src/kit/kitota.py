"""kitota - authenticated over-the-air updates of the app and (ESP32) the firmware.

Add it to an app and ``make ota DEVICE=http://<board-ip>:5000 APP=dir`` (tools/device/ota.py) updates
the board over Wi-Fi::

    import kitota
    kitota.install(app)          # routes under /ota; the token comes from /wifi.json

Every request is signed with the ``ota_token`` stored by ``make wifi OTA_TOKEN=...`` or the
set-up portal, which itself never crosses the network: ``GET /ota/nonce`` hands out a random
single-use nonce that expires after ``NONCE_TTL`` ms (at most ``NONCE_MAX`` are open; a new one
pushes out the oldest), and the request carries ::

    Authorization: KitOTA nonce=<nonce>, mac=<hex HMAC-SHA256(token, message)>
    message = "KitOTA\n" METHOD "\n" path?query "\n" nonce "\n" hex(sha256(body))

The board takes the nonce (and every older one: a request held back while a later one was
used is stale) out of its table whatever the outcome, recomputes the mac and compares it in
constant time; a missing, unknown, used or expired nonce or a wrong mac gets 401
(``WWW-Authenticate: KitOTA``) before the route runs. A signed answer carries the next nonce in
``KitOTA-Nonce``, so a client needs no extra round trip per request. Without a stored token
every request is refused. docs/wifi.md says what this protects against and what not.

App update: ``/ota/begin`` lists the files with their size and sha256, ``/ota/app/<i>`` takes
each file in pieces into ``/.ota/``, ``/ota/commit`` checks every staged file against its
sha256 and only then renames them over the old ones (a journal lets the next boot finish an
interrupted swap), then restarts. A broken or incomplete upload leaves the old app in place.
The swap keeps the old files and the new app starts on probation: kitsafe confirms it on an
answered request or rolls it back (``GET /ota/info`` says which, ``GET /ota/log`` why).

Firmware update (ESP32 built with an OTA partition table): ``/ota/firmware/begin`` checks the
size against ``esp32.Partition.get_next_update()``, the first piece must be an ESP app image
header for the running chip, and ``/ota/firmware/commit`` re-reads the partition and checks
the sha256 before ``set_boot()`` and a restart. The new firmware confirms itself
(``mark_app_valid_cancel_rollback()``) once its web server has answered a request; otherwise
the bootloader goes back to the old one at the next reset. Boards without it answer 501.

ROMFS image (a board whose firmware has a ROMFS area: the kit's esp32 builds, rp2 with
``MICROPY_HW_ROMFS_BYTES``): ``/ota/romfs/begin`` checks the size against the area,
``/ota/romfs`` takes the image in pieces into ``/.ota/romfs`` on the filesystem, and
``/ota/romfs/commit`` checks its size, sha256 and ROMFS header; only a checked image becomes
``.kit/romfs.img``, which is written into the area just before the restart (block 0, the
header, last; read back and compared), while nothing from ``/rom`` runs. A cut or wrong upload
never touches the area; a reset during the write leaves ``.kit/romfs.img``, which the next
start writes again (:func:`recover`). MicroPython mounts the area at ``/rom`` at start-up.

Certificate rotation (a board serving HTTPS, ``make ota NEWCERT=...``): ``POST /ota/cert``
takes a new certificate and key only over HTTPS (:func:`new_cert`); the first pair goes over USB.

The middle layer of the board runtime (src/kit/): it imports only :mod:`kitnet` (the bottom,
for the settings file's name), never :mod:`kitstart`, which calls :func:`serve`.
"""
import asyncio
import binascii
import hashlib
import json
import os
import time

PREFIX = "/ota"
from kitsafe import STAGE, _exists, _remove  # STAGE: staging folder, next to the app (same filesystem, so rename() works)
PIECE = 4096  # bytes per upload request (one flash sector)
ROMFS_STAGED = STAGE + "/romfs"  # a ROMFS image being uploaded
ROMFS_PENDING = ".kit/romfs.img"  # a checked image, written into the ROMFS area at the restart
MAX_FILE = 512 * 1024
MAX_FILES = 64
RESTART_DELAY = 0.5  # seconds between the answer and the restart
RESERVED = ("wifi.json", "boot.py")  # never written over the air
APP_MAIN = "main.py"  # no such file at boot: serve() waits for the first app
PORT = 5000
_APP_DESC = b"\x32\x54\xcd\xab"  # esp_app_desc_t magic at offset 32 of an app image
SCHEME = "KitOTA"  # the Authorization scheme (and the first line of what is signed)
NONCE_HEADER = "KitOTA-Nonce"  # the next nonce, in every signed answer
NONCE_TTL = 60000  # ms a nonce stays usable after it is handed out
NONCE_MAX = 4  # nonces open at once; a new one pushes out the oldest

_token = None
_pads = None  # the token as HMAC inner and outer key blocks
_nonces = []  # [nonce, expiry ticks_ms], oldest first
_app = {}  # upload in progress: {"files": [[name, size, sha], ...], "got": [bytes, ...]}
_fw = {}  # firmware upload in progress
_rom = {}  # ROMFS upload in progress
ROMFS_MAGIC = b"\xd2\xcd\x31"  # the first bytes of a ROMFS image (MicroPython's extmod/vfs_rom.c)
_confirmed = False


def _digest(text):
    return hashlib.sha256(text.encode()).digest()


def same(given, expected):
    """Compare two tokens in time that does not depend on where they differ."""
    a = _digest(given or "")
    b = _digest(expected or "")
    diff = 0 if expected else 1
    for i in range(32):
        diff |= a[i] ^ b[i]
    return diff == 0


# --------------------------------------------------------------------------------------------
# Signed requests: HMAC-SHA256 (RFC 2104; MicroPython has no hmac module) and nonces


def _keys(key):
    """The inner and outer key blocks of HMAC-SHA256 for ``key`` (str or bytes)."""
    if isinstance(key, str):
        key = key.encode()
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key + bytes(64 - len(key))
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _mac(pads, msg):
    h = hashlib.sha256(pads[0])
    h.update(msg)
    o = hashlib.sha256(pads[1])
    o.update(h.digest())
    return o.digest()


def hmac_sha256(key, msg):
    """HMAC-SHA256 of ``msg`` (bytes) under ``key``, 32 bytes (RFC 2104, RFC 4231)."""
    return _mac(_keys(key), msg)


def _expire():
    now = time.ticks_ms()
    while _nonces and time.ticks_diff(_nonces[0][1], now) <= 0:
        _nonces.pop(0)


def new_nonce():
    """A fresh random nonce, usable once within ``NONCE_TTL`` ms."""
    _expire()
    if len(_nonces) >= NONCE_MAX:
        _nonces.pop(0)
    n = binascii.hexlify(os.urandom(16)).decode()
    _nonces.append([n, time.ticks_add(time.ticks_ms(), NONCE_TTL)])
    return n


def _take(nonce):
    """True once for a nonce handed out that has not expired; it and every older one are gone
    afterwards (nonces are used in the order they were handed out: a held-back request is stale)."""
    _expire()
    for i in range(len(_nonces)):
        if _nonces[i][0] == nonce:
            del _nonces[:i + 1]
            return True
    return False


def check(request):
    """None for a request signed with the token over a fresh nonce; else (error, 401)."""
    if not _pads:
        return _error(401, "no OTA token on the board: set one with make wifi OTA_TOKEN=... or the set-up portal")
    h = request.headers.get("Authorization") or ""
    nonce = mac = None
    if h[:7].lower() == "kitota ":  # the scheme in any case (RFC 9110)
        for part in h[7:].split(","):
            k, _, v = part.strip().partition("=")
            if k == "nonce":
                nonce = v
            elif k == "mac":
                mac = v
    if not nonce or not _take(nonce):
        return _error(401, "sign with a fresh nonce from GET %s/nonce (KitOTA scheme)" % PREFIX)
    qs = request.query_string
    body = hashlib.sha256(request.body or b"").digest()
    msg = "%s\n%s\n%s\n%s\n%s" % (SCHEME, request.method, request.path + ("?" + qs if qs else ""), nonce,
                                  binascii.hexlify(body).decode())
    if not same(mac, binascii.hexlify(_mac(_pads, msg.encode())).decode()):
        return _error(401, "bad signature: wrong OTA token, or the request was changed")
    return None


def _hex(h):
    return binascii.hexlify(h.digest()).decode()


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        buf = bytearray(1024)
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(buf[:n] if n < 1024 else buf)
    return _hex(h)


def _clear_stage():
    try:
        names = os.listdir(STAGE)
    except OSError:
        return
    for n in names:
        _remove(STAGE + "/" + n)


def _is_dir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except OSError:
        return False


def recover():
    """At start-up: finish a swap that a reset interrupted (kitsafe, which keeps the old files
    for a rollback), drop a half-made upload."""
    import kitsafe

    kitsafe.recover()
    _clear_stage()
    finish_cert()  # (a pending ROMFS image: finish_romfs() ran at this module's import)


def good_name(name):
    """A relative path inside the app: no '..', no dot-files, not a reserved file."""
    if not isinstance(name, str) or not name or len(name) > 128 or name[0] == "/" or "\\" in name:
        return False
    for part in name.split("/"):
        if not part or part[0] == "." or part == "..":
            return False
    return name not in RESERVED


def _free():
    try:
        st = os.statvfs(".")
        return st[0] * st[4]
    except (OSError, AttributeError):
        return None


def _esp32():
    try:
        import esp32
    except ImportError:
        return None
    return esp32


def _reset():
    """Write a checked ROMFS image that waits (nothing awaits in between: no task runs code
    from /rom while it changes), then restart."""
    write_romfs()
    try:
        import machine
    except ImportError:
        raise SystemExit
    machine.reset()


def _restart_later():
    async def later():
        await asyncio.sleep(RESTART_DELAY)
        _reset()
    asyncio.create_task(later())


def _error(status, message, **extra):
    body = {"error": message}
    body.update(extra)
    return body, status


def _offset(request):
    try:
        return int(request.args.get("offset", "0"))
    except ValueError:
        return -1


def _piece(request):
    body = request.body
    if not body or len(body) != request.content_length or len(body) > PIECE:
        return None
    return body


# --------------------------------------------------------------------------------------------
# App files


def hashes(names):
    out = {}
    for n in names:
        out[n] = file_sha256(n) if good_name(n) and _exists(n) else None
    return out


def begin_app(files):
    """Start an update of ``files``: [[name, size, sha256], ...]; piece uploads use the index."""
    if not isinstance(files, list) or not files:
        return _error(400, "name the files: [[name, size, sha256], ...]")
    if len(files) > MAX_FILES:
        return _error(413, "at most %d files per update" % MAX_FILES)
    rows = []
    total = 0
    for spec in files:
        try:
            name, size, sha = spec[0], int(spec[1]), str(spec[2])
        except (TypeError, ValueError, IndexError, KeyError):
            return _error(400, "bad [name, size, sha256] entry")
        if not good_name(name):
            return _error(400, "bad file name", name=name)
        if _is_dir(name):
            return _error(400, "a folder of that name is on the board", name=name)
        if size < 0 or len(sha) != 64:
            return _error(400, "bad size or sha256", name=name)
        if size > MAX_FILE:
            return _error(413, "file larger than %d bytes" % MAX_FILE, name=name)
        total += size
        rows.append([name, size, sha.lower()])
    free = _free()
    if free is not None and total + 4096 > free:
        return _error(413, "not enough free space (%d bytes needed, %d free)" % (total, free))
    _app.clear()
    _clear_stage()
    if not _exists(STAGE):
        os.mkdir(STAGE)
    for i in range(len(rows)):
        open("%s/%d" % (STAGE, i), "wb").close()
    _app["files"] = rows
    _app["got"] = [0] * len(rows)
    return {"files": len(rows), "piece": PIECE}


def put_app(index, offset, data):
    rows = _app.get("files")
    if rows is None:
        return _error(409, "no update in progress: POST %s/begin first" % PREFIX)
    if not 0 <= index < len(rows):
        return _error(404, "no such file in this update")
    if data is None:
        return _error(413, "send 1 to %d bytes per piece with a Content-Length" % PIECE)
    if offset != _app["got"][index]:
        return _error(409, "expected offset %d" % _app["got"][index])
    if offset + len(data) > rows[index][1]:
        return _error(413, "more bytes than announced", name=rows[index][0])
    with open("%s/%d" % (STAGE, index), "ab") as f:
        f.write(data)
    _app["got"][index] = offset + len(data)
    return {"name": rows[index][0], "got": _app["got"][index]}


def commit_app():
    rows = _app.get("files")
    if rows is None:
        return _error(409, "no update in progress: POST %s/begin first" % PREFIX)
    bad = []
    for i, (name, size, sha) in enumerate(rows):
        path = "%s/%d" % (STAGE, i)
        try:
            ok = os.stat(path)[6] == size and file_sha256(path) == sha
        except OSError:
            ok = False
        if not ok:
            bad.append(name)
    if bad:
        _app.clear()
        _clear_stage()
        return _error(422, "files incomplete or not matching their sha256; nothing changed", files=bad)
    import kitsafe

    # the old files go to a backup, the app restarts on probation (kitsafe rolls it back)
    failed, update = kitsafe.swap_in([["%s/%d" % (STAGE, i), row[0]] for i, row in enumerate(rows)])
    _app.clear()
    _restart_later()
    if failed:
        return _error(500, "could not replace some files; restarting", files=failed, update=update)
    return {"updated": [r[0] for r in rows], "restarting": True, "update": update}


# --------------------------------------------------------------------------------------------
# Firmware


def _no_firmware():
    esp32 = _esp32()
    if esp32 is None or not hasattr(esp32, "Partition"):
        return "this board has no esp32.Partition (rp2 and unix cannot update their firmware over the air); reflash it with make flash"
    try:
        esp32.Partition(esp32.Partition.RUNNING).get_next_update()
    except OSError:
        return "this firmware has no OTA partition table; build it with BOARD_VARIANT=OTA and flash it once"
    return None


def _part_bytes(part):
    return part.ioctl(4, 0) * part.ioctl(5, 0)


def _chip(header):
    return header[12] | header[13] << 8


def begin_firmware(size, sha):
    reason = _no_firmware()
    if reason:
        return _error(501, reason)
    try:
        size = int(size)
        sha = str(sha).lower()
    except (TypeError, ValueError):
        return _error(400, "bad size or sha256")
    if size < 64 or len(sha) != 64:
        return _error(400, "bad size or sha256")
    import esp32
    part = esp32.Partition(esp32.Partition.RUNNING).get_next_update()
    room = _part_bytes(part)
    if size > room:
        return _error(413, "image of %d bytes does not fit the %d-byte OTA partition" % (size, room))
    _fw.clear()
    _fw.update(part=part, size=size, sha=sha, got=0, h=hashlib.sha256())
    return {"size": size, "partition": part.info()[4], "piece": PIECE}


def check_header(data, running):
    """Why ``data`` (the first bytes of an upload) is not an app image for this chip, or None."""
    if len(data) < 64 or data[0] != 0xE9:
        return "not an ESP app image (no 0xE9 header): send build-*/micropython.bin"
    if not 1 <= data[1] <= 16:
        return "bad segment count in the image header"
    if data[32:36] != _APP_DESC:
        return "not an app image (no app description): send micropython.bin, not firmware.bin"
    if running is not None and running[0] == 0xE9 and _chip(running) != _chip(data):
        return "image is for chip id %d, this board is chip id %d" % (_chip(data), _chip(running))
    return None


def put_firmware(offset, data):
    if not _fw:
        return _error(409, "no firmware update in progress: POST %s/firmware/begin first" % PREFIX)
    if data is None or (len(data) != PIECE and offset + len(data) != _fw["size"]):
        return _error(413, "send pieces of %d bytes (the last may be shorter)" % PIECE)
    if offset != _fw["got"]:
        return _error(409, "expected offset %d" % _fw["got"])
    if offset + len(data) > _fw["size"]:
        return _error(413, "more bytes than announced")
    if offset == 0:
        import esp32
        running = bytearray(PIECE)
        try:
            esp32.Partition(esp32.Partition.RUNNING).readblocks(0, running)
        except OSError:
            running = None
        reason = check_header(data, running)
        if reason:
            _fw.clear()
            return _error(422, reason)
    block = data if len(data) == PIECE else data + b"\xff" * (PIECE - len(data))
    _fw["part"].writeblocks(offset // PIECE, block)
    _fw["h"].update(data)
    _fw["got"] = offset + len(data)
    return {"got": _fw["got"]}


def commit_firmware():
    if not _fw:
        return _error(409, "no firmware update in progress: POST %s/firmware/begin first" % PREFIX)
    fw = dict(_fw)
    _fw.clear()
    if fw["got"] != fw["size"]:
        return _error(422, "got %d of %d bytes; the boot partition is unchanged" % (fw["got"], fw["size"]))
    if _hex(fw["h"]) != fw["sha"]:
        return _error(422, "sha256 does not match; the boot partition is unchanged")
    part = fw["part"]
    h = hashlib.sha256()
    buf = bytearray(PIECE)
    left = fw["size"]
    block = 0
    while left > 0:
        part.readblocks(block, buf)
        h.update(buf if left >= PIECE else buf[:left])
        left -= PIECE
        block += 1
    if _hex(h) != fw["sha"]:
        return _error(500, "the partition does not read back as written; the boot partition is unchanged")
    part.set_boot()
    _restart_later()
    return {"partition": part.info()[4], "restarting": True}


# --------------------------------------------------------------------------------------------
# ROMFS image


def romfs_area():
    """The block device of the board's ROMFS area (esp32: the ``romfs`` partition, rp2: its
    flash region), or None when the firmware has none or cannot mount one."""
    try:
        import vfs
    except ImportError:
        return None
    if not hasattr(vfs, "VfsRom"):
        return None
    if hasattr(vfs, "rom_ioctl"):
        try:
            if vfs.rom_ioctl(1) > 0:
                dev = vfs.rom_ioctl(2, 0)
                if hasattr(dev, "writeblocks"):
                    return dev
        except OSError:
            pass
    esp32 = _esp32()
    if esp32 is not None and hasattr(esp32, "Partition"):
        found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label="romfs")
        if found:
            return found[0]
    return None


def _varint(data, i):
    v = 0
    while i < len(data):
        b = data[i]
        v = (v << 7) | (b & 0x7F)
        i += 1
        if not b & 0x80:
            return v, i
    return -1, i


def romfs_header(data, size):
    """Why ``data`` (an image's first bytes) does not start a ROMFS image of ``size`` bytes, or None."""
    if data[:3] != ROMFS_MAGIC:
        return "not a ROMFS image (no d2 cd 31 header): build it with make ota ROMFS=1"
    n, i = _varint(data, 3)
    if n < 0 or i + n != size:
        return "the ROMFS header says %d bytes, the image has %d" % (i + n if n >= 0 else -1, size)
    return None


def _romfs_from_rom():
    # kitota's own code in /rom would change under it while it writes the area
    return __file__.startswith("/rom")


def begin_romfs(size, sha):
    area = romfs_area()
    if area is None:
        return _error(501, "this firmware has no ROMFS area; flash a kit build with one (docs/romfs.md)")
    if _romfs_from_rom():
        return _error(501, "kitota runs from the ROMFS image it would replace; update it over USB with make deploy ROMFS=1")
    try:
        size = int(size)
        sha = str(sha).lower()
    except (TypeError, ValueError):
        return _error(400, "bad size or sha256")
    if size < 4 or len(sha) != 64:
        return _error(400, "bad size or sha256")
    room = _part_bytes(area)
    if size > room:
        return _error(413, "image of %d bytes does not fit the %d-byte ROMFS area" % (size, room))
    free = _free()
    if free is not None and size + 8192 > free:
        return _error(413, "not enough free space to stage the image (%d bytes needed, %d free)" % (size, free))
    _rom.clear()
    if not _exists(STAGE):
        os.mkdir(STAGE)
    open(ROMFS_STAGED, "wb").close()
    _rom.update(size=size, sha=sha, got=0)
    return {"size": size, "area": room, "piece": PIECE}


def put_romfs(offset, data):
    if not _rom:
        return _error(409, "no ROMFS upload in progress: POST %s/romfs/begin first" % PREFIX)
    if data is None:
        return _error(413, "send 1 to %d bytes per piece with a Content-Length" % PIECE)
    if offset != _rom["got"]:
        return _error(409, "expected offset %d" % _rom["got"])
    if offset + len(data) > _rom["size"]:
        return _error(413, "more bytes than announced")
    if offset == 0 and data[:3] != ROMFS_MAGIC:
        _rom.clear()
        _remove(ROMFS_STAGED)
        return _error(422, romfs_header(data, -1))
    with open(ROMFS_STAGED, "ab") as f:
        f.write(data)
    _rom["got"] = offset + len(data)
    return {"got": _rom["got"]}


def commit_romfs(restart=True):
    """Check the staged image (size, sha256, header); a good one waits in ROMFS_PENDING and
    is written at the restart (now, or with the app update that follows: ``restart`` False)."""
    if not _rom:
        return _error(409, "no ROMFS upload in progress: POST %s/romfs/begin first" % PREFIX)
    rom = dict(_rom)
    _rom.clear()
    why = None
    try:
        if os.stat(ROMFS_STAGED)[6] != rom["size"]:
            why = "got %d of %d bytes" % (os.stat(ROMFS_STAGED)[6], rom["size"])
        elif file_sha256(ROMFS_STAGED) != rom["sha"]:
            why = "sha256 does not match"
        else:
            with open(ROMFS_STAGED, "rb") as f:
                why = romfs_header(f.read(16), rom["size"])
    except OSError:
        why = "the staged image is gone"
    if why:
        _remove(ROMFS_STAGED)
        return _error(422, why + "; the ROMFS image is unchanged")
    import kitsafe

    kitsafe._makedirs(ROMFS_PENDING)
    _remove(ROMFS_PENDING)
    os.rename(ROMFS_STAGED, ROMFS_PENDING)
    if restart:
        _restart_later()
    return {"size": rom["size"], "restarting": bool(restart)}


def write_romfs():
    """Write ROMFS_PENDING (a checked image) into the area: block 0 blank first, the rest,
    block 0 last, then read back; True when written. A reset before the end leaves no valid
    header (nothing is mounted) and the pending image, which the next start writes again."""
    if not _exists(ROMFS_PENDING):
        return False
    area = romfs_area()
    if area is None:
        return False
    size = os.stat(ROMFS_PENDING)[6]
    want = file_sha256(ROMFS_PENDING)
    buf = bytearray(PIECE)
    blank = b"\xff" * PIECE
    area.writeblocks(0, blank)
    first = None
    block = 0
    with open(ROMFS_PENDING, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            if n < PIECE:
                buf[n:] = blank[n:]
            if block == 0:
                first = bytes(buf)
            else:
                area.writeblocks(block, buf)
            block += 1
    area.writeblocks(0, first)
    h = hashlib.sha256()
    left = size
    block = 0
    while left > 0:
        area.readblocks(block, buf)
        h.update(buf if left >= PIECE else buf[:left])
        left -= PIECE
        block += 1
    if _hex(h) != want:
        print("kitota: the ROMFS area does not read back as written; kept %s" % ROMFS_PENDING)
        return False
    _remove(ROMFS_PENDING)
    print("kitota: wrote a %d-byte ROMFS image" % size)
    return True


def finish_romfs():
    """A checked image whose write a reset cut (or that waited for a restart that never came)
    is written now and the board restarts into it; one that cannot be written is dropped (no
    reset loop). Runs when kitota is imported, before the app imports from /rom."""
    if not _exists(ROMFS_PENDING):
        return
    if write_romfs():
        _reset()
    _remove(ROMFS_PENDING)


def _romfs_info():
    area = romfs_area()
    if area is None:
        return None
    import sys

    return {"bytes": _part_bytes(area), "mpy": getattr(sys.implementation, "_mpy", None),
            "pending": _exists(ROMFS_PENDING), "writable": not _romfs_from_rom()}


def _in_firmware(f):
    # frozen: "kitota.py", "microdot/pubsub.py" (or ".frozen/..."); deployed: "/lib/...",
    # "lib/...", "/rom/..."; the virtual board's stand-in firmware: an absolute folder
    if f[:1] != "/":
        return not f.startswith("lib/")
    return not f.startswith("/rom") and not f.startswith("/lib/") and f.count("/") > 1


def firmware_has(names):
    """Which of the (dotted) kit module ``names`` the firmware itself holds (what `make deploy`
    asks over USB): an imported one by its ``__file__``, the others imported with ``sys.path``
    cut down to the firmware's own entries (dropped again afterwards)."""
    import sys

    out = []
    keep = sys.path[:]
    sys.path[:] = [p for p in keep if p not in ("", ".", "/", "/lib", "lib", "/rom", "/rom/lib")]
    try:
        for n in names:
            m = sys.modules.get(n)
            if m is not None:
                if _in_firmware(getattr(m, "__file__", ".frozen")):
                    out.append(n)
                continue
            try:
                __import__(n)
            except ImportError:
                continue
            out.append(n)
            sys.modules.pop(n, None)
    finally:
        sys.path[:] = keep
    return out


# --------------------------------------------------------------------------------------------
# Certificate rotation (HTTPS): a new certificate and key, over a pinned HTTPS connection only


def new_cert(scheme, data):
    """Replace the board's certificate and key (``data``: {"cert", "key"}, base64 DER) when the
    request came over HTTPS (a key never crosses the network in clear: the first pair goes over
    USB). Both are written to ``.new`` files, checked (the key's P-256 public point is the
    certificate's, a TLS context builds from them), renamed over the old pair, key first, and
    the board restarts serving them; a bad pair leaves the old one."""
    if scheme != "https":
        return _error(403, "keys over HTTPS only; the first over USB: make deploy CERT=")
    from kitnet import CERT, KEY, _read
    cn, kn = CERT + ".new", KEY + ".new"
    ok = False
    try:
        c = binascii.a2b_base64(data["cert"])
        k = binascii.a2b_base64(data["key"])
        for p, b in ((kn, k), (cn, c)):  # key first: finish_cert() takes a lone cert.new as done
            with open(p, "wb") as f:
                f.write(b)
        import ssl
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(_read(cn), _read(kn))
        ok = k[-68:-64] == b"\x03\x42\x00\x04" and k[-68:] in c
    except (ImportError, KeyError, TypeError, ValueError, OSError):
        pass
    if not ok:
        _remove(cn)  # cert.new first (finish_cert)
        _remove(kn)
        return _error(422, "not a key and its certificate; the old ones stay")
    os.rename(kn, KEY)
    os.rename(cn, CERT)
    _restart_later()
    return {"pin": _hex(hashlib.sha256(c)), "restarting": True}


def finish_cert():
    """At start-up: a rotation cut between its renames (new key in place, cert.new left) is
    finished; any other leftover is dropped (the old pair stays)."""
    try:
        from kitnet import CERT, KEY
    except ImportError:
        return
    if _exists(CERT + ".new") and not _exists(KEY + ".new"):
        os.rename(CERT + ".new", CERT)
    _remove(CERT + ".new")
    _remove(KEY + ".new")


# --------------------------------------------------------------------------------------------
# Routes


def info():
    import kitsafe

    out = {"app": True, "piece": PIECE, "max_file": MAX_FILE, "firmware": None, "reason": None,
           "update": kitsafe.status(), "romfs": _romfs_info()}
    reason = _no_firmware()
    if reason:
        out["reason"] = reason
    else:
        import esp32
        running = esp32.Partition(esp32.Partition.RUNNING)
        nxt = running.get_next_update()
        out["firmware"] = {"running": running.info()[4], "next": nxt.info()[4],
                           "next_bytes": _part_bytes(nxt), "confirmed": _confirmed}
    return out


def confirm():
    """Tell the bootloader this firmware works (the rollback is cancelled); once per boot."""
    global _confirmed
    if _confirmed:
        return
    _confirmed = True
    esp32 = _esp32()
    if esp32 is not None and hasattr(esp32, "Partition"):
        try:
            esp32.Partition.mark_app_valid_cancel_rollback()
        except (OSError, AttributeError):
            pass


_started = False  # kitsafe was told this start answered a request


def _start_ok():
    """The first answers count this start as good (kitsafe: after its settle time); an app
    update on probation is confirmed."""
    global _started
    import kitsafe

    kitsafe.answered()
    _started = kitsafe._good


def install(app, token=None, prefix=PREFIX, path=None):
    """Add the OTA routes to ``app``; ``token`` defaults to ``ota_token`` in ``path``
    (``kitnet.CONFIG``, ``/wifi.json``)."""
    global _token, _pads
    if path is None:
        try:
            from kitnet import CONFIG as path
        except ImportError:
            path = "/wifi.json"
    if token is None:
        try:
            with open(path) as f:
                token = json.load(f).get("ota_token")
        except (OSError, ValueError, AttributeError):
            token = None
    _token = token
    _pads = _keys(token) if token else None
    recover()

    def guarded(handler):
        async def route(request, **kwargs):
            refused = check(request)
            if refused is not None:
                return refused[0], refused[1], {"WWW-Authenticate": SCHEME}
            res = handler(request, **kwargs)  # a body, or (body, status[, headers])
            if not isinstance(res, tuple):
                res = (res, 200)
            headers = res[2] if len(res) > 2 else {}
            headers[NONCE_HEADER] = new_nonce()
            return res[0], res[1], headers
        return route

    def body_json(request):
        try:
            return request.json
        except ValueError:
            return None

    def body_obj(request):
        data = body_json(request)
        return data if isinstance(data, dict) else {}

    app.get(prefix + "/nonce")(lambda r: {"nonce": new_nonce(), "ttl_ms": NONCE_TTL})
    app.get(prefix + "/info")(guarded(lambda r: info()))
    def names(request):
        data = body_json(request)
        if not isinstance(data, list):
            return _error(400, "send a JSON list of names")
        if len(data) > 4 * MAX_FILES:
            return _error(413, "at most %d names" % (4 * MAX_FILES))
        return hashes(data)

    app.post(prefix + "/hashes")(guarded(names))
    app.post(prefix + "/begin")(guarded(lambda r: begin_app(body_obj(r).get("files"))))
    app.put(prefix + "/app/<int:index>")(guarded(lambda r, index: put_app(index, _offset(r), _piece(r))))
    app.post(prefix + "/commit")(guarded(lambda r: commit_app()))
    app.post(prefix + "/firmware/begin")(guarded(
        lambda r: begin_firmware(body_obj(r).get("size"), body_obj(r).get("sha256"))))
    app.put(prefix + "/firmware")(guarded(lambda r: put_firmware(_offset(r), _piece(r))))
    app.post(prefix + "/firmware/commit")(guarded(lambda r: commit_firmware()))
    app.post(prefix + "/romfs/begin")(guarded(
        lambda r: begin_romfs(body_obj(r).get("size"), body_obj(r).get("sha256"))))
    app.put(prefix + "/romfs")(guarded(lambda r: put_romfs(_offset(r), _piece(r))))
    app.post(prefix + "/romfs/commit")(guarded(lambda r: commit_romfs(body_obj(r).get("restart", True) is not False)))

    def modules(request):
        data = body_json(request)
        if not isinstance(data, list) or len(data) > 4 * MAX_FILES:
            return _error(400, "send a JSON list of at most %d module names" % (4 * MAX_FILES))
        return {"has": firmware_has([n for n in data if isinstance(n, str)])}

    app.post(prefix + "/modules")(guarded(modules))

    def crash_log(request):
        import kitlog
        import kitsafe

        return {"log": kitlog.read(), "status": kitsafe.status()}

    app.get(prefix + "/log")(guarded(crash_log))
    app.post(prefix + "/cert")(guarded(lambda r: new_cert(r.scheme, body_obj(r))))

    @app.after_request
    def _answered(request, response):
        if response.status_code < 500:
            if not _confirmed:
                confirm()
            if not _started:
                _start_ok()
        return response

    return app


def serve(port=None, why=None):
    """A board with no app yet (no main.py), or in safe mode (``why``: kitsafe's reason):
    answer only the OTA routes until ``make ota`` sends an app; its commit restarts the board
    into it. Called by :func:`kitstart.run_main` (the kit's frozen main.py)."""
    if why is None and _exists(APP_MAIN):
        return False
    from microdot import Microdot

    app = Microdot()
    install(app)  # first: its recover() finishes a cut certificate rotation before tls() reads the pair
    try:
        from kitnet import tls
        ctx = tls()  # HTTPS when the board has its certificate (make cert)
    except ImportError:
        ctx = None
    send = "send one with make ota DEVICE=%s://<this-address>:%d APP=dir" % ("https" if ctx else "http", port or PORT)

    @app.get("/")
    async def index(request):
        if why:
            return "Safe mode: %s. The app does not run; %s (make logs shows the crash log)" % (why, send)
        return "No app on this board yet: " + send

    print("kitota: %s; waiting for `make ota` on port %d" % ("safe mode" if why else "no " + APP_MAIN, port or PORT))
    app.run(port=port or PORT, ssl=ctx)
    return True


finish_romfs()
