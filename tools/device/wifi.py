"""Store Wi-Fi credentials on the board: ``make wifi SSID=... PASSWORD=... [PORT=...]``.

The credentials go to ``/wifi.json`` (what kitnet reads) on the board's own filesystem (through a private temp
file and mpremote) - never into the firmware image, the project or git. ``/boot.py`` gets a
short marked block that runs the frozen helper at every boot::

    import kitnet; kitnet.connect()   # joins with retries and back-off, prints the IP

Apps read the address with ``kitnet.ip()``. ``--connect`` joins right away and prints it.
``--ota-token`` (``OTA_TOKEN=``) also stores the token ``make ota`` must send (kitota).
``--watchdog`` (``WATCHDOG=30``) turns on the watchdog: the app's event loop must not block
longer than that many seconds, or the board resets (kitsafe; a failed start on probation).
``--cert`` (``CERT=certs/<name>``, from ``make cert``) also copies the board's certificate and key:
the kit then serves HTTPS (tools/device/cert.py).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from tools.device import deploy as S

#: Paths on the board, relative to its filesystem root (mpremote's working directory there).
REMOTE_CONFIG = "wifi.json"
REMOTE_BOOT = "boot.py"
BEGIN = "# >>> microdot-kit wifi (written by `make wifi`)"
END = "# <<< microdot-kit wifi"
BOOT_BLOCK = "\n".join(
    [
        BEGIN,
        "try:",
        "    import kitnet",
        "    kitnet.connect()",
        "except ImportError:",
        "    print('kitnet is not in this firmware: build it with the wifi extension')",
        END,
    ]
)


class WifiError(Exception):
    """A Wi-Fi set-up problem, as one sentence saying what to do."""


def validate(ssid: str, password: str) -> None:
    if not ssid:
        raise WifiError('SSID is empty: pass SSID="your network" PASSWORD="its password".')
    if len(ssid.encode("utf-8")) > 32:
        raise WifiError("SSID '%s' is longer than 32 bytes; Wi-Fi network names cannot be." % ssid)
    if password == "":
        return  # an open network
    if len(password) == 64 and all(c in "0123456789abcdefABCDEF" for c in password):
        return  # a raw WPA key
    if not 8 <= len(password) <= 63:
        raise WifiError(
            "PASSWORD has %d characters; WPA passwords have 8 to 63 (leave it empty for an open network)."
            % len(password)
        )
    if any(ord(c) < 32 or ord(c) > 126 for c in password):
        raise WifiError("PASSWORD has characters outside printable ASCII, which WPA does not allow.")


#: Length of an OTA token; the set-up portal checks the same (src/kit/kitportal.py TOKEN_MIN).
TOKEN_MIN, TOKEN_MAX = 12, 64


def validate_token(token: str) -> None:
    if not TOKEN_MIN <= len(token) <= TOKEN_MAX or any(ord(c) <= 32 or ord(c) > 126 for c in token):
        raise WifiError(
            "OTA_TOKEN must be %d to %d printable ASCII characters without spaces, e.g. "
            "OTA_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')." % (TOKEN_MIN, TOKEN_MAX))


#: The watchdog's timeout range in seconds (``WATCHDOG=``; src/kit/kitsafe.py feeds it from the app's event loop).
WATCHDOG_MIN, WATCHDOG_MAX = 2, 3600


def validate_watchdog(seconds: Optional[int]) -> None:
    if seconds is not None and seconds != 0 and not WATCHDOG_MIN <= seconds <= WATCHDOG_MAX:
        raise WifiError("WATCHDOG=%s: give the seconds a blocked event loop may last before the board resets, "
                        "%d to %d (0: no watchdog)." % (seconds, WATCHDOG_MIN, WATCHDOG_MAX))


def config_text(ssid: str, password: str, hostname: Optional[str] = None, ota_token: Optional[str] = None,
                watchdog: Optional[int] = None) -> str:
    data = {"ssid": ssid, "password": password}
    if hostname:
        data["hostname"] = hostname
    if ota_token:
        data["ota_token"] = ota_token
    if watchdog:
        data["watchdog"] = watchdog
    return json.dumps(data) + "\n"


def boot_with_kitnet(existing: Optional[str]) -> Optional[str]:
    """boot.py with the kit's block appended, or None when it already has the block."""
    if existing and BEGIN in existing:
        return None
    text = existing or ""
    if text and not text.endswith("\n"):
        text += "\n"
    return text + BOOT_BLOCK + "\n"


#: Board-side check: the current boot.py and whether kitnet is frozen in.
PROBE = (
    "import json\n"
    "try:\n"
    " f=open('%s');b=f.read();f.close()\n"
    "except OSError:\n"
    " b=None\n"
    "try:\n"
    " import kitnet;k=True\n"
    "except ImportError:\n"
    " k=False\n"
    "print('KIT'+json.dumps({'boot':b,'kitnet':k}))\n" % REMOTE_BOOT
)


def parse_probe(output: str) -> Tuple[Optional[str], bool]:
    for line in output.splitlines():
        if line.startswith("KIT{"):
            data = json.loads(line[3:])
            return data.get("boot"), bool(data.get("kitnet"))
    raise WifiError(
        "The board did not answer (is MicroPython running on it?): %s"
        % (output.strip().splitlines() or ["no output"])[-1]
    )


def write_argv(port: str, config_file: Path, boot_file: Optional[Path], connect: bool) -> List[str]:
    """One chained mpremote call writing /wifi.json (and /boot.py), optionally connecting."""
    argv = S.mpremote_base(port) + ["fs", "cp", str(config_file), ":" + REMOTE_CONFIG]
    if boot_file is not None:
        argv += ["+", "fs", "cp", str(boot_file), ":" + REMOTE_BOOT]
    if connect:
        argv += ["+", "exec", "import kitnet; kitnet.connect()"]
    return argv


def store(ssid: str, password: str, port: Optional[str] = None, connect: bool = False, hostname: Optional[str] = None,
          ota_token: Optional[str] = None, watchdog: Optional[int] = None, cert: Optional[str] = None) -> str:
    validate(ssid, password)
    validate_watchdog(watchdog)
    if ota_token:
        validate_token(ota_token)
    try:
        device = S.resolve_port(port)
    except S.DeployError as exc:
        raise WifiError(str(exc))
    proc = S.run_mpremote(S.mpremote_base(device) + ["exec", PROBE], capture=True)
    output = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise WifiError(str(S.mpremote_failure(device, output)))
    boot, has_kitnet = parse_probe(output)
    if not has_kitnet:
        print(
            "warning: this firmware has no kitnet module; the credentials are stored, but build "
            "with the wifi extension (the default) so the board joins at boot.",
            file=sys.stderr,
        )
    new_boot = boot_with_kitnet(boot)
    tmp = tempfile.mkdtemp(prefix="kit-wifi-")  # mode 0700: the password never sits in the project
    try:
        config = Path(tmp) / "wifi.json"
        fd = os.open(str(config), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(config_text(ssid, password, hostname, ota_token, watchdog))
        boot_file = None
        if new_boot is not None:
            boot_file = Path(tmp) / "boot.py"
            boot_file.write_text(new_boot, encoding="utf-8")
        proc = S.run_mpremote(write_argv(device, config, boot_file, connect and has_kitnet), capture=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    output = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise WifiError(str(S.mpremote_failure(device, output)))
    for line in output.splitlines():
        if line.startswith("kitnet:"):
            print(line)
    if cert:
        try:
            S.put_cert(cert, device)
        except S.DeployError as exc:
            raise WifiError(str(exc))
    return device


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.device.wifi", description=__doc__.split("\n")[0])
    parser.add_argument("--ssid", default="", help="network name")
    parser.add_argument("--password", default="", help="network password (empty: open network)")
    parser.add_argument("--port", default=None, help="serial port (default: the one board found)")
    parser.add_argument("--hostname", default=None, help="the board's DHCP host name")
    parser.add_argument("--connect", action="store_true", help="join now and print the IP")
    parser.add_argument("--ota-token", default=None, help="token `make ota` must send (kitota)")
    parser.add_argument("--watchdog", type=int, default=None,
                        help="seconds the app's event loop may block before the board resets (kitsafe; 0: off)")
    parser.add_argument("--cert", default=None, help="a `make cert` folder: the board's certificate and key "
                        "go on it too (HTTPS)")
    args = parser.parse_args(argv)
    try:
        device = store(args.ssid, args.password, args.port, args.connect, args.hostname, args.ota_token,
                       args.watchdog, args.cert)
    except WifiError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    print(
        "Stored Wi-Fi credentials for '%s' in %s on the board at %s; it joins at every boot "
        "(reset it now, or run `make monitor` to watch)." % (args.ssid, "/" + REMOTE_CONFIG, device)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
