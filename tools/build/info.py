"""What a build leaves behind: build-info.json (sizes, versions, source), the size checks and
the table ``make size`` prints.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional, Sequence, Tuple

from tools.build.base import BuildError, sha256_file
from tools.build.plan import ROOT, Plan, port
from tools.selection import boards as B

#: Output lines that mean "the image is too big for its partition".
OVERFLOW = re.compile(
    r"overflows allocated space of (\d+) bytes by (\d+) bytes|region .?FLASH.? overflowed by (\d+) bytes"
)


def overflow_message(board: B.Board, text: str) -> Optional[str]:
    """The one-line error for a build log that shows a full partition, else None."""
    match = OVERFLOW.search(text)
    if not match:
        return None
    if match.group(1):
        size, over = int(match.group(1)), int(match.group(2))
        what = "its %d-byte app partition by %d bytes" % (size, over)
    else:
        what = "the flash region by %s bytes" % match.group(3)
    return (
        "The firmware for %s overflows %s: freeze fewer extensions (EXTENSIONS=\"...\"; `make check "
        "BOARD=%s` shows each module's size) or leave the app out of the image." % (board.name, what, board.name)
    )


def size_check(board: B.Board, image_bytes: int) -> None:
    part = board.app_partition_size
    if part is not None and image_bytes > part:
        raise BuildError(
            "The firmware for %s is %d bytes but its app partition holds %d (over by %d): freeze "
            "fewer extensions (EXTENSIONS=\"...\"; `make check BOARD=%s` shows each module's size) "
            "or leave the app out of the image." % (board.name, image_bytes, part, image_bytes - part, board.name)
        )


def app_image(board: B.Board, build_dir: Path) -> Path:
    """The file whose size counts against the app partition (the port module says which)."""
    return port(board).app_image(board, build_dir)


def read_mpversion(build_dir: Path) -> Optional[str]:
    """MicroPython's version as the build recorded it (genhdr/mpversion.h)."""
    for path in sorted(build_dir.glob("**/genhdr/mpversion.h"))[:1]:
        text = path.read_text(encoding="utf-8", errors="replace")
        tag = re.search(r'MICROPY_GIT_TAG "([^"]+)"', text)
        if tag:
            return tag.group(1)
    return None


def read_idf_version(build_dir: Path) -> Optional[str]:
    try:
        data = json.loads((build_dir / "project_description.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get("git_revision") or data.get("idf_ver")
    return str(version) if version else None


def frozen_sizes(sources: Sequence[Tuple[Path, str]], build_dir: Path, root: Path) -> List[dict]:
    """Our frozen modules with source and compiled (.mpy) sizes, as the build made them."""
    mpy_dirs = sorted(build_dir.glob("**/frozen_mpy"))
    rows = []
    for source, module in sources:
        mpy = None
        for d in mpy_dirs:
            candidate = d / (module[:-3] + ".mpy")
            if candidate.is_file():
                mpy = candidate.stat().st_size
                break
        try:
            shown = source.resolve().relative_to(root).as_posix()
        except ValueError:
            shown = str(source)
        rows.append(
            {"module": module, "source": shown, "source_bytes": source.stat().st_size, "mpy_bytes": mpy}
        )
    return rows


def build_info(
    plan: Plan,
    sources: Sequence[Tuple[Path, str]],
    root: Path,
    started: float,
    finished: float,
    app: Optional[str] = None,
) -> dict:
    board = plan.board
    out = plan.build_dir / PurePosixPath(board.build_output).name
    image = app_image(board, plan.build_dir)
    image_bytes = image.stat().st_size
    part = board.app_partition_size
    idf = None
    if board.port == "esp32":
        idf = read_idf_version(plan.build_dir) or plan.versions.get("idf")
    return {
        "board": board.name,
        "port": board.port,
        "mcu": board.mcu,
        "micropython_version": read_mpversion(plan.build_dir) or plan.versions.get("micropython"),
        "idf_version": idf,
        "extensions": list(plan.extensions),
        "app": app,
        "frozen_modules": frozen_sizes(sources, plan.build_dir, root),
        "firmware": board.firmware,
        "firmware_bytes": out.stat().st_size,
        "image_bytes": image_bytes,
        "partition_bytes": part,
        "free_bytes": (part - image_bytes) if part is not None else None,
        "sha256": sha256_file(out),
        "flash_offset": board.flash_offset,
        "build_mode": plan.mode,
        "image": plan.image.tag if plan.image else None,
        "built_at": datetime.datetime.fromtimestamp(finished, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "build_seconds": round(finished - started, 1),
    }


def format_size(info: dict) -> str:
    """The table ``make size`` prints."""
    lines = [
        "%s (%s, MicroPython %s%s)"
        % (
            info["board"],
            info["port"],
            info.get("micropython_version") or "?",
            ", ESP-IDF %s" % info["idf_version"] if info.get("idf_version") else "",
        ),
        "  %-28s %10s %10s" % ("frozen module", "source", ".mpy"),
    ]
    total = 0
    for row in info.get("frozen_modules", []):
        mpy = row.get("mpy_bytes")
        total += mpy or 0
        lines.append("  %-28s %10d %10s" % (row["module"], row["source_bytes"], mpy if mpy is not None else "?"))
    lines.append("  %-28s %10s %10d" % ("total (kit)", "", total))
    lines.append("  %-28s %10d" % ("image", info["image_bytes"]))
    if info.get("partition_bytes") is not None:
        part = info["partition_bytes"]
        lines.append("  %-28s %10d" % ("app partition", part))
        lines.append(
            "  %-28s %10d  (%.1f%% used)" % ("free", info["free_bytes"], 100.0 * info["image_bytes"] / part)
        )
    lines.append("  %-28s %s" % ("sha256", info["sha256"]))
    lines.append("  %-28s %s" % ("built", info["built_at"]))
    return "\n".join(lines)


def show_size(board_name: str, root: Path = ROOT) -> str:
    try:
        board = B.load_board(board_name, root)
    except B.BoardError as exc:
        raise BuildError(str(exc))
    path = Path(root) / "firmware" / board.name / "build-info.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise BuildError("No firmware for %s yet: run `make BOARD=%s firmware` first." % (board.name, board.name))
    except ValueError:
        raise BuildError("'%s' is damaged: run `make BOARD=%s firmware` again." % (path, board.name))
    return format_size(info)


def source_state(root: Path) -> Dict[str, object]:
    """The commit a build comes from and its SOURCE_DATE_EPOCH (the commit's time, unless the
    environment sets one), so two builds of one commit embed the same date."""
    state: Dict[str, object] = {"commit": None, "dirty": None, "source_date_epoch": None}

    def git(*args: str) -> Optional[str]:
        try:
            res = subprocess.run(["git", "-C", str(root)] + list(args), capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    state["commit"] = git("rev-parse", "HEAD")
    if state["commit"]:
        status = git("status", "--porcelain", "--untracked-files=no", "--", "src", "manifests", "boards")
        state["dirty"] = bool(status) if status is not None else None
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env and env.isdigit():
        state["source_date_epoch"] = int(env)
    elif state["commit"]:
        stamp = git("log", "-1", "--format=%ct", "HEAD")
        state["source_date_epoch"] = int(stamp) if stamp and stamp.isdigit() else None
    return state


def rebuild_command(board: B.Board, extensions: Sequence[str], app: Optional[str], freeze_main: bool) -> str:
    """The make command that builds the same selection again."""
    parts = ["make", "BOARD=%s" % board.name, "firmware", 'EXTENSIONS="%s"' % (" ".join(extensions) or "none")]
    if app:
        parts.append("APP=%s" % app)
    if freeze_main:
        parts.append("FREEZE_MAIN=1")
    return " ".join(parts)
