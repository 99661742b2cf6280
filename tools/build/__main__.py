"""Build MicroPython firmware with the Microdot kit frozen in: ``make BOARD=X firmware``.

``python -m tools.build --board ESP32_GENERIC [--extensions "websocket sse"] [--app DIR]
[--freeze-main] [--micropy-dir DIR] [--native] [--variant V] [--ota]`` writes
``firmware/<BOARD>/``: the image (``firmware.bin`` / ``firmware.uf2`` / ``micropython``),
``build-info.json`` and ``build.log``. ``--size`` prints the sizes of the last build,
``--dry-run`` the checks and commands of a build without running anything (no Docker needed),
``--matrix`` which boards CI builds and how (tools/build/matrix.py).

Three ways to build, all running the port's own ``make`` with ``FROZEN_MANIFEST``:

* Docker (default): the image for the port (see ``Dockerfile``) holds the toolchain and a
  MicroPython clone; the project is mounted read-only at ``/project`` and the port's build
  folder lives in ``firmware/.cache/`` on the host, so a rebuild only re-freezes.
* Docker with ``--micropy-dir`` (``MICROPY_DIR=``): the ``<port>-toolchain`` image plus your
  checkout, mounted at its own path.
* ``--native`` (``NATIVE=1``): on the host, in your checkout; the host needs the toolchain.

Outputs are assembled in ``firmware/<BOARD>/.build/`` and renamed into place only after the
build and the size check passed; a failed build leaves just ``build.log`` behind.

The package, bottom up (no module imports one above it): base (BuildError, Step) -> checkout
(versions, submodules, host tools) -> the ports (unix, rp2, qemu, esp32) -> docker -> plan (the
pure plan, build-folder state) -> info (build-info.json, sizes) -> run (build()) -> matrix (CI)
-> __main__ (this command line).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from tools.build.base import BuildError
from tools.build.info import show_size
from tools.build.matrix import ci_matrix, github_output
from tools.build.plan import ROOT
from tools.build.run import build, describe, prepare


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build", description=__doc__.split("\n")[0])
    parser.add_argument("--board", help="board folder name under boards/")
    parser.add_argument("--extensions", default=None, help='"websocket sse", "none", or a bundle (default: board.json)')
    parser.add_argument("--app", default=None, help="freeze this app folder/module too")
    parser.add_argument("--freeze-main", action="store_true", help="freeze the app's main.py as well")
    parser.add_argument("--micropy-dir", default=os.environ.get("MICROPY_DIR") or None, help="your MicroPython checkout")
    parser.add_argument("--native", action="store_true", help="build on the host, without Docker")
    parser.add_argument("--variant", default=None, help="esp32: BOARD_VARIANT (default: board.json's)")
    parser.add_argument("--ota", action="store_true", help="esp32: build the OTA variant (two app slots) for `make ota FIRMWARE=1`")
    parser.add_argument("--size", action="store_true", help="print the sizes of the last build and exit")
    parser.add_argument("--dry-run", action="store_true", help="check and print what the build would run; run nothing")
    parser.add_argument("--matrix", action="store_true", help="print which boards CI builds how, as $GITHUB_OUTPUT lines")
    parser.add_argument("--network", default=None, help="Docker network for builds (env DOCKER_NETWORK)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel compile jobs (default: CPU count)")
    args = parser.parse_args(argv)
    try:
        if args.matrix:
            print(github_output(ci_matrix()))
            return 0
        if not args.board:
            raise BuildError("Which board? Pass --board NAME (make BOARD=NAME firmware); `make boards` lists them.")
        if args.size:
            print(show_size(args.board))
            return 0
        options = dict(extensions=args.extensions, app=args.app, freeze_main=args.freeze_main,
                       micropy_dir=args.micropy_dir, native=args.native, network=args.network,
                       jobs=args.jobs, variant=args.variant, ota=args.ota)
        if args.dry_run:
            print(describe(prepare(args.board, **options)))
            return 0
        path, info = build(args.board, **options)
    except BuildError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    rel = path.relative_to(ROOT) if ROOT in path.parents else path
    print("Built %s (%d bytes, sha256 %s...)." % (rel, info["firmware_bytes"], info["sha256"][:12]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
