"""Run the hardware suite (tests/hardware) against a board or the virtual board.

``make test-hw``  -> ``python -m tools.suite.smoke --board B [--device URL] [--port P] [--micropython BIN]``
``make smoke``    -> ``python -m tools.suite.smoke --board B --deploy [--port P] [--device URL]``

The target is, in this order: ``--device URL`` (a board already running the smoke app); the board
on serial ``--port`` (its address is read over serial with mpremote, then it is reset so the smoke
app runs); else the virtual board (tools/targets/virtual.py) with exactly the modules BOARD's manifest
selects. ``--deploy`` first copies the smoke app (tests/hardware/device) to the board as its
main.py. The suite writes JUnit XML (``reports/hardware.xml``); this tool prints a table of every
test with its result and latency, and the board's free heap before and after the run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from tools.selection import boards
from tools.targets import virtual

ROOT = boards.ROOT
SUITE = ROOT / "tests" / "hardware"
APP = virtual.SMOKE_APP
REPORT = ROOT / "reports" / "hardware.xml"
DEVICE_PORT = 5000

#: Run on the board over serial: print its Wi-Fi address, joining the stored network if needed.
PROBE = """\
ip = ''
try:
    import network
    w = network.WLAN(network.STA_IF)
    if w.isconnected():
        ip = w.ifconfig()[0]
except ImportError:
    pass
if not ip:
    try:
        import kitnet
        ip = kitnet.connect() or ''
    except ImportError:
        pass
print('SMOKE-IP', ip)
"""


class SmokeError(Exception):
    """The hardware suite could not be run."""


def _step(msg: str) -> None:
    print("== " + msg, flush=True)


# --------------------------------------------------------------------------------------------
# Commands (pure)


def mpremote() -> str:
    for candidate in (str(Path(sys.executable).parent / "mpremote"), shutil.which("mpremote")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SmokeError("No 'mpremote' found; run 'make setup' to install it into .venv.")


def connect_args(port: Optional[str]) -> List[str]:
    return ["connect", port or "auto"]


def probe_command(tool: str, port: Optional[str]) -> List[str]:
    """mpremote argv that prints ``SMOKE-IP <address>`` (``resume``: no soft reset first)."""
    return [tool, *connect_args(port), "resume", "exec", PROBE]


def parse_probe(output: str) -> Optional[str]:
    for line in output.splitlines():
        if line.startswith("SMOKE-IP"):
            ip = line[len("SMOKE-IP"):].strip()
            return ip or None
    return None


def reset_command(tool: str, port: Optional[str]) -> List[str]:
    """mpremote argv for a hard reset: boot.py joins Wi-Fi, main.py starts the smoke app."""
    return [tool, *connect_args(port), "reset"]


def copy_command(tool: str, port: Optional[str], app: Path) -> List[str]:
    """mpremote argv that copies the smoke app's files to the board's root (run in ``app``)."""
    argv = [tool, *connect_args(port)]
    for path in sorted(app.rglob("*")):
        if "__pycache__" in path.parts or path.name.startswith("."):
            continue
        rel = path.relative_to(app).as_posix()
        if path.is_dir():
            argv += ["exec", "import os\ntry:\n    os.mkdir('/%s')\nexcept OSError:\n    pass" % rel, "+"]
        else:
            argv += ["cp", rel, ":" + rel, "+"]
    return argv[:-1] if argv[-1] == "+" else argv


def deploy_command(port: Optional[str], app: Path) -> Optional[List[str]]:
    """The kit's deploy tool (tools/device/deploy.py), when it exists."""
    if not (ROOT / "tools" / "device" / "deploy.py").is_file():
        return None
    argv = [sys.executable, "-m", "tools.device.deploy", "--app", str(app), "--no-reset"]  # we reset after
    if port:
        argv += ["--port", port]
    return argv


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


def format_report(rows: List[Dict[str, str]], props: Dict[str, str]) -> str:
    head = ("TEST", "RESULT", "LATENCY ms")
    table = [head] + [(r["test"], r["result"] + (" (%s)" % r["message"] if r["message"] and
                                                  r["result"] != "PASS" else ""),
                       r["latency_ms"] or "-") for r in rows]
    w0 = max(len(t[0]) for t in table)
    w1 = max(len(t[1]) for t in table)
    lines = ["%s  %s  %s" % (t[0].ljust(w0), t[1].ljust(w1), t[2].rjust(10)) for t in table]
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


def _run(argv: List[str], what: str, cwd: Optional[Path] = None, timeout: float = 120) -> str:
    try:
        res = subprocess.run(argv, cwd=str(cwd) if cwd else None, capture_output=True, text=True,
                             timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SmokeError("%s failed: %s." % (what, exc))
    if res.returncode != 0:
        msg = (res.stderr or res.stdout).strip().splitlines()
        raise SmokeError("%s failed: %s" % (what, msg[-1] if msg else "exit status %d" % res.returncode))
    return res.stdout


def find_ip(port: Optional[str]) -> str:
    _step("finding the board's address over serial (%s)" % (port or "auto"))
    out = _run(probe_command(mpremote(), port), "Reading the board's address with mpremote")
    ip = parse_probe(out)
    if not ip:
        raise SmokeError("The board on %s is not on Wi-Fi; store credentials with "
                         "'make wifi SSID=... PASSWORD=... PORT=%s' and try again."
                         % (port or "auto", port or "..."))
    return ip


def deploy(port: Optional[str], app: Path = APP) -> None:
    argv = deploy_command(port, app)
    _step("deploying the smoke app (%s) to the board on %s" % (app.relative_to(ROOT), port or "auto"))
    if argv is not None:
        _run(argv, "Deploying the smoke app with tools.device.deploy", cwd=ROOT, timeout=300)
    else:
        _run(copy_command(mpremote(), port, app), "Copying the smoke app with mpremote", cwd=app,
             timeout=300)


def reset(port: Optional[str]) -> None:
    _step("resetting the board so the smoke app starts")
    _run(reset_command(mpremote(), port), "Resetting the board with mpremote")


def wait_for(url: str, timeout: float = 60) -> dict:
    _step("waiting for %s" % url)
    deadline = time.monotonic() + timeout
    last = None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
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

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
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


def run_suite(url: str, report: Path, expect=None, extra: Sequence[str] = ()) -> int:
    report.parent.mkdir(parents=True, exist_ok=True)
    if report.exists():
        report.unlink()
    _step("running the hardware suite against %s" % url)
    code = subprocess.run(pytest_command(url, report, expect, extra), cwd=str(ROOT)).returncode
    if report.is_file():
        rows, props = parse_junit(report)
        text = format_report(rows, props)
        print()
        print(text)
        report.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
        print("JUnit XML: %s" % report)
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.suite.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--board", default="UNIX", help="board (for the virtual board: whose modules to stage)")
    parser.add_argument("--device", help="base URL of a board running the smoke app, e.g. http://192.168.1.50:5000")
    parser.add_argument("--port", help="serial port of the board (finds its address with mpremote)")
    parser.add_argument("--micropython", help="micropython binary for the virtual board")
    parser.add_argument("--deploy", action="store_true", help="copy the smoke app to the board first")
    parser.add_argument("--netns", choices=("auto", "on", "off"), default="auto",
                        help="virtual board in its own network namespace (default auto)")
    parser.add_argument("--report", type=Path, default=REPORT, help="JUnit XML path (default reports/hardware.xml)")
    parser.add_argument("--break", dest="break_route", metavar="ROUTE",
                        help="virtual board only: break one smoke route (json, echo) to check the suite fails")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --), e.g. -- -k json")
    args = parser.parse_args(argv)
    report = args.report if args.report.is_absolute() else Path.cwd() / args.report
    from tools.targets import qemu_esp32  # boards that run under QEMU: boot them, deploy, run the suite

    if not (args.device or args.port) and qemu_esp32.emulated(args.board):
        return qemu_esp32.main(["test-hw", "--board", args.board, "--report", str(report), "--", *args.pytest_args])
    vb = None
    try:
        board = boards.load_board(args.board)
        if args.break_route and (args.device or args.port or args.deploy):
            raise SmokeError("--break only applies to the virtual board; leave out DEVICE and PORT.")
        if args.deploy:
            ip = None if args.device else find_ip(args.port)
            deploy(args.port, APP)
            reset(args.port)
            url = args.device or "http://%s:%d" % (ip, DEVICE_PORT)
            wait_for(url.rstrip("/"))
            expect = None
        elif args.device and not args.port:
            url = args.device.rstrip("/")
            if "://" not in url:
                url = "http://" + url
            preflight(url)
            expect = None
        elif args.port:  # a board on serial: give it the smoke app, then find it
            ip = None if args.device else find_ip(args.port)
            deploy(args.port, APP)
            reset(args.port)
            url = args.device.rstrip("/") if args.device else "http://%s:%d" % (ip, DEVICE_PORT)
            url = url if "://" in url else "http://" + url
            wait_for(url)
            expect = None
        else:
            env = {"SMOKE_BREAK": args.break_route} if args.break_route else None
            vb = virtual.VirtualBoard(board.name, app=APP, micropython=args.micropython,
                                      netns=args.netns, env=env)
            _step("starting the virtual board for %s (%s)" % (board.name, vb.micropython))
            vb.start()
            what = "frozen framework" if vb.frozen else "%d modules compiled with mpy-cross" % len(vb.staged)
            _step("virtual board up at %s (%s; %s)" % (vb.url, what, vb.network_note))
            url = vb.url
            expect = vb.extensions
        code = run_suite(url, report, expect, args.pytest_args)
        if code != 0:
            print("error: the hardware suite failed against %s (pytest exit status %d); see the table above."
                  % (url, code), file=sys.stderr)
        return code
    except (SmokeError, virtual.VirtualError, boards.BoardError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    finally:
        if vb is not None:
            vb.stop()


if __name__ == "__main__":
    sys.exit(main())
