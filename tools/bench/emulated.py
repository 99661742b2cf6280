"""The emulated boards' sections of `make bench`: heap and latency on firmware/ESP32_C3_QEMU
(ESP32-C3) and firmware/ESP32_QEMU (the original ESP32, Xtensa LX6).

``python -m tools.bench.emulated [--board ESP32_C3_QEMU|ESP32_QEMU] [--requests 50]`` (and
``make bench``, one section per emulated board whose QEMU and image are here) opens the board through
:func:`tools.targets.select.open_target` with ``BENCH_APP`` as its app, then measures over HTTP:
heap free after boot and after ``import microdot`` (frozen), heap per request (two windows with
the collector off, 5 and 25 requests, subtracted), the heap the ota extension and the set-up
portal keep, and latency (keep-alive and one connection per request) over QEMU's user-mode
network. Timing is emulation time: compare builds with it, not chips.
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence
from urllib.parse import urlsplit

from tools.selection import boards as B
from tools.targets.base import TargetError
from tools.targets.qemu_esp32 import available
from tools.targets.select import open_target

BOARD = "ESP32_C3_QEMU"
#: The boards `make bench` measures under QEMU, in this order (each when it is here).
BOARDS = ("ESP32_C3_QEMU", "ESP32_QEMU")


class EmulatedBenchError(Exception):
    """The emulated board could not be measured, as one sentence saying what to do."""


#: The app `bench` deploys: heap free after boot (framework frozen, imported), and the routes
#: that bracket a window of requests with the collector off (heap allocated per request).
BENCH_APP = """\
import gc
gc.collect()
BOOT_FREE = gc.mem_free()
from microdot import Microdot
gc.collect()
IMPORT_FREE = gc.mem_free()
app = Microdot()


def kept(build):  # heap a part of the kit keeps once it is set up (None: not in this image)
    gc.collect()
    before = gc.mem_free()
    try:
        held = build()
    except ImportError:
        return None, None
    gc.collect()
    return before - gc.mem_free(), held


def ota_routes():
    import kitota
    return kitota.install(Microdot(), token='bench-token')


def portal_app():
    import network
    import kitdns  # noqa: F401  (the portal's DNS, imported when it starts)
    import kitportal
    return kitportal.make_app(network, 'microdot-BENCH', '192.168.4.1', '/bench-none.json')


OTA_HEAP, _ota = kept(ota_routes)
PORTAL_HEAP, _portal = kept(portal_app)


@app.route('/')
async def index(request):
    return 'Hello, World!'


@app.route('/__heap')
async def heap(request):
    return {'boot_free': BOOT_FREE, 'import_free': IMPORT_FREE, 'free': gc.mem_free(),
            'total': gc.mem_free() + gc.mem_alloc(), 'ota': OTA_HEAP, 'portal': PORTAL_HEAP}


@app.route('/__gc/off')
async def gc_off(request):
    gc.collect()
    gc.disable()
    return str(gc.mem_alloc())


@app.route('/__gc/on')
async def gc_on(request):
    used = gc.mem_alloc()
    gc.enable()
    gc.collect()
    return str(used)


app.run(port=5000)
"""


def title(board: str) -> str:
    """The section's name: the chip, "(QEMU)" - "ESP32-C3 (QEMU)", "ESP32 (QEMU)"."""
    try:
        return "%s (QEMU)" % B.load_board(board).mcu
    except B.BoardError:
        return "%s (QEMU)" % board


def result_key(board: str) -> str:
    """Where `make bench` keeps the board's figures in its results ("esp32_c3_qemu", "esp32_qemu")."""
    return board.lower()


def _get(conn, path: str) -> bytes:
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise EmulatedBenchError("GET %s answered %d on the emulated board." % (path, r.status))
    return body


def bench(board: str = BOARD, requests: int = 50, log=print, **opts) -> dict:
    """Boot the board with BENCH_APP; heap free after boot, heap per request, latency (ms)."""
    with tempfile.TemporaryDirectory(prefix="qemu-bench-") as tmp:
        (Path(tmp) / "main.py").write_text(BENCH_APP, encoding="utf-8")
        try:
            target = open_target(board, app=Path(tmp), echo=log, **opts)
            target.start()  # the app is copied to the board here: the folder may go afterwards
        except TargetError as exc:
            raise EmulatedBenchError(str(exc))
    try:
        where = urlsplit(target.url)
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        heap = json.loads(_get(conn, "/__heap"))
        for _ in range(5):  # warm-up
            _get(conn, "/")

        def window(k: int) -> int:
            start = int(_get(conn, "/__gc/off"))
            for _ in range(k):
                _get(conn, "/")
            return int(_get(conn, "/__gc/on")) - start

        small, large = 5, 25
        per_request = (window(large) - window(small)) / float(large - small)
        keep, fresh = [], []
        for _ in range(requests):
            t0 = time.perf_counter()
            _get(conn, "/")
            keep.append((time.perf_counter() - t0) * 1000)
        conn.close()
        for _ in range(max(5, requests // 5)):
            t0 = time.perf_counter()
            c = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
            _get(c, "/")
            c.close()
            fresh.append((time.perf_counter() - t0) * 1000)
        facts = target.facts()
        return {
            "board": board,
            "firmware": "MicroPython %s" % facts.micropython if facts.micropython else None,
            "heap_total": heap["total"],
            "heap_free_boot": heap["boot_free"],
            "heap_free_after_import": heap["import_free"],
            "heap_per_request": round(per_request),
            "heap_ota": heap.get("ota"),
            "heap_portal": heap.get("portal"),
            "latency_ms_keepalive_median": round(statistics.median(keep), 2),
            "latency_ms_keepalive_p90": round(sorted(keep)[int(len(keep) * 0.9) - 1], 2),
            "latency_ms_new_connection_median": round(statistics.median(fresh), 2),
            "requests": requests,
        }
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise EmulatedBenchError("Measuring the emulated board failed: %s." % exc)
    finally:
        target.stop()


def _bytes_or_absent(value: Optional[int], extension: str) -> str:
    return "%d B" % value if value is not None else "not in this image (EXTENSIONS=\"... %s\")" % extension


def format_bench(res: dict) -> str:
    rows = [
        ("heap (MicroPython, total)", "%d B" % res["heap_total"]),
        ("heap free after boot", "%d B" % res["heap_free_boot"]),
        ("heap free after import microdot (frozen)", "%d B" % res["heap_free_after_import"]),
        ("heap allocated per request (GET /, keep-alive)", "%d B" % res["heap_per_request"]),
        ("heap kept by the ota extension (kitota.install)", _bytes_or_absent(res.get("heap_ota"), "ota")),
        ("heap kept by the set-up portal (kitportal.make_app)", _bytes_or_absent(res.get("heap_portal"), "wifi")),
        ("latency, keep-alive (median / p90)", "%.1f / %.1f ms" % (
            res["latency_ms_keepalive_median"], res["latency_ms_keepalive_p90"])),
        ("latency, new connection per request (median)", "%.1f ms" % res["latency_ms_new_connection_median"]),
    ]
    width = max(len(r[0]) for r in rows)
    head = "%s: %s, %d requests" % (title(res["board"]), res.get("firmware") or res["board"], res["requests"])
    return "\n".join([head] + ["  %s  %s" % (k.ljust(width), v) for k, v in rows])


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.emulated", description=__doc__.split("\n")[0])
    parser.add_argument("--board", default=BOARD, help="an esp32 board with a qemu entry in board.json")
    parser.add_argument("--requests", type=int, default=50, help="requests for the latency figures (default 50)")
    parser.add_argument("--qemu", default=None, help="the QEMU binary (default: board.json's on PATH; env QEMU)")
    args = parser.parse_args(argv)
    why = available(args.board)
    if why:
        print("error: %s" % why, file=sys.stderr)
        return 1
    try:
        print(format_bench(bench(args.board, args.requests, qemu=args.qemu)))
    except EmulatedBenchError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
