"""Build MicroPython firmware with the Microdot kit frozen in: ``make BOARD=X firmware``.

``python -m tools.build.builder --board ESP32_GENERIC [--extensions "websocket sse"] [--app DIR]
[--freeze-main] [--micropy-dir DIR] [--native]`` writes ``firmware/<BOARD>/``:
the image (``firmware.bin`` / ``firmware.uf2`` / ``micropython``), ``build-info.json`` and
``build.log``. ``--size`` prints the sizes of the last build.

Three ways to build, all running the port's own ``make`` with ``FROZEN_MANIFEST``:

* Docker (default): the image for the port (see ``Dockerfile``) holds the toolchain and a
  MicroPython clone; the project is mounted read-only at ``/project`` and the port's build
  folder lives in ``firmware/.cache/`` on the host, so a rebuild only re-freezes.
* Docker with ``--micropy-dir`` (``MICROPY_DIR=``): the ``<port>-toolchain`` image plus your
  checkout, mounted at its own path.
* ``--native`` (``NATIVE=1``): on the host, in your checkout; the host needs the toolchain.

Outputs are assembled in ``firmware/<BOARD>/.build/`` and renamed into place only after the
build and the size check passed; a failed build leaves just ``build.log`` behind.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from tools.selection import appdeps
from tools.selection import boards as B
from tools.manifest import frozen as M
from tools.build import docker as D

ROOT = B.ROOT
MICROPY_VERSION = "v1.28.0"
IDF_VERSION = "v5.5.1"
#: Where the project and the image's MicroPython copy are inside the containers.
PROJECT_MOUNT = "/project"
IMAGE_MICROPY = "/opt/micropython"
IMAGE_PREFIX = "microdot-kit"
#: Make arguments of the unix port for the kit's virtual board (keep in step with Dockerfile):
#: no btree (one submodule less). TLS stays on: hashlib.sha1 (WebSocket handshakes) needs mbedtls.
UNIX_MAKE_ARGS = ("MICROPY_PY_BTREE=0",)
#: Submodules each port's build reads (checked in a user's checkout before building).
SUBMODULES = {
    "unix": ("lib/micropython-lib", "lib/mbedtls"),
    "esp32": ("lib/micropython-lib", "lib/berkeley-db-1.xx"),
    "rp2": (
        "lib/micropython-lib",
        "lib/pico-sdk",
        "lib/tinyusb",
        "lib/mbedtls",
        "lib/lwip",
        "lib/cyw43-driver",
        "lib/btstack",
    ),
    "qemu": ("lib/micropython-lib",),
}
#: Host commands a native build needs, per port.
NATIVE_TOOLS = {
    "unix": ("make", "cc", "pkg-config"),
    "rp2": ("make", "cmake", "arm-none-eabi-gcc"),
    "esp32": ("make", "idf.py"),
    "qemu": ("make", "arm-none-eabi-gcc"),
}
#: Output lines that mean "the image is too big for its partition".
OVERFLOW = re.compile(
    r"overflows allocated space of (\d+) bytes by (\d+) bytes|region .?FLASH.? overflowed by (\d+) bytes"
)


class BuildError(Exception):
    """A build problem, as one sentence saying what to do."""


# --------------------------------------------------------------------------------------------
# The plan (pure)


@dataclass
class Step:
    name: str  # short, used in "step 'firmware' failed"
    title: str  # what the user sees
    argv: List[str]
    cwd: Optional[str] = None


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


def port_make_argv(
    board: B.Board, micropy: str, frozen_manifest: str, jobs: int, board_dir: Optional[str] = None
) -> List[str]:
    """The port's make command line (``board_dir``: BOARD_DIR= for a board folder of the kit)."""
    if board.port == "qemu":
        return qemu_make_argv(board, micropy, frozen_manifest, jobs)
    port_dir = "%s/ports/%s" % (micropy.rstrip("/"), board.port)
    argv = ["make", "-C", port_dir]
    if board.port == "unix":
        argv += ["-j%d" % jobs, "VARIANT=%s" % (board.variant or "standard")]
        argv += list(UNIX_MAKE_ARGS)
    else:
        if board.port == "rp2":
            argv.append("-j%d" % jobs)  # esp32: idf.py/ninja runs in parallel by itself
        argv.append("BOARD_DIR=%s" % board_dir if board_dir else "BOARD=%s" % board.board)
        if board.variant:
            argv.append("BOARD_VARIANT=%s" % board.variant)
    argv.append("FROZEN_MANIFEST=%s" % frozen_manifest)
    return argv


def qemu_make_argv(board: B.Board, micropy: str, frozen_manifest: str, jobs: int) -> List[str]:
    """The qemu port's make command line (bare-metal boards run under qemu-system-*).

    It builds natively only: there is no Docker image for it, and the port's own default
    FROZEN_MANIFEST (a test fixture) is replaced by ours.
    """
    port_dir = "%s/ports/qemu" % micropy.rstrip("/")
    return ["make", "-C", port_dir, "-j%d" % jobs, "BOARD=%s" % board.board, "FROZEN_MANIFEST=%s" % frozen_manifest]


def check_host_only(board: B.Board, native: bool, micropy_version: str = MICROPY_VERSION) -> None:
    """The qemu port has no build image: it needs NATIVE=1."""
    if board.port == "qemu" and not native:
        raise BuildError(
            "%s (port qemu) builds on the host only: pass NATIVE=1 MICROPY_DIR=/path/to/micropython "
            "(a %s clone; needs gcc-arm-none-eabi and libnewlib-arm-none-eabi)." % (board.name, micropy_version)
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
    micropy_version: str = MICROPY_VERSION,
    idf_version: str = IDF_VERSION,
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
    micropy_version: str = MICROPY_VERSION,
    idf_version: str = IDF_VERSION,
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
                port_make_argv(board, micropy, frozen, jobs, esp32_board_dir(board, root, None)),
            )
        )
        steps += esp32_steps(board, str(Path(micropy) / "ports" / board.port / build_name))
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
            port_make_argv(board, micropy, frozen, jobs, esp32_board_dir(board, root, PROJECT_MOUNT)),
        )
    )
    steps += esp32_steps(board, "%s/ports/%s/%s" % (micropy, board.port, build_name))
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

    rp2 runs cmake only while its build folder has no Makefile, so the manifest path and board
    are baked into its cache; unix make does not notice changed make arguments (such as
    MICROPY_PY_SSL), so objects built with other settings would be linked as they are.
    """
    make = [s for s in plan.steps if s.name == "firmware"][-1]
    argv = [a for a in make.argv[3:] if not a.startswith(("-j", "FROZEN_MANIFEST="))]
    data = {"make": argv}
    if plan.board.port == "rp2":
        data["manifest"] = plan.frozen_manifest
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
    if board.port == "rp2":
        names = ["Makefile", "CMakeCache.txt"]  # cmake reconfigures, objects stay
    elif board.port == "unix":
        names = sorted(p.name for p in build_dir.iterdir())  # a clean build (the folder may be a mount)
    else:
        return removed  # idf.py passes its -D settings on every run
    for name in names:
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

    MicroPython's makemanifest only rewrites frozen_content.c when a frozen file is newer than
    it, so dropping an extension would leave the old modules in the image; a changed selection
    therefore deletes frozen_content.c before the build.
    """
    h = hashlib.sha256()
    fragments = sorted((root / "manifests").glob("*/manifest.py"))
    for path in [manifest, board.manifest] + fragments:
        h.update(path.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for _, module in sources:
        h.update(module.encode() + b"\0")
    return h.hexdigest()


def refreeze_if_needed(build_dir: Path, selection: str) -> bool:
    """Delete frozen_content.c when the frozen selection changed (or is unknown). True if deleted."""
    content = build_dir / "frozen_content.c"
    try:
        same = (build_dir / FROZEN_STAMP).read_text(encoding="utf-8") == selection
    except OSError:
        same = False
    if same or not content.exists():
        return False
    content.unlink()
    return True


def missing_submodules(board: B.Board, checkout: Path) -> List[str]:
    out = []
    for sub in SUBMODULES[board.port]:
        path = checkout / sub
        if not path.is_dir() or not any(path.iterdir()):
            out.append(sub)
    return out


def missing_tools(board: B.Board, which: Callable[[str], Optional[str]] = shutil.which) -> List[str]:
    return [tool for tool in NATIVE_TOOLS[board.port] if which(tool) is None]


def check_checkout(board: B.Board, checkout: Path, micropy_version: str = MICROPY_VERSION) -> None:
    if not (checkout / "py" / "mpconfig.h").is_file():
        raise BuildError(
            "MicroPython checkout '%s' not found (no py/mpconfig.h there): pass MICROPY_DIR= the "
            "folder of a micropython clone at %s." % (checkout, micropy_version)
        )
    missing = missing_submodules(board, checkout)
    if missing:
        target = "BOARD=%s " % board.board if board.board else ""
        raise BuildError(
            "MicroPython checkout '%s' lacks the submodule(s) %s: run `make -C %s/ports/%s %ssubmodules` "
            "and build again." % (checkout, ", ".join(missing), checkout, board.port, target)
        )


def check_native_tools(board: B.Board, which=shutil.which) -> None:
    missing = missing_tools(board, which)
    if not missing:
        return
    if board.port == "esp32":
        raise BuildError(
            "NATIVE=1 for %s needs ESP-IDF %s in this shell (`idf.py` not found): run "
            "`. $IDF_PATH/export.sh` first, or drop NATIVE=1 to build in Docker." % (board.name, IDF_VERSION)
        )
    raise BuildError(
        "NATIVE=1 for %s needs %s on PATH: install the %s toolchain, or drop NATIVE=1 to build in "
        "Docker." % (board.name, ", ".join("`%s`" % t for t in missing), board.port)
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


# --------------------------------------------------------------------------------------------
# esp32 specifics: board folders of the kit, variants, the MicroPython version a board needs,
# ESP-IDF's Wi-Fi blobs, the merged flash image and the QEMU eFuse image

#: What an esp32 build leaves in firmware/<BOARD>/ besides the firmware: the merged image,
#: the app image alone (what `make ota FIRMWARE=1` sends) and, under QEMU, the eFuse image.
FLASH_IMAGE = "flash_image.bin"
APP_IMAGE = "micropython.bin"
QEMU_EFUSE = "qemu_efuse.bin"
#: ESP-IDF's prebuilt Wi-Fi libraries (components/esp_wifi/lib/<chip>/, from the
#: espressif/esp32-wifi-lib submodule): every image with network.WLAN links them.
WIFI_BLOBS = ("libcore.a", "libnet80211.a", "libpp.a")
#: Run by the "efuse" step with ESP-IDF's Python: the default eFuse image `idf.py qemu` uses.
EFUSE_SCRIPT = (
    "import os, sys; sys.path.insert(0, os.path.join(os.environ['IDF_PATH'], 'tools')); "
    "from idf_py_actions.qemu_ext import QEMU_TARGETS; "
    "open(sys.argv[2], 'wb').write(QEMU_TARGETS[sys.argv[1]].default_efuse)"
)
#: Build output lines that mean a Wi-Fi blob was missing at link time.
MISSING_BLOB = re.compile(r"esp_wifi/lib/[a-z0-9]+/lib[a-z0-9_]+\.a|cannot find -l(core|net80211|pp)\b")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(-preview)?$")


def esp32_board_dir(board: B.Board, root: Path, mount: Optional[str]) -> Optional[str]:
    """BOARD_DIR= for a board whose MicroPython board folder is in the kit (None: upstream's).

    ``mount`` is where the project appears in the build container (None: a native build).
    """
    if board.port != "esp32" or board.board_dir_name is None:
        return None
    folder = (board.path / board.board_dir_name).resolve()
    if mount is None:
        return str(folder)
    return "%s/%s" % (mount, folder.relative_to(Path(root).resolve()).as_posix())


def esp32_steps(board: B.Board, build_dir: str) -> List[Step]:
    """Steps after the port's make: the eFuse image for boards that run under QEMU."""
    if board.port != "esp32" or not board.qemu or not board.chip:
        return []
    argv = ["python", "-c", EFUSE_SCRIPT, board.chip, "%s/%s" % (build_dir, QEMU_EFUSE)]
    return [Step("efuse", "Writing the eFuse image `idf.py qemu` uses (ESP-IDF's default)", argv)]


def parse_version(text: str) -> Optional[Tuple[int, int, int, int]]:
    """(major, minor, micro, release) of "v1.29.0" / "1.29.0-preview"; release is 0 for a
    preview (older than the release itself). None for a branch name or a commit."""
    m = _VERSION.match(text.strip())
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), 0 if m.group(4) else 1)


def format_version(version: Tuple[int, int, int, int]) -> str:
    return "%d.%d.%d%s" % (version[0], version[1], version[2], "" if version[3] else "-preview")


def checkout_version(checkout: Path) -> Optional[Tuple[int, int, int, int]]:
    """The version a checkout's py/mpconfig.h declares (master between releases: "-preview")."""
    try:
        text = (Path(checkout) / "py" / "mpconfig.h").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    nums = [re.search(r"#define MICROPY_VERSION_%s (\d+)" % k, text) for k in ("MAJOR", "MINOR", "MICRO")]
    if not all(nums):
        return None
    pre = re.search(r"#define MICROPY_VERSION_PRERELEASE (\d+)", text)
    major, minor, micro = (int(n.group(1)) for n in nums)
    return (major, minor, micro, 0 if pre and pre.group(1) != "0" else 1)


def check_min_micropython(board: B.Board, checkout: Optional[Path], micropy_version: str) -> None:
    """Refuse, in one line, a MicroPython older than board.json's ``min_micropython``."""
    if not board.min_micropython:
        return
    need = parse_version(board.min_micropython)
    if need is None:
        raise BuildError(
            "board.json of %s has min_micropython '%s'; write it like \"1.29.0\" or \"1.29.0-preview\"."
            % (board.name, board.min_micropython)
        )
    if checkout is not None:
        have = checkout_version(checkout)
        where = "the checkout %s is" % checkout
        fix = "pass MICROPY_DIR= a newer checkout (master has it)"
    else:
        have = parse_version(micropy_version)
        where = "the build image clones"
        fix = "pass MICROPY_DIR= a newer checkout, or MICROPY_VERSION= a newer release"
    if have is not None and have < need:
        raise BuildError(
            "%s needs MicroPython %s or newer (min_micropython in board.json) but %s %s: %s."
            % (board.name, format_version(need), where, format_version(have), fix)
        )


def board_variants(board: B.Board, checkout: Optional[Path]) -> Optional[List[str]]:
    """The variants of the board's MicroPython board folder, when it can be looked at."""
    if board.board_dir_name is not None:
        folder = (board.path / board.board_dir_name).resolve()
    elif checkout is not None:
        folder = board.board_dir(checkout)
    else:
        return None
    return sorted(p.name[len("mpconfigvariant_"):-len(".cmake")] for p in folder.glob("mpconfigvariant_*.cmake"))


def missing_wifi_blobs(chip: str, idf_path: Optional[str]) -> List[str]:
    """Which of ESP-IDF's Wi-Fi libraries for ``chip`` are absent (none when unknown)."""
    if not idf_path or not (Path(idf_path) / "components" / "esp_wifi").is_dir():
        return []
    lib = Path(idf_path) / "components" / "esp_wifi" / "lib" / chip
    return [name for name in WIFI_BLOBS if not (lib / name).is_file()]


def with_variant(board: B.Board, variant: Optional[str]) -> B.Board:
    """``board`` building ``variant`` (its build folder follows: build-<BOARD>-<VARIANT>)."""
    if variant == board.variant:
        return board
    folder = "build-%s%s" % (board.board, "-" + variant if variant else "")
    return dataclasses.replace(board, variant=variant, build_output="%s/%s" % (folder, PurePosixPath(board.build_output).name))


def ota_build_variant(board: B.Board, variant: Optional[str], micropy_version: str) -> str:
    """The variant an OTA=1 build of ``board`` uses; BuildError if it has none or BOARD_VARIANT= differs."""
    try:
        ota = B.ota_variant(board, micropy_version)
    except B.BoardError as exc:
        raise BuildError(str(exc))
    if variant and variant != ota:
        raise BuildError(
            "OTA=1 builds %s's variant %s, not BOARD_VARIANT=%s: drop one of them." % (board.name, ota, variant))
    return ota


def ota_board(board: B.Board, variant: Optional[str], micropy_version: str) -> B.Board:
    """``board`` as an OTA=1 build makes it: its OTA variant (whose blob-free counterpart, if
    board.json names one, replaces it where ESP-IDF lacks the Wi-Fi blobs) and the size of one
    app slot as the partition the image must fit."""
    ota = with_variant(board, ota_build_variant(board, variant, micropy_version))
    return dataclasses.replace(
        ota,
        noblobs_variant=board.ota_noblobs_variant,
        app_partition_size=board.ota_app_partition_size or board.app_partition_size,
    )


def esp32_board(
    board: B.Board,
    variant: Optional[str],
    checkout: Optional[Path],
    native: bool,
    micropy_version: str,
    log: Callable[[str], None] = print,
    idf_path: Optional[str] = None,
) -> B.Board:
    """The esp32 board as it will be built: version checked, variant chosen.

    The variant is ``variant`` (BOARD_VARIANT=) if given, else board.json's; a native build
    whose ESP-IDF lacks the Wi-Fi blobs switches to board.json's ``noblobs_variant``.
    """
    if board.port != "esp32":
        if variant:
            raise BuildError("BOARD_VARIANT= applies to esp32 boards; %s is a %s board." % (board.name, board.port))
        return board
    check_min_micropython(board, checkout, micropy_version)
    if variant:
        known = board_variants(board, checkout)
        if known is not None and variant not in known:
            raise BuildError(
                "%s has no variant '%s' (it has: %s); pick one with BOARD_VARIANT= or leave it out."
                % (board.name, variant, ", ".join(known) or "none")
            )
        return with_variant(board, variant)
    if native and board.noblobs_variant and board.variant != board.noblobs_variant:
        idf_path = idf_path if idf_path is not None else os.environ.get("IDF_PATH")
        missing = missing_wifi_blobs(board.chip or "", idf_path)
        if missing:
            log(
                "    ESP-IDF at %s has no Wi-Fi blobs for %s: building variant %s (BOARD_VARIANT= overrides)"
                % (idf_path, board.chip, board.noblobs_variant)
            )
            return with_variant(board, board.noblobs_variant)
    return board


def blobs_message(board: B.Board, idf_path: Optional[str], log_text: str = "") -> Optional[str]:
    """The one-line error for an esp32 build that needs Wi-Fi blobs ESP-IDF lacks, else None."""
    if board.port != "esp32" or (board.noblobs_variant and board.variant == board.noblobs_variant):
        return None
    missing = missing_wifi_blobs(board.chip or "", idf_path)
    if not missing and not MISSING_BLOB.search(log_text):
        return None
    lib = "components/esp_wifi/lib/%s" % board.chip
    what = ", ".join(missing) if missing else "the Wi-Fi libraries"
    fix = "run `git submodule update --init components/esp_wifi/lib` in ESP-IDF (%s)" % (idf_path or "$IDF_PATH")
    if board.noblobs_variant:
        fix += ", or build BOARD_VARIANT=%s" % board.noblobs_variant
    else:
        fix += ", or build BOARD=ESP32_C3_QEMU, which does without them"
    return "%s needs ESP-IDF's Wi-Fi blobs but %s lacks %s (%s): %s." % (
        board.name, lib, what, "espressif/esp32-wifi-lib", fix)


def flash_layout(build_dir: Path) -> Tuple[Dict[str, str], List[Tuple[int, str]]]:
    """The flash settings and (offset, file) pairs ESP-IDF wrote to ``flash_args``."""
    try:
        lines = [l.split() for l in (build_dir / "flash_args").read_text(encoding="utf-8").splitlines() if l.strip()]
    except OSError:
        raise BuildError("The build left no %s: see build.log and report it." % (build_dir / "flash_args"))
    settings: Dict[str, str] = {}
    pairs: List[Tuple[int, str]] = []
    for words in lines:
        if words[0].startswith("--"):
            settings.update((k.lstrip("-").replace("_", "-"), v) for k, v in zip(words[::2], words[1::2]))
        elif len(words) == 2:
            pairs.append((int(words[0], 16), words[1]))
    if not pairs:
        raise BuildError("%s lists no images: see build.log and report it." % (build_dir / "flash_args"))
    return settings, sorted(pairs)


def merge_argv(board: B.Board, build_dir: Path, out: Path) -> List[str]:
    """esptool merge-bin: the bootloader, partition table and app at the build's offsets,
    padded to the board's flash size (what `make flash` writes, as one image)."""
    settings, pairs = flash_layout(build_dir)
    boot = [off for off, name in pairs if PurePosixPath(name).name == "bootloader.bin"]
    if board.flash_offset is not None and boot and boot[0] != int(board.flash_offset, 16):
        raise BuildError(
            "The build puts the bootloader at 0x%x but board.json of %s says flash_offset %s; fix board.json."
            % (boot[0], board.name, board.flash_offset)
        )
    size = board.flash_size or settings.get("flash-size") or "4MB"
    argv = [sys.executable, "-m", "esptool", "--chip", str(board.chip), "merge-bin", "-o", str(out)]
    for key in ("flash-mode", "flash-freq"):
        if key in settings:
            argv += ["--%s" % key, settings[key]]
    argv += ["--flash-size", size, "--pad-to-size", size]
    for off, name in pairs:
        argv += ["0x%x" % off, str(build_dir / name)]
    return argv


def esp32_outputs(board: B.Board) -> List[str]:
    """Files an esp32 build adds to firmware/<BOARD>/."""
    if board.port != "esp32":
        return []
    return [FLASH_IMAGE, APP_IMAGE] + ([QEMU_EFUSE] if board.qemu else [])


def esp32_collect(board: B.Board, build_dir: Path, stage: Path, log: Callable[[str], None]) -> dict:
    """Write the merged image, copy the app image (and the eFuse image) into ``stage``; their build-info."""
    if board.port != "esp32":
        return {}
    out = stage / FLASH_IMAGE
    argv = merge_argv(board, build_dir, out)
    log("$ " + " ".join(argv))
    res = subprocess.run(argv, capture_output=True, text=True)
    if res.returncode != 0 or not out.is_file():
        last = ((res.stderr or res.stdout).strip().splitlines() or ["exit status %d" % res.returncode])[-1]
        raise BuildError("esptool merge-bin failed (%s): run `make setup` for esptool, then build again." % last)
    _, pairs = flash_layout(build_dir)
    size = board.flash_size or "4MB"
    info = {
        "variant": board.variant,
        "flash_image": {
            "file": FLASH_IMAGE,
            "bytes": out.stat().st_size,
            "sha256": sha256_file(out),
            "flash_size": size,
            "segments": [
                {"offset": "0x%x" % off, "file": name, "bytes": (build_dir / name).stat().st_size}
                for off, name in pairs
            ],
        },
    }
    app = build_dir / APP_IMAGE
    if not app.is_file():
        raise BuildError("The build left no %s: see build.log and report it." % app)
    shutil.copy2(str(app), str(stage / APP_IMAGE))
    info["app_image"] = {"file": APP_IMAGE, "bytes": app.stat().st_size, "sha256": sha256_file(app)}
    if board.qemu:
        efuse = build_dir / QEMU_EFUSE
        if not efuse.is_file():
            raise BuildError("The eFuse step left no %s: see build.log and report it." % efuse)
        shutil.copy2(str(efuse), str(stage / QEMU_EFUSE))
        info["qemu_efuse"] = {"file": QEMU_EFUSE, "bytes": efuse.stat().st_size, "sha256": sha256_file(efuse)}
    log("    %s: %d bytes (%s, %s); %s: %d bytes%s" % (
        FLASH_IMAGE, out.stat().st_size, size, ", ".join("0x%x %s" % (o, PurePosixPath(n).name) for o, n in pairs),
        APP_IMAGE, info["app_image"]["bytes"],
        "; %s: %d bytes" % (QEMU_EFUSE, info["qemu_efuse"]["bytes"]) if board.qemu else ""))
    return info


# --------------------------------------------------------------------------------------------
# Reading the build's results


def app_image(board: B.Board, build_dir: Path) -> Path:
    """The file whose size counts against the app partition."""
    if board.port == "esp32":
        return build_dir / "micropython.bin"
    if board.port == "rp2":
        return build_dir / "firmware.bin"
    return build_dir / PurePosixPath(board.build_output).name


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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


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


# --------------------------------------------------------------------------------------------
# Running


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
    micropy_version = micropy_version or os.environ.get("MICROPY_VERSION") or MICROPY_VERSION
    idf_version = idf_version or os.environ.get("IDF_VERSION") or IDF_VERSION
    network = network or os.environ.get("DOCKER_NETWORK") or None
    root = Path(root).resolve()
    try:
        board = B.load_board(board_name, root)
        if ota:
            board, variant = ota_board(board, variant, micropy_version), None
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
    board = esp32_board(board, variant, checkout, native, micropy_version, notes.append)
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
        target = board.port + ("-toolchain" if checkout else "")
        digest = D.dockerfile_digest(text, target)
        if engine is None:
            try:
                engine = D.connect()
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
                {"docker": "Docker", "docker-checkout": "Docker + your checkout", "native": "the host toolchain"}[plan.mode],
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
                blobs = blobs_message(board, idf_path)
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
                blobs = blobs_message(board, idf_path, "\n".join(log.tail))
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
        info.update(esp32_collect(board, plan.build_dir, stage, log))
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
    names = [board.firmware] + esp32_outputs(board) + ["build-info.json", "build.log"] if ok else ["build.log"]
    for name in names:
        src = stage / name
        if src.exists():
            os.replace(str(src), str(out_dir / name))
    shutil.rmtree(str(stage), ignore_errors=True)


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


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build.builder", description=__doc__.split("\n")[0])
    parser.add_argument("--board", required=True, help="board folder name under boards/")
    parser.add_argument("--extensions", default=None, help='"websocket sse", "none", or a bundle (default: board.json)')
    parser.add_argument("--app", default=None, help="freeze this app folder/module too")
    parser.add_argument("--freeze-main", action="store_true", help="freeze the app's main.py as well")
    parser.add_argument("--micropy-dir", default=os.environ.get("MICROPY_DIR") or None, help="your MicroPython checkout")
    parser.add_argument("--native", action="store_true", help="build on the host, without Docker")
    parser.add_argument("--variant", default=None, help="esp32: BOARD_VARIANT (default: board.json's)")
    parser.add_argument("--ota", action="store_true", help="esp32: build the OTA variant (two app slots) for `make ota FIRMWARE=1`")
    parser.add_argument("--size", action="store_true", help="print the sizes of the last build and exit")
    parser.add_argument("--network", default=None, help="Docker network for builds (env DOCKER_NETWORK)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel compile jobs (default: CPU count)")
    args = parser.parse_args(argv)
    try:
        if args.size:
            print(show_size(args.board))
            return 0
        path, info = build(
            args.board,
            args.extensions,
            args.app,
            args.freeze_main,
            args.micropy_dir,
            args.native,
            network=args.network,
            jobs=args.jobs,
            variant=args.variant,
            ota=args.ota,
        )
    except BuildError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    rel = path.relative_to(ROOT) if ROOT in path.parents else path
    print("Built %s (%d bytes, sha256 %s...)." % (rel, info["firmware_bytes"], info["sha256"][:12]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
