"""The emulated boards' sections of `make bench`: heap and latency on firmware/ESP32_C3_QEMU
(ESP32-C3) and firmware/ESP32_QEMU (the original ESP32, Xtensa LX6).

``python -m tools.bench.emulated [--board ESP32_C3_QEMU|ESP32_QEMU] [--requests 50]`` (and
``make bench``, one section per emulated board whose QEMU and image are here) opens the board through
:func:`tools.targets.select.open_target` with ``BENCH_APP`` as its app, then measures over HTTP:
heap free after boot and after ``import microdot`` (frozen), heap per request (two windows with
the collector off, 5 and 25 requests, subtracted), the heap the ota extension and the set-up
portal keep, and latency (keep-alive and one connection per request) over QEMU's user-mode
network. Timing is emulation time: compare builds with it, not chips.

The ESP32-C3's section also measures HTTPS (:func:`bench_tls`, ``TLS_BOARDS``): the board is
given a certificate from tools/device/cert.py and serves ``TLS_APP`` with
``app.run(ssl=kitnet.tls())``; pinned connections measure the TLS handshake and the heap each
held TLS connection takes, MicroPython's (``gc.mem_free()``) and the system heap
(``esp32.idf_heap_info(esp32.HEAP_DATA)``: mbedtls allocates there, outside the GC heap).
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
#: The boards whose section also measures HTTPS (bench_tls).
TLS_BOARDS = ("ESP32_C3_QEMU",)


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


@app.route('/__free')
async def free(request):  # both heaps after a collection (the system heap: None off esp32)
    gc.collect()
    try:
        import esp32
        sys_free = sum(h[1] for h in esp32.idf_heap_info(esp32.HEAP_DATA))
    except ImportError:
        sys_free = None
    return {'free': gc.mem_free(), 'sys_free': sys_free}


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


#: The app bench_tls deploys with a certificate: HTTPS via kitnet.tls(); /__heap reports both heaps.
TLS_APP = """\
import gc
import kitnet
from microdot import Microdot


def sys_free():  # the system heap mbedtls allocates from (None off esp32)
    try:
        import esp32
    except ImportError:
        return None
    return sum(h[1] for h in esp32.idf_heap_info(esp32.HEAP_DATA))


gc.collect()
GC0, SYS0 = gc.mem_free(), sys_free()
ctx = kitnet.tls()
gc.collect()
CTX = {'gc': GC0 - gc.mem_free(), 'sys': SYS0 - sys_free() if SYS0 is not None else None, 'tls': ctx is not None}
app = Microdot()


@app.route('/')
async def index(request):
    return 'tls ' + request.scheme


@app.route('/__heap')
async def heap(request):
    gc.collect()
    return {'free': gc.mem_free(), 'sys_free': sys_free(), 'ctx': CTX}


app.run(port=5000, ssl=ctx)
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


def bench(board: str = BOARD, requests: int = 50, log=print, tls: Optional[bool] = None, **opts) -> dict:
    """Boot the board with BENCH_APP; heap free after boot, heap per request, latency (ms); for
    TLS_BOARDS (or ``tls=True``) also the HTTPS figures of :func:`bench_tls` under "tls" (or why
    not, under "tls_error")."""
    res = _bench_http(board, requests, log, **opts)
    if tls if tls is not None else board in TLS_BOARDS:
        try:
            res["tls"] = bench_tls(board, log=log, **opts)
        except EmulatedBenchError as exc:
            res["tls_error"] = str(exc)
    return res


def _bench_http(board: str, requests: int, log=print, **opts) -> dict:
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
        held = _held(conn, lambda: http.client.HTTPConnection(where.hostname, where.port, timeout=30))
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
            "heap_per_connection": held[0],
            "sys_heap_per_connection": held[1],
            "requests": requests,
        }
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise EmulatedBenchError("Measuring the emulated board failed: %s." % exc)
    finally:
        target.stop()


def bench_tls(board: str = BOARD, held: int = 3, handshakes: int = 8, log=print, **opts) -> dict:
    """Boot ``board``, give it a certificate (``make wifi``'s and ``make deploy CERT=``'s code) and
    TLS_APP; over pinned connections: the handshake time (TCP connect + TLS handshake, median of
    ``handshakes``), and the heap ``held`` more idle keep-alive TLS connections take, per
    connection (MicroPython's and the system heap)."""
    from tools.device import cert as C  # the certificate and the pinned client
    from tools.device import deploy as S

    with tempfile.TemporaryDirectory(prefix="qemu-bench-tls-") as tmp:
        folder = Path(tmp) / "cert"
        pin = C.make(folder)
        (Path(tmp) / "app").mkdir()
        (Path(tmp) / "app" / "main.py").write_text(TLS_APP, encoding="utf-8")
        try:
            target = open_target(board, echo=log, **opts)
            target.start()  # boots only: the certificate goes on before the app starts
        except TargetError as exc:
            raise EmulatedBenchError(str(exc))
        try:
            target.provision()
            S.put_cert(folder, target.console_device)
            target.deploy(Path(tmp) / "app")
        except (TargetError, S.DeployError) as exc:
            target.stop()
            raise EmulatedBenchError("Setting up HTTPS on the emulated board failed: %s" % exc)
    where = urlsplit(target.url)
    host, port = where.hostname, where.port

    def pinned():
        return C.PinnedHTTPSConnection(host, port, pin, timeout=60)

    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                first = pinned()
                _get(first, "/")
                break
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise EmulatedBenchError("The emulated board did not answer HTTPS at %s within 90 s; "
                                             "see its console." % target.url)
                time.sleep(1.0)
        per, sys_per = _held(first, pinned, held, "/__heap")
        ctx = json.loads(_get(first, "/__heap"))["ctx"]
        first.close()
        times = []
        for _ in range(handshakes):
            c = pinned()
            t0 = time.perf_counter()
            c.connect()
            times.append((time.perf_counter() - t0) * 1000)
            _get(c, "/")
            c.close()
        return {
            "board": board,
            "tls_handshake_ms_median": round(statistics.median(times), 1),
            "tls_handshake_ms_max": round(max(times), 1),
            "tls_heap_per_connection": per,
            "tls_sys_heap_per_connection": sys_per,
            "tls_context_heap": ctx["gc"],
            "tls_context_sys_heap": ctx["sys"],
            "tls_held": held,
            "tls_handshakes": handshakes,
        }
    except (OSError, ValueError, KeyError, http.client.HTTPException, C.CertError) as exc:
        raise EmulatedBenchError("Measuring HTTPS on the emulated board failed: %s." % exc)
    finally:
        target.stop()


def format_tls(res: dict) -> str:
    """The HTTPS rows of a board's section."""
    sys_heap = res.get("tls_sys_heap_per_connection")
    rows = [
        ("TLS handshake, pinned (median / max of %d)" % res["tls_handshakes"],
         "%.1f / %.1f ms" % (res["tls_handshake_ms_median"], res["tls_handshake_ms_max"])),
        ("heap per held TLS connection, MicroPython (GC)", "%d B" % res["tls_heap_per_connection"]),
        ("heap per held TLS connection, system (mbedtls)",
         "%d B" % sys_heap if sys_heap is not None else "not measured (no esp32 module)"),
        ("TLS context (kitnet.tls(): certificate + key), GC / system",
         "%d B / %s" % (res["tls_context_heap"], "%d B" % res["tls_context_sys_heap"]
                        if res.get("tls_context_sys_heap") is not None else "-")),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(["  HTTPS (EC P-256 certificate, %d connections held):" % res["tls_held"]] +
                     ["    %s  %s" % (k.ljust(width), v) for k, v in rows])


def _held(first, connect, n: int = 3, path: str = "/__free") -> tuple:
    """Heap each of ``n`` more idle keep-alive connections takes on the board (after one request
    each), MicroPython's and the system heap's (None when the board has no esp32 module);
    ``first`` is an open connection that asks ``path`` before and after."""
    before = json.loads(_get(first, path))
    conns = []
    for _ in range(n):
        c = connect()
        _get(c, "/")
        conns.append(c)
    after = json.loads(_get(first, path))
    for c in conns:
        c.close()
    sys_per = ((before["sys_free"] - after["sys_free"]) / float(n)
               if before.get("sys_free") is not None else None)
    return round((before["free"] - after["free"]) / float(n)), round(sys_per) if sys_per is not None else None


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
    if res.get("heap_per_connection") is not None:
        rows.append(("heap per held HTTP connection, MicroPython / system", "%d B / %s" % (
            res["heap_per_connection"], "%d B" % res["sys_heap_per_connection"]
            if res.get("sys_heap_per_connection") is not None else "-")))
    width = max(len(r[0]) for r in rows)
    head = "%s: %s, %d requests" % (title(res["board"]), res.get("firmware") or res["board"], res["requests"])
    text = "\n".join([head] + ["  %s  %s" % (k.ljust(width), v) for k, v in rows])
    if res.get("tls"):
        text += "\n" + format_tls(res["tls"])
    elif res.get("tls_error"):
        text += "\n  HTTPS: not measured: %s" % res["tls_error"]
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.emulated", description=__doc__.split("\n")[0])
    parser.add_argument("--board", default=BOARD, help="an esp32 board with a qemu entry in board.json")
    parser.add_argument("--requests", type=int, default=50, help="requests for the latency figures (default 50)")
    parser.add_argument("--qemu", default=None, help="the QEMU binary (default: board.json's on PATH; env QEMU)")
    parser.add_argument("--no-tls", action="store_true", help="leave out the HTTPS figures")
    parser.add_argument("--tls-only", action="store_true", help="only the HTTPS figures")
    args = parser.parse_args(argv)
    why = available(args.board)
    if why:
        print("error: %s" % why, file=sys.stderr)
        return 1
    try:
        if args.tls_only:
            print(format_tls(bench_tls(args.board, qemu=args.qemu)))
        else:
            print(format_bench(bench(args.board, args.requests, qemu=args.qemu, tls=False if args.no_tls else None)))
    except EmulatedBenchError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
