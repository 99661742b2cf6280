"""The build step's shared vocabulary: its one error type, a step of a plan, a file's sha256.

The lowest module of tools/build: the ports, the plan and the runner all import it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional


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


def write_folder(folder: Path, files: Dict[str, str]) -> Path:
    """Make ``folder`` hold exactly ``files`` (name -> text): a file is written only when its
    text changed (so cmake does not reconfigure for nothing), and other files are removed
    (another variant's). The generated board folders of tools/build/esp32.py and rp2.py."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.name not in files and old.is_file():
            old.unlink()
    for name, text in files.items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return folder


def variant_file(variant: Optional[str], head: str, upstream: str) -> Dict[str, str]:
    """The variant file of a generated board folder: it includes the same file of MicroPython's
    board folder at ``upstream`` (no variant: its optional mpconfigvariant.cmake)."""
    if variant:
        name = "mpconfigvariant_%s.cmake" % variant
        return {name: head + "include(%s/%s)\n" % (upstream, name)}
    return {"mpconfigvariant.cmake": head + "include(%s/mpconfigvariant.cmake OPTIONAL)\n" % upstream}


def in_container(folder: Path, root: Path, mount: Optional[str]) -> str:
    """``folder`` (under ``root``) as the build sees it: itself natively (``mount`` None), else
    under ``mount``, where the project appears in the build container."""
    folder = folder.resolve()
    if mount is None:
        return str(folder)
    return "%s/%s" % (mount, folder.relative_to(Path(root).resolve()).as_posix())
