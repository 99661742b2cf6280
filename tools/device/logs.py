"""Read a board's crash log over Wi-Fi: ``make logs DEVICE=http://<board-ip>:5000 OTA_TOKEN=...``.

The board keeps the last few tracebacks, watchdog resets and rollbacks (src/kit/kitlog.py,
written by kitsafe) and answers them on ``GET /ota/log`` - an authenticated kitota route, asked
through tools.device.ota's request helper (so signed as every other OTA request). Printed oldest
first, with the board's record of the last app update and its count of failed starts.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from tools.device import ota as O


class LogsError(Exception):
    """A problem reading the crash log, as one sentence saying what to do."""


def fetch(dev: O.Device) -> dict:
    """The board's answer to GET /ota/log: {"log": [entries...], "status": {...}}."""
    try:
        status, answer = dev.call("GET", "/log")
    except O.OtaError as exc:
        raise LogsError(str(exc))
    if status == 404:
        raise LogsError("The app at %s has no crash log route: its kit predates it; update the board's "
                        "firmware (make flash) or call kitota.install(app) in its main.py." % dev.url)
    if status != 200 or not isinstance(answer, dict):
        reason = answer.get("error") if isinstance(answer, dict) else answer
        raise LogsError("The board answered %d to GET /ota/log (%s): pass OTA_TOKEN= as stored with "
                        "`make wifi OTA_TOKEN=...`." % (status, reason))
    return answer


def describe(answer: dict) -> str:
    """The log as text: one block per entry, then the state of the last update."""
    out = []
    entries = answer.get("log") or []
    if not entries:
        out.append("The crash log is empty.")
    for i, entry in enumerate(entries, 1):
        head = "#%d %s" % (i, entry.get("kind", "?"))
        if entry.get("boot"):
            head += ", start %s in a row without a good one" % entry["boot"]
        if entry.get("cause"):
            head += ", reset cause %s" % entry["cause"]
        out.append(head + ":")
        out.extend("    " + line for line in str(entry.get("text", "")).rstrip().splitlines())
    st = answer.get("status") or {}
    if st.get("update") is not None:
        out.append("Last update: %s, %s%s." % (st["update"], st.get("state"),
                                              " (%s)" % st["why"] if st.get("why") else ""))
    if st.get("mode") == "safe":
        out.append("The board is in safe mode: send a working app with `make ota`.")
    elif st.get("starts"):
        out.append("Starts in a row not yet counted good: %s." % st["starts"])
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.device.logs", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="", help="the board's app, http://<ip>:<port>")
    parser.add_argument("--token", default=None, help="OTA token (default $OTA_TOKEN)")
    parser.add_argument("--pin", default=None, help="the board's certificate for an https:// DEVICE: a make cert "
                        "folder (CERT=) or its sha256 (PIN=)")
    args = parser.parse_args(argv)
    try:
        if not args.device:
            raise LogsError("No DEVICE: pass DEVICE=http://<board-ip>:5000 (the address the board printed).")
        try:
            dev = O.Device(args.device, O.resolve_token(args.token), pin=args.pin)
        except O.OtaError as exc:
            raise LogsError(str(exc))
        try:
            print(describe(fetch(dev)))
        finally:
            dev.close()
    except LogsError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
