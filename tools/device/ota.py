"""Update a board over Wi-Fi: ``make ota DEVICE=http://<board-ip>:5000 APP=dir [FIRMWARE=1]``.

The board's app must call ``kitota.install(app)`` (the ``ota`` extension) and hold an OTA
token (``make wifi OTA_TOKEN=...`` or the set-up portal); pass the same token as
``OTA_TOKEN=`` (or set $OTA_TOKEN). The token never goes over the network: every request is
signed with it over a single-use nonce from the board (the KitOTA scheme, :func:`authorization`;
src/kit/kitota.py checks it, docs/wifi.md describes it).

App: like ``make deploy``, only files whose sha256 differs from the board's copy are sent
(the file list and hashes come from tools.device.deploy). The board stages them, checks every one
against its sha256 and swaps them in together, then restarts the app; anything broken leaves
the old app running. The new app runs on probation (src/kit/kitsafe.py): this tool waits for
the board's verdict and ends with "Update N confirmed" or, exit status 1, "Update N rolled
back: <why>". An app that never calls ``kitota.install`` is refused before it is sent
(``FORCE=1`` sends it anyway).

Firmware (``FIRMWARE=1``, ESP32 built with an OTA partition table): the app image
``firmware/<BOARD>/micropython.bin`` (not the merged firmware.bin) is checked with esptool,
streamed to the board's next OTA partition and booted; the board confirms the new firmware
once its web server answers, which this tool waits for.

ROMFS (``ROMFS=1``, a board whose firmware has a ROMFS area): the app's modules other than
``main.py`` and the kit modules its firmware lacks (``POST /ota/modules`` asks it) go as one
ROMFS image compiled for the board's ``.mpy`` version and architecture (tools/device/romfs.py);
the board stages it, checks its size, sha256 and header and writes it into the area at its
restart, so a cut or wrong upload leaves the old image (docs/romfs.md). ``main.py`` and the
app's other files then follow as an app update.

HTTPS (``DEVICE=https://...``, a board given its certificate with ``make cert``): ``CERT=`` (the
folder make cert wrote) or ``PIN=`` (the certificate's SHA-256) pins the board's certificate;
a board presenting another is refused in one line before anything is sent
(tools/device/cert.py). An https:// DEVICE needs a pin, and a pin needs https://.

Certificate rotation (``NEWCERT=certs/<new>``, with ``DEVICE=https://...`` and ``CERT=`` the
board's current certificate): the new certificate and key go in one signed ``POST /ota/cert``
over that pinned connection; the board checks that they load as a pair before it replaces the
old ones, restarts and serves the new one, which this tool then pins. Over http:// it refuses
before sending anything: a private key never crosses the network in clear (the first pair goes
over USB with ``make deploy CERT=`` or ``make wifi ... CERT=``).
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import hmac
import http.client
import json
import base64
import os
import socket
import ssl
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from tools.selection import boards as B
from tools.device import cert as C
from tools.device import deploy as S
from tools.device import romfs as R
from tools.build.esp32 import APP_IMAGE as BUILD_APP_IMAGE

ROOT = B.ROOT
PIECE = 4096
APP_IMAGE = BUILD_APP_IMAGE  # what an esp32 build copies into firmware/<BOARD>/ (tools/build/esp32.py)
_APP_DESC = b"\x32\x54\xcd\xab"


class OtaError(Exception):
    """An OTA problem, as one sentence saying what to do."""


# --------------------------------------------------------------------------------------------
# Signing (the board side is src/kit/kitota.py's check(); both must build the same message)

SCHEME = "KitOTA"
NONCE_HEADER = "KitOTA-Nonce"  # the board's next nonce, in every signed answer


def signature(token: str, method: str, target: str, nonce: str, body: bytes = b"") -> str:
    """Hex HMAC-SHA256 under ``token`` of the request: method, path with query, nonce and the
    sha256 of the body, one per line after the scheme's name."""
    msg = "\n".join((SCHEME, method, target, nonce, hashlib.sha256(body or b"").hexdigest()))
    return hmac.new(token.encode(), msg.encode(), hashlib.sha256).hexdigest()


def authorization(token: str, method: str, target: str, nonce: str, body: bytes = b"") -> str:
    """The Authorization header of one signed request (``target``: path and query as sent)."""
    return "%s nonce=%s, mac=%s" % (SCHEME, nonce, signature(token, method, target, nonce, body))


# --------------------------------------------------------------------------------------------
# Talking to the board


class Device:
    """One keep-alive HTTP connection to the board's /ota routes."""

    def __init__(self, url: str, token: str, timeout: float = 15.0, pin: Optional[str] = None):
        parts = urlsplit(url if "//" in url else "http://" + url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OtaError("DEVICE '%s' is not an http:// address: pass DEVICE=http://<board-ip>:5000 (https://... "
                           "with CERT= for a board given its own certificate by make cert)." % url)
        self.tls = parts.scheme == "https"
        try:
            self.pin = C.read_pin(pin) if pin else None
        except C.CertError as exc:
            raise OtaError(str(exc))
        if self.tls and not self.pin:
            raise OtaError("DEVICE is https:// but no certificate is pinned: pass CERT=certs/<name> (the folder "
                           "`make cert` wrote for this board) or PIN=<its sha256>.")
        if self.pin and not self.tls:
            raise OtaError("CERT=/PIN= pins a certificate but DEVICE is http://: pass DEVICE=https://%s:%d "
                           "(a board given one with make cert serves HTTPS only)." % (parts.hostname, parts.port or 80))
        self.port = parts.port or (443 if self.tls else 80)
        self.url = "%s://%s:%d" % (parts.scheme, parts.hostname, self.port)
        self.host = parts.hostname
        self.refused: Optional[str] = None  # set when the board's certificate was not the pinned one
        self.token = token
        self.timeout = timeout
        self.conn: Optional[http.client.HTTPConnection] = None
        self.next_nonce: Optional[str] = None  # handed out with the last signed answer

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _exchange(self, method: str, target: str, data, headers) -> Tuple[int, object, bytes]:
        """One request on the kept-alive connection: (status, response headers, body)."""
        attempt = 0
        while True:
            reused = self.conn is not None
            if self.conn is None:
                self.conn = (C.PinnedHTTPSConnection(self.host, self.port, self.pin, timeout=self.timeout)
                             if self.tls else http.client.HTTPConnection(self.host, self.port, timeout=self.timeout))
            try:
                self.conn.request(method, target, body=data, headers=headers)
                res = self.conn.getresponse()
                return res.status, res.headers, res.read()
            except C.CertError as exc:  # raised after the handshake, before the request went out
                self.close()
                self.refused = str(exc)
                raise OtaError(self.refused)
            except ssl.SSLError as exc:
                self.close()
                raise OtaError("No TLS handshake with the board at %s (%s): give it its certificate with "
                               "`make deploy CERT=...` (or make wifi ... CERT=...), or use DEVICE=http://."
                               % (self.url, exc))
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if isinstance(exc, TimeoutError) and method != "GET":  # it may still be at work: never twice
                    raise OtaError(
                        "The board at %s did not answer %s %s within %.0f s (it may still be working on "
                        "it: `make logs` shows what it did); run `make ota` again once it answers." % (
                            self.url, method, target, self.timeout))
                # a kept-alive connection the board had already closed: once more on a new one
                if attempt or not (reused or method == "GET"):
                    raise OtaError(
                        "Lost the connection to the board at %s (%s): check that it is on the network "
                        "and run `make ota` again (an unfinished update changes nothing on it)." % (self.url, exc))
                attempt += 1

    def nonce(self) -> str:
        """A fresh nonce from the board's GET /ota/nonce."""
        status, _, raw = self._exchange("GET", "/ota/nonce", None, {})
        try:
            nonce = json.loads(raw.decode("utf-8")).get("nonce") if status == 200 else None
        except (ValueError, AttributeError):
            nonce = None
        if not isinstance(nonce, str) or not nonce:
            raise OtaError(
                "The app at %s hands out no OTA nonce (GET /ota/nonce answered %d): call kitota.install(app) "
                "in its main.py, and update a board whose kit predates signed requests once over USB "
                "(`make flash` or `make deploy`)." % (self.url, status))
        return nonce

    def call(self, method: str, path: str, body=None, query: str = "") -> Tuple[int, object]:
        data = body if isinstance(body, (bytes, bytearray)) or body is None else json.dumps(body).encode()
        headers = {}
        if data is not None:
            headers["Content-Type"] = "application/octet-stream" if isinstance(body, (bytes, bytearray)) else "application/json"
        target = "/ota" + path + ("?" + query if query else "")
        for attempt in (0, 1):
            given, self.next_nonce = self.next_nonce, None
            nonce = given or self.nonce()
            headers["Authorization"] = authorization(self.token, method, target, nonce, bytes(data or b""))
            status, got, raw = self._exchange(method, target, data, headers)
            self.next_nonce = got.get(NONCE_HEADER) or None
            # a handed-on nonce may have expired or been pushed out (a 401 changed nothing): once
            # more with a new one
            if status != 401 or not given:
                break
        try:
            answer = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            answer = raw.decode("utf-8", "replace")
        return status, answer

    def expect(self, method: str, path: str, body=None, query: str = ""):
        status, answer = self.call(method, path, body, query)
        if status == 200:
            return answer
        reason = answer.get("error") if isinstance(answer, dict) else (answer or "")
        if status == 401:
            raise OtaError(
                "The board refused the signed request (%s): pass OTA_TOKEN= as stored with "
                "`make wifi OTA_TOKEN=...` or on the set-up page." % reason)
        if status == 404 and path == "/info":
            raise OtaError("The app at %s has no OTA routes: call kitota.install(app) in its main.py "
                           "and build with EXTENSIONS=\"... ota\"." % self.url)
        if status == 501:
            raise OtaError("The board cannot do this: %s." % reason)
        files = answer.get("files") if isinstance(answer, dict) else None
        raise OtaError("The board answered %d to %s %s: %s%s; run `make ota` again." % (
            status, method, "/ota" + path, reason,
            " (%s)" % ", ".join(files) if isinstance(files, list) else ""))

    def wait_back(self, timeout: float, echo=print) -> dict:
        """Poll /ota/info until the restarted board answers."""
        self.close()
        time.sleep(1.0)
        deadline = time.monotonic() + timeout
        while True:
            try:
                status, answer = self.call("GET", "/info")
                if status == 200:
                    return answer
            except OtaError:
                if self.refused:  # another certificate answers: waiting longer cannot fix that
                    raise
            if time.monotonic() > deadline:
                raise OtaError(
                    "The board did not answer within %d s of its restart: watch it with "
                    "`make monitor`; an unconfirmed new firmware rolls back at the next reset." % timeout)
            time.sleep(0.5)


class Progress:
    """Bytes sent of a total, as a bar on a terminal or a line every 25 % otherwise."""

    def __init__(self, total: int, out=None):
        self.total = max(total, 1)
        self.done = 0
        self.out = out or sys.stdout
        self.tty = hasattr(self.out, "isatty") and self.out.isatty()
        self.shown = -1

    def add(self, n: int) -> None:
        self.done += n
        pct = self.done * 100 // self.total
        if self.tty:
            bar = "#" * (pct // 4)
            self.out.write("\r  [%-25s] %3d%%  %d/%d KB" % (bar, pct, self.done // 1024, self.total // 1024))
            if self.done >= self.total:
                self.out.write("\n")
            self.out.flush()
        elif pct // 25 > self.shown:
            self.shown = pct // 25
            print("  %3d%%  %d of %d bytes" % (pct, self.done, self.total), file=self.out, flush=True)


# --------------------------------------------------------------------------------------------
# App


def installs_ota(text: str, name: str = "main.py") -> bool:
    """Whether the Python source ``text`` imports kitota and calls its ``install`` (as
    ``kitota.install(...)``, under an alias, or imported with ``from kitota import install``).
    SyntaxError when it is not Python."""
    tree = ast.parse(text, name)
    modules, funcs = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name == "kitota")
        elif isinstance(node, ast.ImportFrom) and node.module == "kitota" and not node.level:
            funcs.update(a.asname or a.name for a in node.names if a.name == "install")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "install" and isinstance(f.value, ast.Name) and f.value.id in modules:
            return True
        if isinstance(f, ast.Name) and f.id in funcs:
            return True
    return False


def check_app(app: str, files: Dict[str, Path]) -> None:
    """Refuse (OtaError) an app that would lock out `make ota`: none of its Python files calls
    kitota.install(app), or one is not valid Python. FORCE=1 skips this."""
    found = False
    for name in sorted(files):
        if not name.endswith(".py"):
            continue
        try:
            found = installs_ota(files[name].read_text(encoding="utf-8", errors="replace"), name) or found
        except SyntaxError as exc:
            raise OtaError("%s line %s is not valid Python (%s): fix it, or pass FORCE=1 to send it anyway."
                           % (name, exc.lineno, exc.msg))
    if not found:
        raise OtaError(
            "App '%s' never calls kitota.install(app): on the board it could not be updated over the air "
            "again (only over USB); add `import kitota` and `kitota.install(app)` to its main.py, "
            "or pass FORCE=1 to send it anyway." % app)


def update_app(dev: Device, app: str, wait: float = 60.0, force: bool = False,
               files: Optional[Dict[str, Path]] = None) -> List[str]:
    """Send the changed files of ``app`` (``files``: only those); return their names (empty:
    nothing to do). With ``wait``, wait for the board's verdict on the new app: OtaError when
    it was rolled back."""
    folder = Path(app)
    if not folder.is_dir():
        raise OtaError("App folder '%s' not found: pass APP=examples/hello or your own folder with a main.py." % app)
    files = S.app_files(folder) if files is None else files
    if not files:
        raise OtaError("App folder '%s' has no files to send; add a main.py." % app)
    info = dev.expect("GET", "/info")
    if not force:
        check_app(app, files)  # before any of the app goes to the board
    local = S.local_hashes(files)
    remote = dev.expect("POST", "/hashes", sorted(files))
    _, changed = S.plan_copy(local, remote if isinstance(remote, dict) else {}, {})
    if not changed:
        print("%s: all %d files are up to date on %s." % (app, len(files), dev.url))
        return []
    sizes = {n: files[n].stat().st_size for n in changed}
    ready = dev.expect("POST", "/begin", {"files": [[n, sizes[n], local[n]] for n in changed]})
    piece = int(ready.get("piece") or info.get("piece") or PIECE)
    bar = Progress(sum(sizes.values()))
    for index, name in enumerate(changed):
        print("  %s -> %s (%d bytes)" % (files[name].as_posix(), name, sizes[name]), flush=True)
        data = files[name].read_bytes()
        for offset in range(0, len(data), piece):
            chunk = data[offset:offset + piece]
            dev.expect("PUT", "/app/%d" % index, chunk, "offset=%d" % offset)
            bar.add(len(chunk))
    done = dev.expect("POST", "/commit")
    print("Sent %d file(s) to %s (%d unchanged); the board checked them and restarts the app."
          % (len(done.get("updated", changed)), dev.url, len(files) - len(changed)))
    if wait:
        update = done.get("update")
        if update is None:  # a kit without rollback: it only restarts
            dev.wait_back(wait)
            print("The board answers again at %s." % dev.url)
            return changed
        outcome = wait_outcome(dev, update, wait)
        if outcome.get("state") != "confirmed":
            raise OtaError("Update %s rolled back: %s; the board runs the previous app again (`make logs` "
                           "shows the crash log)." % (update, outcome.get("why") or "no reason given"))
        print("Update %s confirmed: the new app answered at %s." % (update, dev.url))
    return changed


def wait_outcome(dev: Device, update: int, timeout: float) -> dict:
    """Poll /ota/info until the board has confirmed update ``update`` or rolled it back; the
    board's record of it ({"update", "state", "why", ...}). The polls are answered requests,
    which confirm a working app once its settle time has passed."""
    dev.close()
    time.sleep(1.0)
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, answer = dev.call("GET", "/info")
        except OtaError:
            status, answer = 0, None
        record = answer.get("update") if status == 200 and isinstance(answer, dict) else None
        if isinstance(record, dict) and record.get("update") == update and record.get("state") in ("confirmed", "rolled back"):
            return record
        if time.monotonic() > deadline:
            raise OtaError(
                "The board gave no verdict on update %s within %d s: read `make logs` and watch it with "
                "`make monitor`; an update it cannot confirm rolls back by itself." % (update, timeout))
        time.sleep(0.5)


# --------------------------------------------------------------------------------------------
# ROMFS image


def romfs_image(dev: Device, folder: Path, rom: dict) -> Tuple[bytes, List[str]]:
    """The app's ROMFS image for the board at ``dev`` (whose /ota/info said ``rom``)."""
    from tools.selection import appdeps

    try:
        needs = appdeps.needs(folder)
    except appdeps.AppDepsError as exc:
        raise OtaError(str(exc))
    candidates = sorted({appdeps.module_name(t) for _, t in appdeps.fragment_files(needs.fragments)})
    answer = dev.expect("POST", "/modules", candidates) if candidates else {"has": []}
    has = answer.get("has") if isinstance(answer, dict) else None
    if not isinstance(has, list):
        raise OtaError("The board at %s did not say which kit modules its firmware holds; update its kit over USB." % dev.url)
    fw = S.Firmware(sorted(has), rom.get("mpy"), "?", "?")
    missing = appdeps.missing_files(needs, fw.has)
    try:
        S.check_loadable(fw, S.emitted_version(), ["its ROMFS image"], dev.url)
        return R.image(folder, S.mpy_args(fw), missing)
    except (S.DeployError, R.RomfsError) as exc:
        raise OtaError(str(exc))


def update_romfs(dev: Device, app: str, wait: float = 60.0, force: bool = False) -> dict:
    """Send ``app``'s modules as a ROMFS image, then its other files as an app update; the
    board writes the image at its restart. Returns {"bytes", "paths", "files"}."""
    folder = Path(app)
    if not folder.is_dir():
        raise OtaError("App folder '%s' not found: pass APP=examples/hello or your own folder with a main.py." % app)
    files = S.app_files(folder)
    info = dev.expect("GET", "/info")
    rom = info.get("romfs")
    if not isinstance(rom, dict):
        raise OtaError("The board at %s has no ROMFS area: flash a kit firmware with one (docs/romfs.md), "
                       "or update without ROMFS=1." % dev.url)
    if not force:
        check_app(app, files)
    data, paths = romfs_image(dev, folder, rom)
    if len(data) > int(rom.get("bytes") or 0):
        raise OtaError("The ROMFS image (%d bytes) does not fit the board's %s-byte area: move modules out of "
                       "the app, or update without ROMFS=1." % (len(data), rom.get("bytes")))
    _, rest = R.split_app(files)
    remote = dev.expect("POST", "/hashes", sorted(rest))
    _, changed = S.plan_copy(S.local_hashes(rest), remote if isinstance(remote, dict) else {}, {})
    ready = dev.expect("POST", "/romfs/begin", {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    piece = int(ready.get("piece") or PIECE)
    print("  ROMFS image -> %s (%d bytes: %s)" % (dev.url, len(data), ", ".join("/rom/" + p for p in paths)), flush=True)
    bar = Progress(len(data))
    for offset in range(0, len(data), piece):
        chunk = data[offset:offset + piece]
        dev.expect("PUT", "/romfs", chunk, "offset=%d" % offset)
        bar.add(len(chunk))
    dev.expect("POST", "/romfs/commit", {"restart": not changed})
    print("The board checked the ROMFS image; it writes it at its restart.")
    if changed:
        update_app(dev, app, wait, True, rest)
    elif wait:
        after = dev.wait_back(wait)
        if (after.get("romfs") or {}).get("pending"):
            raise OtaError("The board restarted but did not write the ROMFS image: watch it with `make monitor`.")
        print("The board answers again at %s with the new ROMFS image." % dev.url)
    return {"bytes": len(data), "paths": paths, "files": changed}


# --------------------------------------------------------------------------------------------
# Firmware


def check_image(path: Path, chip: str) -> bytes:
    """The image's bytes once esptool parses it as a ``chip`` app image; OtaError otherwise."""
    try:
        data = path.read_bytes()
    except OSError:
        raise OtaError(
            "No app image at '%s': build one with `make firmware BOARD=ESP32_GENERIC OTA=1` (it writes "
            "firmware/<BOARD>/%s), or pass IMAGE=." % (path, APP_IMAGE))
    from esptool.bin_image import LoadFirmwareImage

    try:
        image = LoadFirmwareImage(chip, str(path))
    except Exception as exc:  # esptool raises FatalError and struct/IO errors alike
        raise OtaError("'%s' is not an %s app image esptool can read (%s): send build-*/%s." % (path, chip, exc, APP_IMAGE))
    if data[32:36] != _APP_DESC:
        raise OtaError(
            "'%s' has no app description, so it is not an app image (a merged firmware.bin starts "
            "with the bootloader): send %s." % (path, APP_IMAGE))
    if getattr(image, "chip_id", None) is not None and image.ROM_LOADER.IMAGE_CHIP_ID != image.chip_id:
        raise OtaError("'%s' was built for another chip than %s; build it for this BOARD." % (path, chip))
    return data


def update_firmware(dev: Device, board: B.Board, image: Optional[str] = None, wait: float = 90.0) -> dict:
    if board.port != "esp32" or not board.chip:
        raise OtaError(
            "BOARD %s (%s) cannot update its firmware over the air; flash it with `make flash`." % (board.name, board.port))
    from tools.build.base import sha256_file

    path = Path(image) if image else ROOT / "firmware" / board.name / APP_IMAGE
    if image is None and not path.is_file():
        how = ("`make firmware BOARD=%s OTA=1`" % board.name if board.ota_variant
               else "a build of %s with a partition table of two app slots" % board.name)
        raise OtaError("No app image at '%s': %s writes it there (or pass IMAGE=)." % (path.relative_to(ROOT) if ROOT in path.parents else path, how))
    data = check_image(path, board.chip)
    info = dev.expect("GET", "/info")
    if not info.get("firmware"):
        raise OtaError("The board cannot take a firmware image: %s." % (info.get("reason") or "no OTA partitions"))
    before = info["firmware"]["running"]
    ready = dev.expect("POST", "/firmware/begin", {"size": len(data), "sha256": sha256_file(path)})
    piece = int(ready.get("piece") or PIECE)
    print("  %s -> partition %s (%d bytes)" % (path.as_posix(), ready.get("partition"), len(data)), flush=True)
    bar = Progress(len(data))
    for offset in range(0, len(data), piece):
        chunk = data[offset:offset + piece]
        dev.expect("PUT", "/firmware", chunk, "offset=%d" % offset)
        bar.add(len(chunk))
    dev.expect("POST", "/firmware/commit")
    print("The board checked the image and restarts from partition %s." % ready.get("partition"))
    if not wait:
        return {}
    dev.wait_back(wait)
    after = dev.expect("GET", "/info")  # the first answer made the new firmware confirm itself
    fw = after.get("firmware") or {}
    if fw.get("running") == before:
        raise OtaError(
            "The board still runs partition %s: the new firmware did not start or was rolled back; "
            "watch it with `make monitor`." % before)
    print("The board runs the new firmware from %s%s." % (fw.get("running"), " and confirmed it" if fw.get("confirmed") else ""))
    return fw


# --------------------------------------------------------------------------------------------
# Certificate rotation

IN_CLEAR = ("NEWCERT= sends a private key, which goes over pinned HTTPS only, never in clear: put the "
            "board's first certificate on over USB (`make deploy CERT=certs/<name>` or `make wifi ... "
            "CERT=certs/<name>`), then rotate with `make ota DEVICE=https://<board-ip>:5000 CERT=<its current "
            "folder> NEWCERT=<new folder>`.")


def served_pin(host: str, port: int, timeout: float = 5.0) -> str:
    """The pin of the certificate the board at host:port presents (no request is sent)."""
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with C.client_context().wrap_socket(raw) as tls:
            return C.pin_of(tls.getpeercert(binary_form=True) or b"")


def rotate_cert(dev: Device, folder: str, wait: float = 60.0) -> str:
    """Put the certificate and key of ``folder`` on the board over ``dev``'s pinned HTTPS
    connection; wait until it serves them and pin the new certificate. Returns the new pin."""
    if not dev.tls:
        raise OtaError(IN_CLEAR)  # before anything is sent
    try:
        der, key = C.pair(folder)
    except C.CertError as exc:
        raise OtaError(str(exc))
    old, new = dev.pin, C.pin_of(der)
    if new == old:
        raise OtaError("The board already serves the certificate of %s (pin %s): make a new one with "
                       "`make cert CERT=certs/<new>` and pass NEWCERT= with that folder." % (folder, new))
    status, answer = dev.call("POST", "/cert", {"cert": base64.b64encode(der).decode(),
                                                "key": base64.b64encode(key).decode()})
    if status == 404:
        raise OtaError("The board's kit cannot take a new certificate over the air (no POST /ota/cert): "
                       "update it, or put the certificate on over USB with `make deploy CERT=%s`." % folder)
    if status != 200:
        dev.next_nonce = None
        reason = answer.get("error") if isinstance(answer, dict) else answer
        if status == 401:
            raise OtaError("The board refused the signed request (%s): pass OTA_TOKEN= as stored with "
                           "`make wifi OTA_TOKEN=...` or on the set-up page." % reason)
        raise OtaError("The board answered %d to POST /ota/cert: %s; it keeps its certificate." % (status, reason))
    got = answer.get("pin") if isinstance(answer, dict) else None
    if got != new:
        raise OtaError("The board installed a certificate with pin %s, not %s: put it on over USB with "
                       "`make deploy CERT=%s`." % (got, new, folder))
    print("The board checked the new certificate and key and restarts with them.", flush=True)
    dev.close()
    dev.next_nonce = None
    deadline = time.monotonic() + wait
    where = "%s:%d" % (dev.host, dev.port)
    while True:
        try:
            got = served_pin(dev.host, dev.port)
            if got == new:
                break
            if got != old:
                raise OtaError(C.mismatch(got, new, where))
        except (OSError, ssl.SSLError):
            pass  # restarting
        if time.monotonic() > deadline:
            raise OtaError("The board did not serve the new certificate within %d s of its restart: watch it "
                           "with `make monitor` (with the old one, pin CERT= as before)." % wait)
        time.sleep(0.3)
    dev.pin = new
    dev.expect("GET", "/info")  # signed requests work on the new pinned connection
    print("The board at %s serves the new certificate (pin %s): pass CERT=%s from now on; the old pin "
          "is refused." % (dev.url, new, folder))
    return new


# --------------------------------------------------------------------------------------------
# CLI


def resolve_token(token: Optional[str]) -> str:
    token = token or os.environ.get("OTA_TOKEN") or ""
    if not token:
        raise OtaError("No OTA token: pass OTA_TOKEN=... (the one stored with `make wifi OTA_TOKEN=...` or on the set-up page).")
    return token


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.device.ota", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="", help="the board's app, http://<ip>:<port>")
    parser.add_argument("--app", default="examples/hello", help="app folder (default examples/hello)")
    parser.add_argument("--token", default=None, help="OTA token (default $OTA_TOKEN)")
    parser.add_argument("--firmware", action="store_true", help="send the ESP32 app image instead of the app")
    parser.add_argument("--board", default="ESP32_GENERIC", help="board whose firmware/<BOARD>/ image to send")
    parser.add_argument("--image", default=None, help="app image to send (default firmware/<BOARD>/%s)" % APP_IMAGE)
    parser.add_argument("--wait", type=float, default=90.0, help="seconds to wait for the board's verdict after its restart (0: do not)")
    parser.add_argument("--force", action="store_true", help="send an app that does not call kitota.install (FORCE=1)")
    parser.add_argument("--romfs", action="store_true", help="send the app's modules as a ROMFS image (ROMFS=1)")
    parser.add_argument("--new-cert", default=None, help="put this make cert folder's certificate and key on "
                        "the board over pinned HTTPS (NEWCERT=; rotation)")
    parser.add_argument("--pin", default=None, help="the board's certificate for an https:// DEVICE: a make cert "
                        "folder (CERT=) or its sha256 (PIN=)")
    args = parser.parse_args(argv)
    try:
        if not args.device:
            raise OtaError("No DEVICE: pass DEVICE=http://<board-ip>:5000 (the address the board printed or showed on the set-up page).")
        dev = Device(args.device, resolve_token(args.token), pin=args.pin)
        try:
            if args.new_cert:
                rotate_cert(dev, args.new_cert, args.wait or 60.0)
            elif args.firmware:
                update_firmware(dev, B.load_board(args.board), args.image, args.wait)
            elif args.romfs:
                update_romfs(dev, args.app, args.wait, args.force)
            else:
                update_app(dev, args.app, args.wait, args.force)
        finally:
            dev.close()
    except B.BoardError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except OtaError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
