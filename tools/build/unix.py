"""The unix port: the kit's virtual board as a real image (``make BOARD=UNIX firmware``).

Every port module of tools/build answers the same questions for tools.build.plan and
tools.build.run: ``make_argv`` (the port's make command line), ``steps`` (commands after it),
``reset_names`` (what to delete in a build folder configured with other settings),
``CACHES_MANIFEST`` (whether the folder remembers the manifest path), ``app_image`` (the file
whose size counts against the partition), ``outputs`` and ``collect`` (extra files for
firmware/<BOARD>/).
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Callable, List, Optional

from tools.build.base import Step
from tools.selection import boards as B

#: Make arguments of the unix port for the kit's virtual board (keep in step with Dockerfile):
#: no btree (one submodule less). TLS stays on: hashlib.sha1 (WebSocket handshakes) needs mbedtls.
UNIX_MAKE_ARGS = ("MICROPY_PY_BTREE=0",)
#: make does not notice changed make arguments (such as MICROPY_PY_SSL), so objects built with
#: other settings would be linked as they are; the manifest path is passed on every run.
CACHES_MANIFEST = False


def make_argv(board: B.Board, micropy: str, frozen_manifest: str, jobs: int,
              board_dir: Optional[str] = None) -> List[str]:
    port_dir = "%s/ports/unix" % micropy.rstrip("/")
    argv = ["make", "-C", port_dir, "-j%d" % jobs, "VARIANT=%s" % (board.variant or "standard")]
    argv += list(UNIX_MAKE_ARGS)
    return argv + ["FROZEN_MANIFEST=%s" % frozen_manifest]


def steps(board: B.Board, build_dir: str) -> List[Step]:
    return []


def reset_names(build_dir: Path) -> List[str]:
    """Everything: a clean build (the folder itself may be a mount, so it stays)."""
    return sorted(p.name for p in build_dir.iterdir())


def app_image(board: B.Board, build_dir: Path) -> Path:
    return build_dir / PurePosixPath(board.build_output).name


def outputs(board: B.Board) -> List[str]:
    return []


def collect(board: B.Board, build_dir: Path, stage: Path, log: Callable[[str], None]) -> dict:
    return {}
