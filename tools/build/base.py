"""The build step's shared vocabulary: its one error type, a step of a plan, a file's sha256.

The lowest module of tools/build: the ports, the plan and the runner all import it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional


class BuildError(Exception):
    """A build problem, as one sentence saying what to do."""


@dataclass
class Step:
    name: str  # short, used in "step 'firmware' failed"
    title: str  # what the user sees
    argv: List[str]
    cwd: Optional[str] = None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()
