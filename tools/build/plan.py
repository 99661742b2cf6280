"""The plan of a build (pure): which image or checkout, which mounts, which commands, and the
state kept in the port's build folder (what it was configured with, what was frozen).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional, Sequence, Tuple

from tools import host
from tools.build import docker as D
from tools.build import esp32, qemu, rp2, unix
from tools.build.base import BuildError, Step
from tools.selection import boards as B

ROOT = B.ROOT
#: The port modules, by board.json ``port``.
PORTS = {"esp32": esp32, "qemu": qemu, "rp2": rp2, "unix": unix}
#: Ports with a stage in the Dockerfile (``<port>`` and ``<port>-toolchain``); the others build
#: with NATIVE=1 only.
IMAGE_PORTS = ("esp32", "rp2", "unix")
#: Where the project and the image's MicroPython copy are inside the containers.
PROJECT_MOUNT = "/project"
IMAGE_MICROPY = "/opt/micropython"
IMAGE_PREFIX = "microdot-kit"


@dataclass
class Plan:
    board: B.Board
    mode: str  # "docker", "docker-checkout" or "native"
    extensions: List[str]
    out_dir: Path  # firmware/<BOARD>
    stage_dir: Path  # firmware/<BOARD>/.build
    manifest: Path  # host path of the generated manifest
    frozen_manifest: str  # what FROZEN_MANIFEST says (container or host path)
    micropy: str  # the checkout where the commands run (container or host path)
    build_dir: Path  # host path of the port's build folder
    steps: List[Step]
    image: Optional[D.ImageSpec] = None
    run: Optional[D.RunSpec] = None  # container settings; command filled per step
    versions: Dict[str, Optional[str]] = field(default_factory=dict)


def build_dir_name(board: B.Board) -> str:
    """The port's build folder name, e.g. build-ESP32_GENERIC or build-standard."""
    return str(PurePosixPath(board.build_output).parent)


def port(board: B.Board):
    """The module of tools/build that knows ``board``'s port (tools/build/unix.py lists what it answers)."""
    try:
        return PORTS[board.port]
    except KeyError:
        raise BuildError("%s has port '%s', which the kit cannot build; use one of %s in board.json."
                         % (board.name, board.port, ", ".join(sorted(PORTS))))


def port_make_argv(
    board: B.Board, micropy: str, frozen_manifest: str, jobs: int, board_dir: Optional[str] = None
) -> List[str]:
    """The port's make command line (``board_dir``: BOARD_DIR= for a board folder of the kit)."""
    return port(board).make_argv(board, micropy, frozen_manifest, jobs, board_dir)


def check_host_only(board: B.Board, native: bool, micropy_version: str = host.MICROPYTHON_TAG) -> None:
    """A port without a build image (qemu) needs NATIVE=1."""
    if board.port not in IMAGE_PORTS and not native:
        raise BuildError(
            "%s (port %s) builds on the host only: pass NATIVE=1 MICROPY_DIR=/path/to/micropython "
            "(a %s clone; needs %s)." % (board.name, board.port, micropy_version, " and ".join(port(board).HOST_PACKAGES))
        )


def mpy_cross_argv(micropy: str, jobs: int) -> List[str]:
    return ["make", "-C", "%s/mpy-cross" % micropy.rstrip("/"), "-j%d" % jobs]


def image_tag(port: str, micropy_version: str, idf_version: str, toolchain: bool) -> str:
    if toolchain:
        suffix = "idf-%s" % idf_version if port == "esp32" else "bookworm"
        return "%s/%s-toolchain:%s" % (IMAGE_PREFIX, port, suffix)
    suffix = micropy_version + ("-idf-%s" % idf_version if port == "esp32" else "")
    return "%s/%s:%s" % (IMAGE_PREFIX, port, suffix)


def image_spec(
    board: B.Board,
    dockerfile: Path,
    micropy_version: str = host.MICROPYTHON_TAG,
    idf_version: str = host.IDF_VERSION,
    toolchain: bool = False,
    network: Optional[str] = None,
    digest: Optional[str] = None,
) -> D.ImageSpec:
    """Which image (target, tag, build arguments) builds ``board``."""
    target = board.port + ("-toolchain" if toolchain else "")
    args = {"MICROPY_VERSION": micropy_version}
    if board.port == "esp32":
        args["IDF_VERSION"] = idf_version
    labels = {D.DOCKERFILE_LABEL: digest} if digest else {}
    return D.ImageSpec(
        tag=image_tag(board.port, micropy_version, idf_version, toolchain),
        target=target,
        dockerfile=dockerfile,
        buildargs=args,
        labels=labels,
        network=network,
    )


def cache_key(board: B.Board, micropy_version: str, idf_version: str, checkout: Optional[Path]) -> str:
    """Folder name under firmware/.cache/ for the port's build folders of one toolchain."""
    if checkout is not None:
        tag = hashlib.sha1(str(checkout).encode("utf-8")).hexdigest()[:8]
        base = "%s-checkout-%s" % (board.port, tag)
    else:
        base = "%s-%s" % (board.port, micropy_version)
    if board.port == "esp32":
        base += "-idf-%s" % idf_version
    return base


def container_path(host: Path) -> str:
    """Where a host path of the user's checkout appears in the container (the same path)."""
    return Path(host).resolve().as_posix()


def make_plan(
    board: B.Board,
    extensions: List[str],
    root: Path = ROOT,
    micropy_dir: Optional[Path] = None,
    native: bool = False,
    jobs: Optional[int] = None,
    micropy_version: str = host.MICROPYTHON_TAG,
    idf_version: str = host.IDF_VERSION,
    network: Optional[str] = None,
    user: Optional[str] = None,
    digest: Optional[str] = None,
) -> Plan:
    """Everything a build runs, computed without touching the disk or Docker."""
    jobs = jobs or os.cpu_count() or 2
    out_dir = root / "firmware" / board.name
    stage_dir = out_dir / ".build"
    manifest = stage_dir / "manifest.py"
    build_name = build_dir_name(board)
    steps: List[Step] = []
    if native:
        if micropy_dir is None:
            raise BuildError(
                "NATIVE=1 builds in your MicroPython checkout: pass MICROPY_DIR=/path/to/micropython "
                "(a clone at %s with the %s port's submodules)." % (micropy_version, board.port)
            )
        micropy = str(Path(micropy_dir).resolve())
        frozen = str(manifest.resolve())
        steps.append(Step("mpy-cross", "Building mpy-cross", mpy_cross_argv(micropy, jobs)))
        steps.append(
            Step(
                "firmware",
                "Building the %s port" % board.port,
                port_make_argv(board, micropy, frozen, jobs, esp32.kit_board_dir(board, root, None) or rp2.kit_board_dir(board, root, None)),
            )
        )
        steps += port(board).steps(board, str(Path(micropy) / "ports" / board.port / build_name))
        return Plan(
            board=board,
            mode="native",
            extensions=extensions,
            out_dir=out_dir,
            stage_dir=stage_dir,
            manifest=manifest,
            frozen_manifest=frozen,
            micropy=micropy,
            build_dir=Path(micropy) / "ports" / board.port / build_name,
            steps=steps,
        )

    check_host_only(board, native, micropy_version)
    rel_manifest = manifest.relative_to(root).as_posix()
    frozen = "%s/%s" % (PROJECT_MOUNT, rel_manifest)
    checkout = Path(micropy_dir).resolve() if micropy_dir is not None else None
    cache = root / "firmware" / ".cache" / cache_key(board, micropy_version, idf_version, checkout)
    build_dir = cache / board.name
    mounts = [D.Mount(str(root), PROJECT_MOUNT, read_only=True)]
    if checkout is not None:
        micropy = container_path(checkout)
        mounts.append(D.Mount(str(checkout), micropy))
        # Keep the container's builds apart from the host's (other compilers, other libc).
        mounts.append(D.Mount(str(cache / "mpy-cross"), "%s/mpy-cross/build" % micropy))
        steps.append(Step("mpy-cross", "Building mpy-cross", mpy_cross_argv(micropy, jobs)))
    else:
        micropy = IMAGE_MICROPY
    mounts.append(D.Mount(str(build_dir), "%s/ports/%s/%s" % (micropy, board.port, build_name)))
    steps.append(
        Step(
            "firmware",
            "Building the %s port" % board.port,
            port_make_argv(board, micropy, frozen, jobs, esp32.kit_board_dir(board, root, PROJECT_MOUNT) or rp2.kit_board_dir(board, root, PROJECT_MOUNT)),
        )
    )
    steps += port(board).steps(board, "%s/ports/%s/%s" % (micropy, board.port, build_name))
    image = image_spec(
        board,
        root / "Dockerfile",
        micropy_version,
        idf_version,
        toolchain=checkout is not None,
        network=network,
        digest=digest,
    )
    run = D.RunSpec(
        image=image.tag,
        command=[],
        mounts=mounts,
        workdir=micropy,
        environment={"HOME": "/tmp"},
        user=user,
        network=network,
    )
    return Plan(
        board=board,
        mode="docker-checkout" if checkout is not None else "docker",
        extensions=extensions,
        out_dir=out_dir,
        stage_dir=stage_dir,
        manifest=manifest,
        frozen_manifest=frozen,
        micropy=micropy,
        build_dir=build_dir,
        steps=steps,
        image=image,
        run=run,
    )


def step_run_spec(plan: Plan, step: Step) -> D.RunSpec:
    """The container that runs ``step`` of a Docker plan."""
    if plan.run is None:
        raise BuildError("Step '%s' is not a container step." % step.name)
    return D.RunSpec(
        image=plan.run.image,
        command=list(step.argv),
        mounts=list(plan.run.mounts),
        workdir=plan.run.workdir,
        environment=dict(plan.run.environment),
        user=plan.run.user,
        network=plan.run.network,
    )

STAMP = ".kit-config"


def config_signature(plan: Plan) -> str:
    """What the port's build folder was set up with, where make alone would miss a change.

    The make arguments (unix make does not notice changed ones), the manifest path where
    the port's folder caches it (``CACHES_MANIFEST``: rp2's cmake), and what the port module's
    ``config_inputs`` adds (esp32: its sdkconfig files, which ESP-IDF alone would not reapply).
    """
    make = [s for s in plan.steps if s.name == "firmware"][-1]
    argv = [a for a in make.argv[3:] if not a.startswith(("-j", "FROZEN_MANIFEST="))]
    data = {"make": argv}
    if port(plan.board).CACHES_MANIFEST:
        data["manifest"] = plan.frozen_manifest
    data.update(getattr(port(plan.board), "config_inputs", lambda board: {})(plan.board))  # esp32: sdkconfig files
    return json.dumps(data, sort_keys=True)


def stale_build(build_dir: Path, signature: str) -> bool:
    """True when the build folder holds a build made with other settings (or by someone else)."""
    try:
        entries = [p for p in build_dir.iterdir() if p.name != STAMP]
    except OSError:
        return False
    if not entries:
        return False
    try:
        return (build_dir / STAMP).read_text(encoding="utf-8") != signature
    except OSError:
        return True


def reset_build(board: B.Board, build_dir: Path) -> List[str]:
    """Make a stale build folder safe to reuse; return what was removed."""
    removed = []
    for name in port(board).reset_names(build_dir):
        path = build_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(str(path))
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(name)
    return removed

FROZEN_STAMP = ".kit-frozen"


def frozen_selection(manifest: Path, board: B.Board, sources: Sequence[Tuple[Path, str]], root: Path) -> str:
    """A hash of what decides the frozen set: the manifests and our module list.

    MicroPython's makemanifest only rewrites frozen_content.c (and a module's frozen_mpy/*.mpy)
    when a frozen file is newer than it, so dropping an extension, or a source whose mtime went
    back (a checkout of an older commit), would leave old code in the image; a changed selection
    therefore deletes both before the build. The sources' contents count, not their mtimes.
    """
    h = hashlib.sha256()
    fragments = sorted((root / "manifests").glob("*/manifest.py"))
    for path in [manifest, board.manifest] + fragments:
        h.update(path.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for path, module in sources:
        h.update(module.encode() + b"\0")
        try:
            h.update(hashlib.sha256(Path(path).read_bytes()).digest())
        except OSError:
            h.update(b"missing")
    return h.hexdigest()


def refreeze_if_needed(build_dir: Path, selection: str) -> bool:
    """Delete frozen_content.c and the compiled frozen_mpy/ folders when the frozen selection
    changed (or is unknown). True if anything was deleted."""
    content = build_dir / "frozen_content.c"
    try:
        same = (build_dir / FROZEN_STAMP).read_text(encoding="utf-8") == selection
    except OSError:
        same = False
    mpy_dirs = [d for d in build_dir.glob("**/frozen_mpy") if d.is_dir()] if build_dir.is_dir() else []
    if same or not (content.exists() or mpy_dirs):
        return False
    if content.exists():
        content.unlink()
    for d in mpy_dirs:
        shutil.rmtree(d, ignore_errors=True)
    return True
