"""Run the hardware suite (tests/hardware) against a target: a board, the emulated board or the virtual board.

``make test-hw``  -> ``python -m tools.suite.smoke [--board B] [--device URL] [--port P] [--micropython BIN]``
``make smoke``    -> ``python -m tools.suite.smoke [--board B] --deploy [--port P] [--device URL]``

The target comes from :func:`tools.targets.select.open_target` and is used only through the
:class:`tools.targets.base.Target` interface: ``--device URL`` (a board already running the smoke
app) or ``--port`` (a board on serial: the smoke app is deployed, the board reset, its address
read over serial unless ``--device`` gives it) make it a live board; ``--board ESP32_C3_QEMU``
boots the emulated board with the smoke app; otherwise the virtual board with exactly the
modules BOARD's manifest selects (UNIX when no board is named). ``--deploy`` copies the smoke
app (tests/hardware/device) to a live board first. The suite writes JUnit XML
(``reports/hardware.xml``); this tool prints which target it ran on, a table of every test with
its result and latency, and the board's free heap before and after the run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from tools.selection import boards
from tools.targets import process
from tools.targets.base import TargetError
from tools.targets.live import LiveBoard
from tools.targets.qemu_esp32 import EmulatedBoard
from tools.targets.select import open_target, target_class
from tools.targets.virtual import SMOKE_APP, VirtualBoard

ROOT = boards.ROOT
SUITE = ROOT / "tests" / "hardware"
APP = SMOKE_APP
REPORT = ROOT / "reports" / "hardware.xml"


class SmokeError(Exception):
    """The hardware suite could not be run."""


def _step(msg: str) -> None:
    print("== " + msg, flush=True)


# --------------------------------------------------------------------------------------------
# Commands (pure)


def pytest_command(url: str, report: Path, expect: Optional[Sequence[str]] = None,
                   extra: Sequence[str] = ()) -> List[str]:
    argv = [sys.executable, "-m", "pytest", str(SUITE.relative_to(ROOT)), "--device", url,
            "--junitxml", str(report), "-o", "junit_family=xunit1", "-p", "no:cacheprovider",
            "-q"]
    if expect is not None:
        argv += ["--hw-expect", ",".join(expect) or "none"]
    return argv + list(extra)


# --------------------------------------------------------------------------------------------
# The report


def _short(message: str, width: int = 44) -> str:
    line = message.strip().splitlines()[0] if message.strip() else ""
    return line if len(line) <= width else line[:width - 3] + "..."


def parse_junit(path: Path) -> Tuple[List[Dict[str, str]], Dict[str, str]]:
    """(rows: name, result, latency_ms, message), suite properties from the JUnit XML."""
    tree = ET.parse(str(path))
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    rows, props = [], {}
    for suite in suites:
        for prop in suite.findall("./properties/property"):
            props[prop.get("name")] = prop.get("value")
        for case in suite.findall("testcase"):
            cls = (case.get("classname") or "").rsplit(".", 1)[-1]
            name = "%s::%s" % (cls, case.get("name")) if cls else case.get("name")
            result, message = "PASS", ""
            for tag, label in (("failure", "FAIL"), ("error", "ERROR"), ("skipped", "SKIP")):
                el = case.find(tag)
                if el is not None:
                    result = label
                    message = _short(el.get("message") or "")
                    break
            latency = ""
            for prop in case.findall("./properties/property"):
                if prop.get("name") == "latency_ms":
                    latency = prop.get("value")
            rows.append({"test": name, "result": result, "latency_ms": latency, "message": message})
    return rows, props


def format_report(rows: List[Dict[str, str]], props: Dict[str, str], target: Optional[str] = None) -> str:
    """The table, the counts and the heap line; ``target`` (the target's one-line description) first."""
    head = ("TEST", "RESULT", "LATENCY ms")
    table = [head] + [(r["test"], r["result"] + (" (%s)" % r["message"] if r["message"] and
                                                  r["result"] != "PASS" else ""),
                       r["latency_ms"] or "-") for r in rows]
    w0 = max(len(t[0]) for t in table)
    w1 = max(len(t[1]) for t in table)
    lines = ["target: %s" % target] if target else []
    lines += ["%s  %s  %s" % (t[0].ljust(w0), t[1].ljust(w1), t[2].rjust(10)) for t in table]
    counts = {}
    for r in rows:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    total_ms = sum(float(r["latency_ms"]) for r in rows if r["latency_ms"])
    lines.append("")
    lines.append("%d tests: %s; %.0f ms talking to the board" % (
        len(rows), ", ".join("%d %s" % (n, k.lower()) for k, n in sorted(counts.items())), total_ms))
    before, after = props.get("heap_free_before"), props.get("heap_free_after")
    if before:
        line = "board %s (MicroPython %s) at %s: free heap %s -> %s bytes" % (
            props.get("board"), props.get("micropython"), props.get("device"), before, after or "?")
        if before and after and before.isdigit() and after.isdigit():
            line += " (%+d)" % (int(after) - int(before))
        if props.get("requests_served"):
            line += ", %s requests served" % props["requests_served"]
        lines.append(line)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Steps that talk to a board


def wait_for(url: str, timeout: float = 60) -> dict:
    _step("waiting for %s" % url)
    deadline = time.monotonic() + timeout
    last = None
    opener = process.opener()
    while time.monotonic() < deadline:
        try:
            with opener.open(url + "/__smoke/info", timeout=3) as r:
                return json.loads(r.read().decode())
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.5)
    raise SmokeError("The smoke app did not answer at %s within %d s (%s); check the board's "
                     "output with 'make monitor'." % (url, timeout, last))


def preflight(url: str, timeout: float = 5) -> dict:
    """Check that something answers at ``url`` and that it is the smoke app; its info.

    Raises SmokeError with one sentence saying what to do (no test runs against the wrong target).
    """
    import socket
    import urllib.error

    opener = process.opener()
    hint = ("pass the board's address as DEVICE=http://<ip>:5000 (it prints it on the serial "
            "console: make monitor), or PORT=/dev/ttyUSB0 to deploy the smoke app and find it")
    try:
        with opener.open(url + "/__smoke/info", timeout=timeout) as r:
            body = r.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise SmokeError("%s answers but is not the smoke app (404 for /__smoke/info): deploy it "
                             "with `make smoke PORT=/dev/ttyUSB0`, or run `make test-hw PORT=...`." % url)
        raise SmokeError("%s answers /__smoke/info with HTTP %d: redeploy the smoke app with "
                         "`make smoke PORT=...`." % (url, exc.code))
    except (urllib.error.URLError, socket.timeout, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SmokeError("Nothing answers at %s (%s): %s." % (url, reason, hint))
    try:
        info = json.loads(body.decode("utf-8"))
        if not isinstance(info, dict):
            raise ValueError
    except ValueError:
        raise SmokeError("%s answers but is not the smoke app (/__smoke/info is not its JSON): deploy "
                         "it with `make smoke PORT=/dev/ttyUSB0`." % url)
    return info


# --------------------------------------------------------------------------------------------
# CLI


def run_suite(url: str, report: Path, expect=None, extra: Sequence[str] = (), target: Optional[str] = None) -> int:
    report.parent.mkdir(parents=True, exist_ok=True)
    if report.exists():
        report.unlink()
    _step("running the hardware suite against %s" % url)
    code = subprocess.run(pytest_command(url, report, expect, extra), cwd=str(ROOT)).returncode
    if report.is_file():
        rows, props = parse_junit(report)
        text = format_report(rows, props, target)
        print()
        print(text)
        report.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
        print("JUnit XML: %s" % report)
    return code


def target_options(cls, args) -> dict:
    """What the chosen implementation takes from the command line."""
    if cls is VirtualBoard:
        return dict(micropython=args.micropython, netns=args.netns,
                    env={"SMOKE_BREAK": args.break_route} if args.break_route else None)
    if cls is EmulatedBoard:
        return dict(http_port=args.http_port, qemu=args.qemu)
    return {}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.suite.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--board", default=None,
                        help="board (default: UNIX, the virtual board; with --device/--port: names the live board)")
    parser.add_argument("--device", help="base URL of a board running the smoke app, e.g. http://192.168.1.50:5000")
    parser.add_argument("--port", help="serial port of the board (deploys the smoke app, finds its address with mpremote)")
    parser.add_argument("--micropython", help="micropython binary for the virtual board")
    parser.add_argument("--deploy", action="store_true", help="copy the smoke app to the live board first")
    parser.add_argument("--netns", choices=("auto", "on", "off"), default="auto",
                        help="virtual board in its own network namespace (default auto)")
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("HTTP_PORT") or 0) or None,
                        help="emulated board: host port forwarded to its port 5000 (env HTTP_PORT; default a free one)")
    parser.add_argument("--qemu", default=None, help="emulated board: the QEMU binary (default: PATH; env QEMU)")
    parser.add_argument("--report", type=Path, default=REPORT, help="JUnit XML path (default reports/hardware.xml)")
    parser.add_argument("--break", dest="break_route", metavar="ROUTE",
                        help="virtual board only: break one smoke route (json, echo) to check the suite fails")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --), e.g. -- -k json")
    args = parser.parse_args(argv)
    report = args.report if args.report.is_absolute() else Path.cwd() / args.report
    target = None
    try:
        port = args.port or ("auto" if args.deploy and not args.device else None)  # make smoke: the one USB board
        cls = target_class(args.board, args.device, port)
        if args.break_route and (args.deploy or cls is not VirtualBoard):
            raise SmokeError("--break only applies to the virtual board; leave out DEVICE and PORT.")
        deploy = cls is not LiveBoard or args.deploy or bool(port)
        target = open_target(args.board, device=args.device, port=port, app=APP if deploy else None,
                             **target_options(cls, args))
        if deploy:
            _step("starting the %s target with the smoke app (%s)" % (target.kind, APP.relative_to(ROOT)))
        target.start()
        url = target.url
        if url is None:
            raise SmokeError("This target has no network for the hardware suite; pick a board with one "
                             "(BOARD=UNIX, BOARD=ESP32_C3_QEMU, DEVICE=, PORT=).")
        if deploy:
            wait_for(url, timeout=60)
        elif not url.startswith("https://"):  # an https board: the suite checks its pinned certificate first
            preflight(url)
        facts = target.facts()
        what = facts.describe() + (" (%s)" % ", ".join(facts.notes) if facts.notes else "")
        _step("target: %s at %s" % (what, url))
        code = run_suite(url, report, facts.extensions, args.pytest_args, target=facts.describe())
        if code != 0:
            print("error: the hardware suite failed against %s (pytest exit status %d); see the table above."
                  % (url, code), file=sys.stderr)
        return code
    except (SmokeError, TargetError, boards.BoardError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    finally:
        if target is not None:
            target.stop()


if __name__ == "__main__":
    sys.exit(main())
