"""Running a build: ``prepare()`` makes every check a build makes before it starts and computes
its plan (tools.build.plan) - ``describe()`` prints it for ``--dry-run`` - and ``build()`` carries
the plan out in Docker or on the host, logs every step to firmware/<BOARD>/build.log and moves
the results into place.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Dict, List, Optional, Tuple

from tools import host
from tools.build import docker as D
from tools.build import esp32, rp2
from tools.build.base import BuildError, Step
from tools.build.checkout import check_checkout, check_native_tools
from tools.build.info import build_info, format_size, overflow_message, rebuild_command, size_check, source_state
from tools.build.plan import (
    FROZEN_STAMP, ROOT, STAMP, Plan, build_dir_name, check_host_only, config_signature, frozen_selection,
    make_plan, port, refreeze_if_needed, reset_build, stale_build, step_run_spec)
from tools.manifest import frozen as M
from tools.selection import appdeps
from tools.selection import boards as B

#: How each plan mode is named in the log.
MODES = {"docker": "Docker", "docker-checkout": "Docker + your checkout", "native": "the host toolchain"}


class Log:
    """Prints lines and keeps them in build.log; remembers the tail for error messages."""

    def __init__(self, path: Path, echo: Callable[[str], None] = print):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.file = open(path, "w", encoding="utf-8")
        self.echo = echo
        self.tail: List[str] = []

    def __call__(self, line: str) -> None:
        self.file.write(line + "\n")
        self.file.flush()
        self.echo(line)
        self.tail.append(line)
        del self.tail[:-200]

    def quiet(self, line: str) -> None:
        """Only into build.log (for what the caller prints anyway, like the final error)."""
        self.file.write(line + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def run_native(step: Step, log: Log, env: Optional[Dict[str, str]] = None) -> int:
    try:
        proc = subprocess.Popen(step.argv, cwd=step.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=dict(os.environ, **env) if env else None)
    except OSError as exc:
        raise BuildError("Cannot run `%s`: %s; install it or fix PATH." % (step.argv[0], exc.strerror))
    try:
        for line in D._lines(iter(lambda: proc.stdout.read1(4096), b"")):
            log(line)
    finally:
        proc.stdout.close()
        code = proc.wait()
    return code


def ensure_image(engine: D.Engine, spec: D.ImageSpec, log: Log) -> bool:
    """Build the image unless one built from the same Dockerfile stages exists. True if built."""
    labels = engine.image_labels(spec.tag)
    wanted = spec.labels.get(D.DOCKERFILE_LABEL)
    if labels is not None and (wanted is None or labels.get(D.DOCKERFILE_LABEL) == wanted):
        log("Reusing image %s" % spec.tag)
        return False
    log("Building image %s (target %s; the first time takes a while)" % (spec.tag, spec.target))
    log("$ " + D.command_line(D.build_argv(spec)))
    engine.build(spec, log)
    return True


def _default_user() -> Optional[str]:
    if hasattr(os, "getuid"):
        return "%d:%d" % (os.getuid(), os.getgid())
    return None


@dataclass
class Prepared:
    """A build checked and planned, before anything is written or run."""
    board: B.Board
    names: List[str]  # the frozen extensions
    sources: List[Tuple[Path, str]]  # our frozen modules
    app: Optional[str]  # the app folder frozen in, if any
    freeze_main: bool
    checkout: Optional[Path]
    root: Path
    plan: Plan
    notes: List[str]


def prepare(
    board_name: str,
    extensions=None,
    app: Optional[str] = None,
    freeze_main: bool = False,
    micropy_dir: Optional[str] = None,
    native: bool = False,
    root: Path = ROOT,
    network: Optional[str] = None,
    micropy_version: Optional[str] = None,
    idf_version: Optional[str] = None,
    jobs: Optional[int] = None,
    echo: Callable[[str], None] = print,
    variant: Optional[str] = None,
    ota: bool = False,
) -> Prepared:
    """Every check a build makes before it starts, and its plan; no Docker engine needed.

    What ``--dry-run`` prints; a board it refuses is one ``make firmware`` would refuse."""
    micropy_version = micropy_version or os.environ.get("MICROPY_VERSION") or host.MICROPYTHON_TAG
    idf_version = idf_version or os.environ.get("IDF_VERSION") or host.IDF_VERSION
    network = network or os.environ.get("DOCKER_NETWORK") or None
    root = Path(root).resolve()
    try:
        board = B.load_board(board_name, root)
        if ota:
            board, variant = esp32.ota_board(board, variant, micropy_version), None
        names, added, frozen_app = appdeps.selection(board, extensions, app, freeze_main, root)
        if app is not None:
            echo("APP %s imports %s%s." % (
                app, ", ".join(added) or "nothing beyond the selection",
                " from the kit: added to the frozen extensions" if added else ""))
            if frozen_app is None:
                echo("APP %s has only main.py: not frozen (deploy it with `make deploy APP=%s`, or "
                     "pass FREEZE_MAIN=1)." % (app, app))
        app = frozen_app
        sources = M.frozen_sources(board, names, app, freeze_main, root)
    except B.BoardError as exc:
        raise BuildError(str(exc))
    checkout = Path(micropy_dir).expanduser().resolve() if micropy_dir else None
    if checkout is not None:
        check_checkout(board, checkout, micropy_version)
    check_host_only(board, native, micropy_version)
    notes: List[str] = []
    board = esp32.esp32_board(board, variant, checkout, native, micropy_version, notes.append)
    if native:
        check_native_tools(board)
    elif app is not None:
        try:
            Path(app).resolve().relative_to(root)
        except ValueError:
            raise BuildError(
                "APP '%s' is outside the project, which is all the build container sees: move it "
                "under %s (e.g. examples/) or build with NATIVE=1." % (app, root)
            )
    digest = None
    if not native:
        try:
            text = (root / "Dockerfile").read_text(encoding="utf-8")
        except OSError:
            raise BuildError("There is no Dockerfile in '%s'; restore it from git." % root)
        try:
            digest = D.dockerfile_digest(text, board.port + ("-toolchain" if checkout else ""))
        except D.DockerError as exc:
            raise BuildError(str(exc))
    plan = make_plan(
        board,
        names,
        root,
        checkout,
        native,
        jobs,
        micropy_version,
        idf_version,
        network,
        _default_user() if not native else None,
        digest,
    )
    plan.versions = {"micropython": micropy_version, "idf": idf_version if board.port == "esp32" else None}
    return Prepared(board, names, list(sources), app, freeze_main, checkout, root, plan, notes)


def describe(prep: Prepared) -> str:
    """What a build would run, one line a step (``--dry-run``)."""
    plan = prep.plan
    lines = ["%s (%s) with %s; extensions: %s" % (
        prep.board.name, prep.board.port, MODES[plan.mode], " ".join(prep.names) or "(core only)")]
    lines += prep.notes
    if plan.image is not None:
        lines.append("image %s (target %s)" % (plan.image.tag, plan.image.target))
    for step in plan.steps:
        argv = D.run_argv(step_run_spec(plan, step)) if plan.run is not None else step.argv
        lines.append("%s: %s" % (step.name, D.command_line(argv)))
    lines.append("outputs: %s" % ", ".join(
        [prep.board.firmware] + port(prep.board).outputs(prep.board) + ["build-info.json", "build.log"]))
    return "\n".join(lines)


def build(
    board_name: str,
    extensions=None,
    app: Optional[str] = None,
    freeze_main: bool = False,
    micropy_dir: Optional[str] = None,
    native: bool = False,
    root: Path = ROOT,
    engine: Optional[D.Engine] = None,
    network: Optional[str] = None,
    micropy_version: Optional[str] = None,
    idf_version: Optional[str] = None,
    jobs: Optional[int] = None,
    echo: Callable[[str], None] = print,
    variant: Optional[str] = None,
    ota: bool = False,
) -> Tuple[Path, dict]:
    """Build ``board_name``; return (firmware path, build-info). Raises BuildError.

    ``ota`` builds the board's OTA variant (board.json ``ota_variant``: two app slots), whose
    firmware/<BOARD>/micropython.bin `make ota FIRMWARE=1` sends."""
    started = time.time()
    prep = prepare(board_name, extensions, app, freeze_main, micropy_dir, native, root, network,
                   micropy_version, idf_version, jobs, echo, variant, ota)
    board, names, sources, app, checkout, root = (
        prep.board, prep.names, prep.sources, prep.app, prep.checkout, prep.root)
    plan, notes = prep.plan, prep.notes
    if plan.image is not None and engine is None:
        try:
            engine = D.connect()
        except D.DockerError as exc:
            raise BuildError(str(exc))
    source = source_state(root)
    build_env = {}
    if source["source_date_epoch"] is not None:
        build_env["SOURCE_DATE_EPOCH"] = str(source["source_date_epoch"])
        if plan.run is not None:
            plan.run.environment.update(build_env)

    out_dir, stage = plan.out_dir, plan.stage_dir
    if stage.exists():
        shutil.rmtree(str(stage))
    log = Log(stage / "build.log", echo)
    ok = False
    total = len(plan.steps) + (1 if plan.image else 0) + 2
    number = [0]

    def header(title: str) -> float:
        number[0] += 1
        log("==> [%d/%d] %s" % (number[0], total, title))
        return time.time()

    def done(t0: float) -> None:
        log("    done in %.1f s" % (time.time() - t0))

    current = "manifest"
    try:
        log(
            "Building %s (%s) with %s; extensions: %s%s"
            % (
                board.name,
                board.port,
                MODES[plan.mode],
                " ".join(names) or "(core only)",
                "; app: %s" % app if app else "",
            )
        )
        for note in notes:
            log(note)
        t0 = header("Writing the frozen manifest")
        M.write_manifest(board, names, plan.manifest, app, freeze_main, root)
        log("    %s (%d modules of ours)" % (plan.manifest.relative_to(root), len(sources)))
        done(t0)
        if plan.image is not None:
            current = "image"
            t0 = header("Toolchain image %s" % plan.image.tag)
            ensure_image(engine, plan.image, log)
            done(t0)
        plan.build_dir.mkdir(parents=True, exist_ok=True)
        esp32.write_wrapper(board, root)  # MicroPython's esp32 board folder + the kit's sdkconfig
        rp2.write_wrapper(board, root)  # MicroPython's rp2 board folder + its ROMFS area
        if plan.mode == "docker-checkout":
            # Bind-mount targets inside your checkout: create them as you, not as the engine.
            (plan.build_dir.parent / "mpy-cross").mkdir(parents=True, exist_ok=True)
            (checkout / "mpy-cross" / "build").mkdir(parents=True, exist_ok=True)
            (checkout / "ports" / board.port / build_dir_name(board)).mkdir(parents=True, exist_ok=True)
        selection = frozen_selection(plan.manifest, board, sources, root)
        if refreeze_if_needed(plan.build_dir, selection):
            log("    the frozen selection changed since the last build: regenerating frozen_content.c")
        signature = config_signature(plan)
        if stale_build(plan.build_dir, signature) and reset_build(board, plan.build_dir):
            log("    %s was built with other settings: %s" % (
                plan.build_dir, "cmake reconfigures" if board.port == "rp2" else "building from scratch"))
        idf_path = os.environ.get("IDF_PATH") if plan.mode == "native" else None
        for step in plan.steps:
            current = step.name
            if step.name == "firmware":
                blobs = esp32.blobs_message(board, idf_path)
                if blobs:
                    raise BuildError(blobs)
            t0 = header(step.title)
            if plan.run is not None:
                spec = step_run_spec(plan, step)
                log("$ " + D.command_line(D.run_argv(spec)))
                code = engine.run(spec, log)
            else:
                log("$ " + D.command_line(step.argv))
                code = run_native(step, log, build_env)
            if code != 0:
                overflow = overflow_message(board, "\n".join(log.tail))
                if overflow:
                    raise BuildError(overflow)
                blobs = esp32.blobs_message(board, idf_path, "\n".join(log.tail))
                if blobs:
                    raise BuildError(blobs)
                raise BuildError(
                    "Step '%s' failed (exit %d) building %s: see the output above; the full log "
                    "is in %s." % (step.name, code, board.name, (out_dir / "build.log").relative_to(root))
                )
            done(t0)
        (plan.build_dir / STAMP).write_text(signature, encoding="utf-8")
        (plan.build_dir / FROZEN_STAMP).write_text(selection, encoding="utf-8")
        current = "collect"
        t0 = header("Checking sizes and collecting %s" % board.firmware)
        produced = plan.build_dir / PurePosixPath(board.build_output).name
        if not produced.is_file():
            raise BuildError(
                "The build finished but '%s' is missing: see %s and report it."
                % (produced, (out_dir / "build.log").relative_to(root))
            )
        info = build_info(plan, sources, root, started, time.time(), app)
        info["source"] = source
        info["rebuild"] = rebuild_command(board, names, app, freeze_main)
        info["make"] = plan.steps[-1].argv
        size_check(board, info["image_bytes"])
        info.update(port(board).collect(board, plan.build_dir, stage, log))
        shutil.copy2(str(produced), str(stage / board.firmware))
        (stage / "build-info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        log(format_size(info))
        done(t0)
        ok = True
    except D.DockerError as exc:
        msg = str(exc)
        if current == "image":
            msg += (
                " Check the network (building the image pulls its base image and clones MicroPython "
                "from GitHub), or build with your checkout: MICROPY_DIR=/path/to/micropython [NATIVE=1]."
            )
        log.quiet("error in step '%s': %s" % (current, msg))
        raise BuildError(msg)
    except BuildError as exc:
        log.quiet("error in step '%s': %s" % (current, exc))
        raise
    except B.BoardError as exc:
        raise BuildError(str(exc))
    except KeyboardInterrupt:
        log("interrupted during step '%s'" % current)
        raise BuildError("Interrupted during step '%s'; nothing was changed in %s." % (current, out_dir.relative_to(root)))
    finally:
        log.close()
        _finish(stage, out_dir, board, ok)
    return out_dir / board.firmware, info


def _finish(stage: Path, out_dir: Path, board: B.Board, ok: bool) -> None:
    """Move the results into firmware/<BOARD>/ (only the log after a failure); drop .build/."""
    names = [board.firmware] + port(board).outputs(board) + ["build-info.json", "build.log"] if ok else ["build.log"]
    for name in names:
        src = stage / name
        if src.exists():
            os.replace(str(src), str(out_dir / name))
    shutil.rmtree(str(stage), ignore_errors=True)
