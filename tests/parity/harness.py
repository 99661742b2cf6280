"""Run a parity app under one implementation in a subprocess, and compare two runs.

``run_app(impl, libdir, app, mode, runtime)`` starts tests/parity/driver.py on CPython or
MicroPython with ``libdir`` (src/ or the oracle's directory) first on its path and returns a
``Run``: the app's cases and, per case, the response as a plain record. In 'http' mode the
server is started once and every case is sent with a fresh http.client connection; in
'testclient' mode the driver runs the cases (and the app's script) itself.

``compare(up, ours, ...)`` applies the rules of the parity contract (status, body, every
header upstream sends with the same value, no extra header except framing and the
RFC 9110 ones) and returns a ``Comparison``: the count of compared requests and one
readable line per difference not covered by a case's ``differs`` IDs.
"""
import base64
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SRC = ROOT / "src"
APPS = HERE / "apps"
DRIVER = HERE / "driver.py"
COMPAT = ROOT / "docs" / "compat.md"
MARK = "@@P "
RUNTIMES = ("cpython", "micropython")
MODES = ("http", "testclient")

#: headers ours may send although upstream does not: framing, and those RFC 9110 requires
FRAMING = ("connection", "content-length", "transfer-encoding")
EXTRA_OK = {405: ("allow",), 401: ("www-authenticate",), 503: ("retry-after",)}
#: upstream's status line says these when the app set no reason of its own
DEFAULT_REASONS = ("OK", "N/A")

START_TIMEOUT = 20.0
CASE_TIMEOUT = 5.0
TESTCLIENT_TIMEOUT = 60.0


class HarnessError(Exception):
    """A driver process failed to start, crashed, or printed nothing usable."""


# -- the app corpus ---------------------------------------------------------------------

def app_files():
    return sorted(p for p in APPS.glob("*.py") if not p.name.startswith("_"))


def _literal_tuple(source: str, name: str):
    m = re.search(r"^%s\s*=\s*(\([^)]*\)|\[[^\]]*\])" % name, source, re.M)
    if not m:
        return None
    import ast
    return tuple(ast.literal_eval(m.group(1)))


def app_options(path: Path):
    """The app's RUNTIMES and MODES, read from its source (the app itself imports microdot,
    so the test process never imports it)."""
    source = path.read_text()
    return (_literal_tuple(source, "RUNTIMES") or RUNTIMES,
            _literal_tuple(source, "MODES") or MODES)


def known_ids(path: Path = COMPAT):
    """The difference IDs listed in docs/compat.md (table rows starting ``| D<n> |``)."""
    if not path.is_file():
        return set()
    return set(re.findall(r"^\|\s*(D\d+)\s*\|", path.read_text(), re.M))


# -- running an implementation ------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def interpreter(runtime: str) -> str:
    if runtime == "cpython":
        return sys.executable
    from tools.dev.mptest import find_micropython
    return find_micropython()


def driver_env():
    env = dict(os.environ)
    for var in ("PYTHONPATH", "MICROPYPATH", "PYTHONSTARTUP"):
        env.pop(var, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # never leave __pycache__ in the oracle's tree
    env["PYTHONNOUSERSITE"] = "1"
    # str hashes (so set order, e.g. a Vary built from a set) the same in both processes
    env["PYTHONHASHSEED"] = "0"
    return env


def unb(value):
    """Decode the driver's {"b64": ...} bytes back to bytes (recursively)."""
    if isinstance(value, dict):
        if set(value) == {"b64"}:
            return base64.b64decode(value["b64"])
        return {k: unb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unb(v) for v in value]
    return value


def parse_records(stdout: str):
    out = []
    for line in stdout.splitlines():
        if line.startswith(MARK):
            try:
                out.append(json.loads(line[len(MARK):]))
            except ValueError:
                out.append({"k": "error", "where": "driver output", "exc": line[:200]})
    return out


class Run:
    """What one implementation answered: ``cases`` (normalised dicts), ``results`` (one per
    case: {"res": record} | {"exc": text} | {"skipped": why}), ``logs`` (script log calls),
    ``errors`` and the process's stderr tail for messages."""

    def __init__(self, impl, libdir, app, mode, runtime):
        self.impl, self.libdir, self.app, self.mode, self.runtime = impl, libdir, app, mode, runtime
        self.cases, self.results, self.logs, self.errors = [], {}, [], []
        self.impl_file = None
        self.stderr = ""

    def absorb(self, records):
        for rec in records:
            kind = rec.get("k")
            if kind == "impl":
                self.impl_file = rec["file"]
            elif kind == "cases":
                self.cases = [unb(c) for c in rec["cases"]]
            elif kind == "case":
                self.results[rec["i"]] = unb({k: v for k, v in rec.items() if k not in ("k", "i")})
            elif kind == "log":
                self.logs.append(unb(rec["values"]))
            elif kind == "error":
                self.errors.append("%s: %s" % (rec.get("where"), rec.get("exc")))

    def check_impl(self):
        if self.impl_file is None:
            raise HarnessError("%s driver for %s (%s, %s) printed nothing; stderr: %s"
                               % (self.impl, self.app, self.runtime, self.mode, self.tail()))
        f = os.path.realpath(self.impl_file) if self.runtime == "cpython" else self.impl_file
        lib = os.path.realpath(str(self.libdir)) if self.runtime == "cpython" else str(self.libdir)
        if not f.startswith(lib):
            raise HarnessError("%s run imported microdot from %s, not from %s"
                               % (self.impl, self.impl_file, self.libdir))

    def tail(self, n=12):
        lines = self.stderr.strip().splitlines()
        return "\n".join(lines[-n:]) if lines else "(empty)"


def _argv(runtime, libdir, app, mode, port=None):
    argv = [interpreter(runtime), str(DRIVER), str(libdir), str(app), mode]
    if port is not None:
        argv.append(str(port))
    return argv


class Server:
    """One implementation's driver serving an app over HTTP."""

    def __init__(self, impl, libdir, app: Path, runtime):
        self.run = Run(impl, libdir, app.stem, "http", runtime)
        self.port = free_port()
        self.cwd = tempfile.TemporaryDirectory(prefix="parity-%s-" % impl)
        self.proc = subprocess.Popen(_argv(runtime, libdir, app, "http", self.port),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=self.cwd.name, env=driver_env())
        self._out, self._err = [], []
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self._out), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self._err), daemon=True)]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream, sink):
        for line in iter(stream.readline, b""):
            sink.append(line.decode("utf-8", "replace"))

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise HarnessError("%s server for %s (%s) exited with status %s before listening; stderr:\n%s"
                                   % (self.run.impl, self.run.app, self.run.runtime,
                                      self.proc.returncode, self.run.tail()))
            # ready: the driver's cases line has been read and the port takes connections
            if any(r.get("k") == "cases" for r in self.records()):
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return
                except OSError:
                    pass
            time.sleep(0.02)
        self.stop()
        raise HarnessError("%s server for %s (%s) did not listen on port %d within %ds"
                           % (self.run.impl, self.run.app, self.run.runtime, self.port, timeout))

    def records(self):
        return parse_records("".join(self._out))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for t in self._threads:
            t.join(5)
        self.run.stderr = "".join(self._err)
        self.run.absorb(self.records())
        self.cwd.cleanup()
        return self.run


def send_case(port: int, case: dict, timeout: float = CASE_TIMEOUT) -> dict:
    """Send one case over a fresh connection; return {"res": record} or {"exc": text}."""
    try:
        if case.get("raw") is not None:
            return {"res": _send_raw(port, case["raw"], case["method"], timeout)}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            names = [k.lower() for k, _ in case["headers"]]
            conn.putrequest(case["method"], case["path"], skip_host="host" in names,
                            skip_accept_encoding=True)
            for name, value in case["headers"]:
                conn.putheader(name, value)
            body = case["body"] or b""
            if body and "content-length" not in names and "transfer-encoding" not in names:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            return {"res": _record(resp)}
        finally:
            conn.close()
    except Exception as exc:  # a refused or cut connection is a result to compare too
        return {"exc": "%s: %s" % (type(exc).__name__, exc)}


def _record(resp):
    body = resp.read()
    return {"status": resp.status, "reason": resp.reason, "version": resp.version,
            "headers": [[k, v] for k, v in resp.getheaders()], "body": body}


def _send_raw(port, raw: bytes, method: str, timeout: float):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        return _record(resp)


def run_http(impl, libdir, app: Path, runtime) -> Run:
    """Start the server once, send every case, stop it."""
    server = Server(impl, libdir, app, runtime)
    server.wait_ready()
    results = {}
    try:
        recs = server.records()
        cases = next((unb(r["cases"]) for r in recs if r.get("k") == "cases"), [])
        for i, case in enumerate(cases):
            results[i] = send_case(server.port, case)
        died = server.proc.poll()
    finally:
        run = server.stop()
    if died is not None:  # e.g. it could not bind, and something else answered on the port
        raise HarnessError("%s server for %s (%s) exited with status %s while serving; stderr:\n%s"
                           % (impl, app.stem, runtime, died, run.tail()))
    run.results = results
    run.check_impl()
    return run


def run_testclient(impl, libdir, app: Path, runtime) -> Run:
    run = Run(impl, libdir, app.stem, "testclient", runtime)
    try:
        with tempfile.TemporaryDirectory(prefix="parity-%s-" % impl) as cwd:
            proc = subprocess.run(_argv(runtime, libdir, app, "testclient"), capture_output=True,
                                  cwd=cwd, env=driver_env(), timeout=TESTCLIENT_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError("%s testclient run of %s (%s) took over %ds"
                           % (impl, app.stem, runtime, exc.timeout))
    run.stderr = proc.stderr.decode("utf-8", "replace")
    records = parse_records(proc.stdout.decode("utf-8", "replace"))
    run.absorb(records)
    run.check_impl()
    if not any(r.get("k") == "done" for r in records):
        run.errors.append("driver: exited with status %d before finishing; stderr:\n%s"
                          % (proc.returncode, run.tail()))
    return run


def run_app(impl, libdir, app: Path, mode, runtime) -> Run:
    return (run_http if mode == "http" else run_testclient)(impl, libdir, app, runtime)


def run_pair(upstream_dir, app: Path, mode, runtime, ours_dir=SRC):
    """Run upstream and ours side by side (two processes at once); return (up, ours)."""
    out, errs = {}, {}

    def one(impl, libdir):
        try:
            out[impl] = run_app(impl, libdir, app, mode, runtime)
        except Exception as exc:
            errs[impl] = exc

    threads = [threading.Thread(target=one, args=("upstream", upstream_dir)),
               threading.Thread(target=one, args=("ours", ours_dir))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for impl in ("upstream", "ours"):
        if impl in errs:
            raise errs[impl]
    return out["upstream"], out["ours"]


# -- comparing --------------------------------------------------------------------------

def _headers_by_name(pairs, fold):
    out = {}
    for name, value in pairs:
        out.setdefault(name.lower() if fold else name, []).append(value)
    return out


def _tokens(values):
    # Vary is an unordered list; upstream builds it from a set (CPython: hash-seed order)
    return sorted(t.strip() for v in values for t in str(v).split(","))


def _short(value, n=300):
    text = repr(value)
    return text if len(text) <= n else text[:n] + "...(%d chars)" % len(text)


def show_pair(uv, ov, n=300):
    """Both values, short; two long byte strings or strings are cut around where they part."""
    if isinstance(uv, (bytes, str)) and type(uv) is type(ov) and max(len(uv), len(ov)) > n // 3:
        at = next((i for i, (a, b) in enumerate(zip(uv, ov)) if a != b), min(len(uv), len(ov)))
        start = max(0, at - 40)

        def cut(v):
            return "%s%r%s (%d long)" % ("..." if start else "", v[start:start + n // 3],
                                         "..." if start + n // 3 < len(v) else "", len(v))
        return "%s  [first difference at %d]" % (cut(uv), at), cut(ov)
    return _short(uv, n), _short(ov, n)


def compare_responses(up: dict, ours: dict, mode: str):
    """The differences between two response records, as (field, upstream, ours) triples."""
    diffs = []
    if up.get("status") != ours.get("status"):
        diffs.append(("status", up.get("status"), ours.get("status")))
    ur, orr = up.get("reason"), ours.get("reason")
    if mode == "http":
        if ur not in DEFAULT_REASONS and ur != orr:  # a reason the app set itself
            diffs.append(("reason", ur, orr))
    elif ur != orr:
        diffs.append(("reason", ur, orr))
    if up.get("body") != ours.get("body"):
        diffs.append(("body", up.get("body"), ours.get("body")))
    # http: header names are case-insensitive on the wire; testclient: the dict's keys are
    # what a test indexes, so their spelling (and a list value staying a list) counts.
    fold = mode == "http"
    uh = _headers_by_name(up.get("headers") or [], fold)
    oh = _headers_by_name(ours.get("headers") or [], fold)
    status = up.get("status")
    allowed_extra = FRAMING + EXTRA_OK.get(ours.get("status"), ())
    chunked = any(str(v).lower() == "chunked" for k, vs in oh.items()
                  if k.lower() == "transfer-encoding" for v in vs)
    for name, values in uh.items():
        low = name.lower()
        if low == "connection":
            continue  # keep-alive framing: upstream closes every connection
        if low == "content-length" and chunked and name not in oh:
            continue  # the same body framed as chunks
        if name not in oh:
            diffs.append(("header %r" % name, values if len(values) > 1 else values[0], "(missing)"))
        elif oh[name] != values and not (low == "vary" and _tokens(oh[name]) == _tokens(values)):
            ov = oh[name]
            diffs.append(("header %r" % name, values if len(values) > 1 else values[0],
                          ov if len(ov) > 1 else ov[0]))
    for name, values in oh.items():
        if name not in uh and name.lower() not in allowed_extra:
            diffs.append(("header %r" % name, "(not sent)", values if len(values) > 1 else values[0]))
    for attr in ("text", "json", "events"):
        if mode == "testclient" and up.get(attr) != ours.get(attr) and status == ours.get("status") \
                and up.get("body") == ours.get("body"):
            diffs.append(("TestResponse.%s" % attr, up.get(attr), ours.get(attr)))
    return diffs


def compare_results(up: dict, ours: dict, mode: str):
    if "skipped" in up or "skipped" in ours:
        return []
    if "exc" in up or "exc" in ours:
        if up.get("exc") != ours.get("exc"):
            return [("exception", up.get("exc", "(none)"), ours.get("exc", "(none)"))]
        return []
    return compare_responses(up["res"], ours["res"], mode)


def _as_ids(differs):
    if not differs:
        return []
    return [differs] if isinstance(differs, str) else list(differs)


def describe_case(case):
    name = case.get("name")
    text = "%s %s" % (case.get("method"), case.get("path"))
    if len(text) > 80:
        text = text[:77] + "..."
    return ("%s [%s]" % (text, name)) if name else text


class Comparison:
    """The outcome of comparing one (app, mode, runtime): counts and failure lines."""

    def __init__(self, app, mode, runtime):
        self.app, self.mode, self.runtime = app, mode, runtime
        self.compared = 0
        self.allowed = []   # (case, ids) whose listed differences showed
        self.listed = {}    # case index -> its label, for every case that lists a difference
        self.failures = []  # readable lines

    def where(self, i=None, case=None):
        head = "%s [%s, %s]" % (self.app, self.runtime, self.mode)
        if i is None:
            return head
        return "%s case %d (%s)" % (head, i, describe_case(case))

    def fail(self, text):
        self.failures.append(text)

    def message(self):
        return "\n".join(self.failures)


def compare(up: Run, ours: Run, ids=None) -> Comparison:
    """Compare every case (and the script's logs) of two runs of the same app."""
    ids = known_ids() if ids is None else ids
    cmp = Comparison(up.app, up.mode, up.runtime)
    script_errors = [[e for e in run.errors if e.startswith("script:")] for run in (up, ours)]
    if script_errors[0] != script_errors[1]:  # the same exception out of both scripts agrees
        cmp.fail("%s: the script ended differently\n    upstream: %s\n    ours:     %s"
                 % (cmp.where(), "; ".join(script_errors[0]) or "(no exception)",
                    "; ".join(script_errors[1]) or "(no exception)"))
    for run in (up, ours):
        for err in run.errors:
            if not err.startswith("script:"):
                cmp.fail("%s: the %s run failed: %s" % (cmp.where(), run.impl, err))
    cases = up.cases
    if len(ours.cases) != len(cases):
        cmp.fail("%s: upstream saw %d cases, ours %d" % (cmp.where(), len(cases), len(ours.cases)))
    for i, case in enumerate(cases):
        listed = _as_ids(case.get("differs"))
        if listed:
            cmp.listed[i] = "%s (%s)" % (describe_case(case), ", ".join(listed))
        unknown = [d for d in listed if d not in ids]
        if unknown:
            cmp.fail("%s: differs=%s not found in docs/compat.md (add the row or fix the case)"
                     % (cmp.where(i, case), ", ".join(unknown)))
            continue
        ur, orr = up.results.get(i), ours.results.get(i)
        if ur is None or orr is None:
            cmp.fail("%s: no result from %s" % (cmp.where(i, case),
                                                 "upstream" if ur is None else "ours"))
            continue
        if "skipped" in ur:
            continue
        cmp.compared += 1
        diffs = compare_results(ur, orr, up.mode)
        if diffs and listed:
            cmp.allowed.append((i, listed))
            continue
        for field, uv, ov in diffs:
            cmp.fail("%s: %s differs\n    upstream: %s\n    ours:     %s"
                     % ((cmp.where(i, case), field) + show_pair(uv, ov)))
    if not cases and not up.logs:
        cmp.fail("%s: nothing compared (the app has no CASES and its script logged nothing)"
                 % cmp.where())
    if len(up.logs) != len(ours.logs):
        cmp.fail("%s: script logged %d times on upstream, %d on ours"
                 % (cmp.where(), len(up.logs), len(ours.logs)))
    for n, (ul, ol) in enumerate(zip(up.logs, ours.logs)):
        cmp.compared += 1
        for field, uv, ov in compare_logged(ul, ol, up.mode):
            label = ul[0] if ul and isinstance(ul[0], str) else "#%d" % n
            cmp.fail("%s: script log %d (%s): %s differs\n    upstream: %s\n    ours:     %s"
                     % ((cmp.where(), n, label, field) + show_pair(uv, ov)))
    return cmp


def compare_logged(ul, ol, mode, path="value"):
    """Differences between two logged values; responses inside compare by the response rules."""
    if isinstance(ul, dict) and isinstance(ol, dict) and "response" in ul and "response" in ol \
            and len(ul) == 1 and len(ol) == 1:
        return [("%s: %s" % (path, f), u, o) for f, u, o in
                compare_responses(ul["response"], ol["response"], "testclient")]
    if isinstance(ul, list) and isinstance(ol, list) and len(ul) == len(ol):
        out = []
        for j, (u, o) in enumerate(zip(ul, ol)):
            out += compare_logged(u, o, mode, "%s[%d]" % (path, j))
        return out
    if isinstance(ul, dict) and isinstance(ol, dict) and set(ul) == set(ol):
        out = []
        for k in ul:
            out += compare_logged(ul[k], ol[k], mode, "%s[%r]" % (path, k))
        return out
    return [] if ul == ol else [(path, ul, ol)]


# -- counts for the closing line ----------------------------------------------------------

STATS = {"requests": {"cpython": 0, "micropython": 0}, "apps": set(), "api_names": 0,
         "api_names_mp": 0, "allowed": {}, "listed": {}, "shown": set()}


def record_stats(cmp: Comparison):
    STATS["requests"][cmp.runtime] = STATS["requests"].get(cmp.runtime, 0) + cmp.compared
    STATS["apps"].add(cmp.app)
    for _, ids in cmp.allowed:
        for d in ids:
            STATS["allowed"][d] = STATS["allowed"].get(d, 0) + 1
    shown = {i for i, _ in cmp.allowed}
    for i, label in cmp.listed.items():
        key = (cmp.app, i)
        STATS["listed"][key] = label
        if i in shown:
            STATS["shown"].add(key)


def unshown_line():
    """Cases that list a difference no run of theirs showed (stale listings), or None."""
    stale = sorted(k for k in STATS["listed"] if k not in STATS["shown"])
    if not stale:
        return None
    return ("parity: %d case(s) list a difference that showed in none of their runs: %s"
            % (len(stale), "; ".join("%s case %d %s" % (a, i, STATS["listed"][(a, i)])
                                     for a, i in stale)))


def allowed_line():
    """Which listed differences showed, and how often (None when none did)."""
    seen = STATS["allowed"]
    if not seen:
        return None
    ids = sorted(seen, key=lambda d: int(d[1:]))
    return ("parity: %d responses differed as docs/compat.md lists (%s)"
            % (sum(seen.values()), ", ".join("%s x%d" % (d, seen[d]) for d in ids)))


def summary_line():
    reqs = STATS["requests"]
    total = sum(reqs.values())
    if not total and not STATS["api_names"]:
        return None
    mp = STATS["api_names_mp"]
    return ("parity: compared %d requests (%d cpython, %d micropython) across %d apps; API: %d names%s"
            % (total, reqs.get("cpython", 0), reqs.get("micropython", 0), len(STATS["apps"]),
               STATS["api_names"], " (%d also on micropython)" % mp if mp else ""))
