"""The qemu port: bare-metal boards that run under qemu-system-* (QEMU_MPS2_AN385).

It builds natively only: there is no Docker image for it (tools.build.plan.IMAGE_PORTS), and
the port's own default FROZEN_MANIFEST (a test fixture) is replaced by ours. The port
questions are those of tools/build/unix.py.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Callable, List, Optional

from tools.build.base import Step
from tools.selection import boards as B

CACHES_MANIFEST = False
#: Debian/Ubuntu packages of the toolchain a native build needs (the error says so; CI's runner
#: installs them): the one port without a Dockerfile stage names its packages here.
HOST_PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi")


def make_argv(board: B.Board, micropy: str, frozen_manifest: str, jobs: int,
              board_dir: Optional[str] = None) -> List[str]:
    """The qemu port's make command line."""
    port_dir = "%s/ports/qemu" % micropy.rstrip("/")
    return ["make", "-C", port_dir, "-j%d" % jobs, "BOARD=%s" % board.board, "FROZEN_MANIFEST=%s" % frozen_manifest]


def steps(board: B.Board, build_dir: str) -> List[Step]:
    return []


def reset_names(build_dir: Path) -> List[str]:
    return []


def app_image(board: B.Board, build_dir: Path) -> Path:
    return build_dir / PurePosixPath(board.build_output).name


def outputs(board: B.Board) -> List[str]:
    return []


def collect(board: B.Board, build_dir: Path, stage: Path, log: Callable[[str], None]) -> dict:
    return {}
