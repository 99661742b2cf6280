"""The frozen bare-metal section of `make bench` (with MICROPY_DIR=): heap on a Cortex-M3.

Builds two images of the qemu port's MPS2_AN385 board (board QEMU_MPS2_AN385, ~140 KB of
heap) from your MicroPython checkout, each with asyncio (and its task.py) frozen: *ours*
(the core and the test client, as ``make BOARD=QEMU_MPS2_AN385 firmware`` freezes them) and
*upstream* Microdot (its ``__init__``, ``microdot``, ``helpers`` and ``test_client`` modules,
frozen the same way). Each boots under qemu-system-arm (the bare-metal target, opened with
tools.targets.select.open_target) and runs the same script (``SCRIPT``) on its console, which reports with ``gc.collect()`` + ``gc.mem_alloc()`` deltas:

- ``import``: heap taken by ``from microdot import Microdot`` + ``import microdot.test_client``
  (asyncio and json imported first: they are not counted)
- ``setup``: heap taken by a small app - 3 routes with 2 aliases each and a 404 handler
- ``get``: heap allocated by one TestClient GET with a JSON reply (after one warm-up GET;
  collector off meanwhile, so every allocation counts)
- ``retained``: heap in use after 60 TestClient requests, relative to before the import
  (so it includes the import, the app and the client)

plus ``micropython.mem_info()`` at the end. The images are built in .cache/bench-baremetal/
(the qemu port's BUILD=); a rebuild only re-freezes.

``python -m tools.bench.baremetal --micropy-dir DIR`` runs just this section.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from tools.selection import boards as B
from tools.build import plan as PL
from tools.build import qemu as QM
from tools.dev import oracle
from tools.targets.base import TargetError
from tools.targets.qemu_arm import QEMU
from tools.targets.select import open_target

ROOT = B.ROOT
BOARD = "QEMU_MPS2_AN385"
CACHE = ROOT / ".cache" / "bench-baremetal"
#: The upstream modules frozen for the comparison (what the script imports, nothing else).
UPSTREAM_FILES = ("__init__.py", "microdot.py", "helpers.py", "test_client.py")
KINDS = ("upstream", "ours")
FIGURES = (
    ("import", "frozen Cortex-M3 heap: `from microdot import Microdot` + `microdot.test_client` (bytes)"),
    ("setup", "frozen Cortex-M3 heap: small app setup, 3 routes + 6 aliases + error handler (bytes)"),
    ("retained", "frozen Cortex-M3 heap: retained after 60 TestClient requests (bytes)"),
    ("get", "frozen Cortex-M3 heap: allocated by one TestClient GET, JSON reply (bytes)"),
)
#: The issue's targets (#23 part 2), ours/upstream: import and one request at most 0.8x,
#: app setup and what 60 requests leave at most 1.0x.
LIMITS = {"import": 0.8, "setup": 1.0, "retained": 1.0, "get": 0.8}

SCRIPT = """
import gc, json, asyncio, micropython
gc.collect(); gc.collect()
base = gc.mem_alloc()
from microdot import Microdot
import microdot.test_client
gc.collect(); gc.collect()
imported = gc.mem_alloc() - base
from microdot.test_client import TestClient

def make_app():
    app = Microdot()

    @app.route('/')
    @app.route('/index')
    @app.route('/home')
    async def index(req):
        return 'hello'

    @app.get('/json')
    @app.get('/api/json')
    @app.get('/data.json')
    async def data(req):
        return {'hello': 'world', 'n': 42}

    @app.post('/echo')
    @app.post('/api/echo')
    @app.post('/v1/echo')
    async def echo(req):
        return req.body

    @app.errorhandler(404)
    async def missing(req):
        return {'error': 'not found'}, 404

    return app

gc.collect(); gc.collect()
s0 = gc.mem_alloc()
app = make_app()
gc.collect(); gc.collect()
setup = gc.mem_alloc() - s0

async def main():
    client = TestClient(app)
    res = await client.get('/json')
    assert res.status_code == 200 and res.json == {'hello': 'world', 'n': 42}, res.status_code
    res = None
    gc.collect(); gc.collect()
    gc.disable()
    g0 = gc.mem_alloc()
    res = await client.get('/json')
    g1 = gc.mem_alloc()
    gc.enable()
    assert res.json['n'] == 42
    res = None
    codes = {}
    for i in range(60):
        k = i % 4
        if k == 0:
            r = await client.get('/')
        elif k == 1:
            r = await client.get('/api/json')
        elif k == 2:
            r = await client.post('/echo', body=b'ping')
        else:
            r = await client.get('/nope')
        codes[r.status_code] = codes.get(r.status_code, 0) + 1
        r = None
    return g1 - g0, codes

get, codes = asyncio.run(main())
gc.collect(); gc.collect()
retained = gc.mem_alloc() - base
print('BENCH ' + json.dumps({'import': imported, 'setup': setup, 'get': get, 'retained': retained,
                              'codes': codes, 'heap': gc.mem_alloc() + gc.mem_free()}))
micropython.mem_info()
"""


class BareMetalError(Exception):
    """The bare-metal section could not run, as one sentence saying what to do."""


def manifest_text(kind: str, upstream_dir: Optional[Path] = None, root: Path = ROOT) -> str:
    """The FROZEN_MANIFEST of one bench image (absolute paths; asyncio frozen as the board does)."""
    board = B.load_board(BOARD, root)
    if kind == "ours":
        return ("# make bench: this framework as the board freezes it (core + test_client)\n"
                "include(%r, extensions=(\"test_client\",))\n" % str(board.manifest))
    if upstream_dir is None:
        raise BareMetalError("No upstream Microdot to freeze: drop --no-upstream or fetch it with `python -m tools.dev.oracle`.")
    pkg = Path(upstream_dir) / "microdot"
    missing = [f for f in UPSTREAM_FILES if not (pkg / f).is_file()]
    if missing:
        raise BareMetalError("Upstream Microdot in '%s' lacks %s: fetch it again with `python -m tools.dev.oracle`."
                             % (pkg, ", ".join(missing)))
    return ("# make bench: upstream Microdot frozen the same way (asyncio as the board has it)\n"
            "include(\"$(MPY_DIR)/extmod/asyncio\")\n"
            "package(\"asyncio\", files=(\"task.py\",), base_path=\"$(MPY_DIR)/extmod\", opt=3)\n"
            "package(\"microdot\", files=(%s), base_path=%r)\n"
            % ("".join("%r, " % f for f in UPSTREAM_FILES).rstrip(" "), str(Path(upstream_dir))))


def build_argv(checkout: Path, manifest: Path, build_dir: Path, jobs: int) -> List[str]:
    """The qemu port's make line (tools/build/qemu.py) with this image's own BUILD folder."""
    board = B.load_board(BOARD)
    return QM.make_argv(board, str(checkout), str(manifest), jobs) + ["BUILD=%s" % build_dir]


def _run_logged(argv: List[str], log_path: Path) -> int:
    with open(log_path, "ab") as f:
        f.write(("$ %s\n" % " ".join(argv)).encode())
        f.flush()
        return subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode


def build_image(kind: str, checkout: Path, upstream_dir: Optional[Path], jobs: int,
                cache: Path = CACHE, log: Callable[[str], None] = print) -> Path:
    """Build (or re-freeze) one bench image; return its firmware.elf."""
    here = cache / kind
    here.mkdir(parents=True, exist_ok=True)
    manifest = here / "manifest.py"
    text = manifest_text(kind, upstream_dir)
    if not manifest.is_file() or manifest.read_text() != text:
        manifest.write_text(text)
        content = here / "build" / "frozen_content.c"
        if content.exists():
            content.unlink()  # makemanifest only notices newer files, not a changed selection
    log_path = here / "build.log"
    log_path.write_text("")
    if not (checkout / "mpy-cross" / "build" / "mpy-cross").is_file():
        log("  building mpy-cross in %s" % checkout)
        if _run_logged(PL.mpy_cross_argv(str(checkout), jobs), log_path) != 0:
            raise BareMetalError("Building mpy-cross in '%s' failed: see %s." % (checkout, log_path))
    t0 = time.time()
    log("  building the %s image (qemu port, MPS2_AN385); log in %s" % (kind, log_path.relative_to(ROOT)
                                                                          if ROOT in log_path.parents else log_path))
    if _run_logged(build_argv(checkout, manifest, here / "build", jobs), log_path) != 0:
        raise BareMetalError("Building the %s bench image failed: see %s (the checkout needs "
                             "lib/micropython-lib and gcc-arm-none-eabi + libnewlib-arm-none-eabi)." % (kind, log_path))
    elf = here / "build" / "firmware.elf"
    if not elf.is_file():
        raise BareMetalError("The %s bench build made no firmware.elf: see %s." % (kind, log_path))
    log("    done in %.0f s" % (time.time() - t0))
    return elf


def parse_output(text: str) -> dict:
    """The figures and mem_info() lines the script printed."""
    figures = None
    info = []
    for line in text.splitlines():
        if line.startswith("BENCH "):
            figures = json.loads(line[6:])
        elif figures is not None and line.strip():
            info.append(line.rstrip())
    if figures is None:
        raise BareMetalError("The bench script printed no figures (output: %r): rebuild the images." % text[-200:])
    figures["mem_info"] = info
    return figures


def measure(elf: Path) -> dict:
    try:
        with open_target(BOARD, firmware=elf) as board:
            return parse_output(board.console.run(SCRIPT, timeout=120))
    except TargetError as exc:
        raise BareMetalError(str(exc))


def skip_reason(micropy_dir: Optional[str]) -> Optional[str]:
    """None when the section can run, else why not (one line)."""
    if not micropy_dir:
        return "no MICROPY_DIR= (a MicroPython v1.28.0 checkout) given"
    checkout = Path(micropy_dir).expanduser()
    if not (checkout / "ports" / "qemu" / "Makefile").is_file():
        return "'%s' is not a MicroPython checkout with ports/qemu" % checkout
    if not any((checkout / "lib" / "micropython-lib").glob("*")):
        return "'%s' lacks the lib/micropython-lib submodule" % checkout
    for tool in ("arm-none-eabi-gcc", QEMU):
        if not _which(tool):
            return "`%s` is not installed (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)" % tool
    return None


def _which(tool: str) -> bool:
    import shutil
    return shutil.which(tool) is not None


def run(micropy_dir: str, upstream_dir: Optional[Path], upstream_version: Optional[str],
        jobs: Optional[int] = None, log: Callable[[str], None] = print) -> dict:
    """Build both images, measure each; the section's results."""
    checkout = Path(micropy_dir).expanduser().resolve()
    jobs = jobs or os.cpu_count() or 2
    kinds = [k for k in KINDS if k == "ours" or upstream_dir is not None]
    res = {"board": BOARD, "micropython_checkout": str(checkout),
           "micropython_version": _describe(checkout), "upstream_version": upstream_version,
           "figures": {}, "mem_info": {}, "codes": {}}
    for kind in kinds:
        elf = build_image(kind, checkout, upstream_dir, jobs, log=log)
        log("  measuring %s under qemu-system-arm" % kind)
        got = measure(elf)
        res["heap_bytes"] = got["heap"]
        res["mem_info"][kind] = got["mem_info"]
        res["codes"][kind] = got["codes"]
        for key, _ in FIGURES:
            res["figures"].setdefault(key, {})[kind] = got[key]
        log("    %s" % ", ".join("%s %d B" % (key, got[key]) for key, _ in FIGURES))
    return res


def _describe(checkout: Path) -> Optional[str]:
    try:
        out = subprocess.run(["git", "-C", str(checkout), "describe", "--tags", "--always"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def table_rows(section: Optional[dict]) -> List[List[str]]:
    """Rows in the bench table's columns: figure, raw, floor, upstream, ours, ours/floor, ours/upstream."""
    if not section:
        return []
    rows = []
    for key, label in FIGURES:
        vals = section["figures"].get(key) or {}
        up, ours = vals.get("upstream"), vals.get("ours")
        ratio = "%.2fx" % (ours / up) if up and ours is not None else "n/a"
        rows.append([label, "n/a", "n/a", "n/a" if up is None else str(up),
                     "n/a" if ours is None else str(ours), "n/a", ratio])
    return rows


def check_targets(section: Optional[dict]) -> List[tuple]:
    """(target, met, measured) for each figure measured on both images."""
    out = []
    if not section:
        return out
    for key, label in FIGURES:
        vals = section["figures"].get(key) or {}
        up, ours = vals.get("upstream"), vals.get("ours")
        if not up or ours is None:
            continue
        r = ours / up
        short = label.split(": ", 1)[1].rsplit(" (bytes)", 1)[0]
        out.append(("frozen Cortex-M3 %s <= %.1fx upstream" % (short, LIMITS[key]), r <= LIMITS[key],
                    "%d vs %d B, %.2fx" % (ours, up, r)))
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.baremetal", description=__doc__.split("\n")[0])
    parser.add_argument("--micropy-dir", default=os.environ.get("MICROPY_DIR") or None,
                        help="a MicroPython v1.28.0 checkout (env MICROPY_DIR)")
    parser.add_argument("--no-upstream", action="store_true", help="measure this framework only")
    parser.add_argument("--jobs", type=int, default=None, help="parallel compile jobs")
    args = parser.parse_args(argv)
    why = skip_reason(args.micropy_dir)
    if why:
        print("error: cannot run the bare-metal section: %s." % why, file=sys.stderr)
        return 1
    try:
        up_dir = up_ver = None
        if not args.no_upstream:
            try:
                up_dir, up_ver = oracle.fetch()
            except oracle.OracleError as exc:
                raise BareMetalError(str(exc))
        res = run(args.micropy_dir, up_dir, up_ver, args.jobs)
    except BareMetalError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    for row in table_rows(res):
        print("%-92s %8s %8s %7s" % (row[0], row[3], row[4], row[6]))
    for text, met, measured in check_targets(res):
        print("%s %s (%s)" % ("MET " if met else "MISS", text, measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
