"""Real firmware builds of the UNIX board - in a Docker container and natively on the host - then
the framework's hardware suite (tools.suite.smoke) against the binary that came out.

Needs a MicroPython checkout in MICROPY_DIR (v1.28.0 with lib/micropython-lib). The Docker
build also needs a reachable engine and either the ``microdot-kit/unix-toolchain`` image or the
``debian:bookworm-slim`` base image to build it from (set DOCKER_NETWORK=host where the default
bridge network is missing). Each build runs in a temp copy of the project, so firmware/ of the
repo is left alone. Whatever is missing makes the tests skip with the reason.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.selection import boards as B
from tools import host
from tools.build import checkout as CO
from tools.build import plan as PL
from tools.build import run as RUN
from tools.build import docker as D

ROOT = Path(__file__).resolve().parents[2]
CHECKOUT = os.environ.get("MICROPY_DIR", "")
BASE_IMAGE = "debian:bookworm-slim"
FROZEN_ONLY = "import sys; sys.path[:] = ['.frozen']; "


def checkout_problem():
    if not CHECKOUT:
        return "MICROPY_DIR is not set (point it at a MicroPython v1.28.0 checkout)"
    if not (Path(CHECKOUT) / "py" / "mpconfig.h").is_file():
        return "MICROPY_DIR=%s is not a MicroPython checkout" % CHECKOUT
    missing = CO.missing_submodules(B.load_board("UNIX"), Path(CHECKOUT))
    if missing:
        return "MICROPY_DIR=%s lacks %s" % (CHECKOUT, ", ".join(missing))
    return None


def docker_problem():
    problem = checkout_problem()
    if problem:
        return problem
    try:
        engine = D.connect()
    except D.DockerError as exc:
        return str(exc)
    tag = PL.image_tag("unix", host.MICROPYTHON_TAG, host.IDF_VERSION, toolchain=True)
    if engine.image_labels(tag) is None and engine.image_labels(BASE_IMAGE) is None:
        return "neither the image %s nor its base %s is present, and images cannot be pulled here" % (tag, BASE_IMAGE)
    return None


def make_kit(tmp_path):
    kit = tmp_path / "kit"
    for name in ("boards", "manifests", "src", ".cache/vendor"):
        shutil.copytree(str(ROOT / name), str(kit / name), ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(str(ROOT / "Dockerfile"), str(kit / "Dockerfile"))
    return kit


def build(kit, native):
    lines = []
    path, info = RUN.build("UNIX", None, micropy_dir=CHECKOUT, native=native, root=kit, echo=lines.append)
    return path, info, lines


def check_binary(path, info, tmp_path):
    assert path.is_file() and os.access(str(path), os.X_OK)
    assert info["board"] == "UNIX" and info["micropython_version"].startswith("v1.28")
    assert info["extensions"] == B.resolve_extensions(B.load_board("UNIX"))
    frozen = {m["module"]: m["mpy_bytes"] for m in info["frozen_modules"]}
    assert frozen["microdot/microdot.py"] and frozen["kitnet.py"] and frozen["utemplate/source.py"]
    # The framework imports from the image alone: no filesystem path at all.
    proc = subprocess.run(
        [str(path), "-c", FROZEN_ONLY + "import microdot, kitnet; from microdot.sse import with_sse; "
         "print(microdot.Microdot.__name__, kitnet.connect())"],
        cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
    )  # fmt: skip
    assert proc.stdout.decode().strip().splitlines()[-1] == "Microdot 127.0.0.1", proc.stdout.decode()


def run_smoke(binary):
    if not (ROOT / "tools" / "suite" / "smoke.py").is_file():
        pytest.skip("tools/suite/smoke.py (the hardware suite runner) is not in this tree")
    proc = subprocess.run(
        [sys.executable, "-m", "tools.suite.smoke", "--board", "UNIX", "--micropython", str(binary)],
        cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900,
    )  # fmt: skip
    out = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, out[-3000:]
    summary = re.search(r"(\d+) tests: (\d+) pass", out)
    assert summary and int(summary.group(2)) > 0, out[-3000:]
    assert not re.search(r"\d+ tests:.* \d+ fail", out), out[-3000:]


# --------------------------------------------------------------------------------------------
# Docker


@pytest.fixture(scope="module")
def docker_build(tmp_path_factory):
    problem = docker_problem()
    if problem:
        pytest.skip(problem)
    tmp = tmp_path_factory.mktemp("docker-build")
    kit = make_kit(tmp)
    path, info, lines = build(kit, native=False)
    return kit, path, info, lines, tmp


def test_docker_build_of_unix_board(docker_build):
    kit, path, info, lines, tmp = docker_build
    assert info["build_mode"] == "docker-checkout"
    assert info["image"] == "microdot-kit/unix-toolchain:bookworm"
    assert sorted(p.name for p in path.parent.iterdir()) == ["build-info.json", "build.log", "micropython"]
    runs = [l for l in lines if l.startswith("$ docker run ")]
    assert runs and all("-v %s:/project:ro" % kit in l for l in runs)
    assert "FROZEN_MANIFEST=/project/firmware/UNIX/.build/manifest.py" in runs[-1]
    check_binary(path, info, tmp)


def test_docker_rebuild_only_refreezes(docker_build):
    kit, path, info, lines, tmp = docker_build
    helpers = kit / "src" / "microdot" / "helpers.py"
    helpers.write_text(helpers.read_text() + "\n# edited by the incremental-build test\n")
    path2, info2, lines2 = build(kit, native=False)
    assert any(l.startswith("Reusing image microdot-kit/unix-toolchain:bookworm") for l in lines2)
    compiled = [l for l in lines2 if l.startswith("CC ")]
    assert all("frozen_content.c" in l for l in compiled), compiled  # no C source recompiled
    assert any(l.strip() == "MPY microdot/helpers.py" for l in lines2)
    assert not any(l.strip() == "MPY microdot/sse.py" for l in lines2)  # unchanged: not recompiled
    assert info2["sha256"] != info["sha256"]
    check_binary(path2, info2, tmp)


def test_hardware_suite_against_docker_built_binary(docker_build):
    run_smoke(docker_build[1])


# --------------------------------------------------------------------------------------------
# Native (NATIVE=1): the host's gcc, no Docker


@pytest.fixture(scope="module")
def native_build(tmp_path_factory):
    problem = checkout_problem()
    if problem:
        pytest.skip(problem)
    missing = CO.missing_tools(B.load_board("UNIX"))
    if missing:
        pytest.skip("the host lacks %s for a native unix build" % ", ".join(missing))
    tmp = tmp_path_factory.mktemp("native-build")
    kit = make_kit(tmp)
    path, info, lines = build(kit, native=True)
    return kit, path, info, lines, tmp


def test_native_build_of_unix_board(native_build):
    kit, path, info, lines, tmp = native_build
    assert info["build_mode"] == "native" and info["image"] is None
    assert any(l.startswith("$ make -C %s/ports/unix" % Path(CHECKOUT).resolve()) for l in lines)
    check_binary(path, info, tmp)


def test_native_rebuild_with_fewer_extensions_drops_them(native_build):
    kit, path, info, lines, tmp = native_build
    lines2 = []
    path2, info2 = RUN.build("UNIX", "websocket", micropy_dir=CHECKOUT, native=True, root=kit, echo=lines2.append)
    assert info2["extensions"] == ["websocket"]
    assert not any(l.startswith("CC ") and "frozen_content.c" not in l for l in lines2)  # only re-frozen
    probe = FROZEN_ONLY + (
        "import microdot.websocket\n"
        "try:\n import microdot.sse\n print('sse still there')\n"
        "except ImportError:\n print('sse gone')"
    )
    proc = subprocess.run([str(path2), "-c", probe], cwd=str(tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert proc.stdout.decode().strip().splitlines()[-1] == "sse gone", proc.stdout.decode()
    # Back to the defaults for the hardware suite.
    build(kit, native=True)


def test_hardware_suite_against_native_binary(native_build):
    run_smoke(native_build[1])
