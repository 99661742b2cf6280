"""tools.build (plan, run, info, the ports) and tools.build.docker: the commands a firmware build runs, and its errors.

The plan/argv tests need nothing; the failure-path tests run real `make` on a stand-in
MicroPython checkout (a temp folder whose port Makefile succeeds, fails or overflows), against
a temp copy of the project, so nothing here touches firmware/ of the repo.
"""
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools.kit_tree import CONTRACT
from tools.build import __main__ as CLI
from tools.build import base as BASE
from tools.build import checkout as CO
from tools.build import docker as D
from tools.build import esp32 as E32
from tools.build import info as INF
from tools.build import plan as PL
from tools.build import rp2 as RP2
from tools.build import run as RUN
from tools.manifest import frozen as M
from tools.selection import boards as B

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


@pytest.fixture(autouse=True)
def pinned_versions(monkeypatch):
    """The expected plans and messages are those of the pinned versions (tools.host)."""
    monkeypatch.delenv("MICROPY_VERSION", raising=False)
    monkeypatch.delenv("IDF_VERSION", raising=False)


def board(name):
    return B.load_board(name)


# --------------------------------------------------------------------------------------------
# make command lines


def test_esp32_make_argv_names_board_and_absolute_manifest():
    argv = PL.port_make_argv(board("ESP32_GENERIC"), "/opt/micropython", "/project/firmware/ESP32_GENERIC/.build/manifest.py", 8)
    assert argv == [
        "make",
        "-C",
        "/opt/micropython/ports/esp32",
        "BOARD=ESP32_GENERIC",
        "FROZEN_MANIFEST=/project/firmware/ESP32_GENERIC/.build/manifest.py",
    ]


def test_ota_builds_the_boards_ota_variant():
    generic = board("ESP32_GENERIC")
    assert generic.ota_variant == "OTA" and E32.ota_build_variant(generic, None, "v1.28.0") == "OTA"
    assert E32.ota_build_variant(generic, "OTA", "v1.28.0") == "OTA"
    ota = E32.with_variant(generic, E32.ota_build_variant(generic, None, "v1.28.0"))
    make = PL.make_plan(ota, []).steps[0].argv
    assert "BOARD_DIR=/project/firmware/.cache/esp32-boards/ESP32_GENERIC/ESP32_GENERIC" in make
    assert "BOARD_VARIANT=OTA" in make
    assert ota.build_output == "build-ESP32_GENERIC-OTA/firmware.bin"
    with pytest.raises(BASE.BuildError, match="OTA=1 builds ESP32_GENERIC's variant OTA, not BOARD_VARIANT=SPIRAM"):
        E32.ota_build_variant(generic, "SPIRAM", "v1.28.0")
    for name in ("ESP32_GENERIC_C3", "ESP32_GENERIC_S3"):
        with pytest.raises(BASE.BuildError) as exc:
            E32.ota_build_variant(board(name), None, "v1.28.0")
        assert str(exc.value).startswith("Board '%s' has no OTA variant in MicroPython v1.28.0; " % name)
        assert "\n" not in str(exc.value)
    with pytest.raises(BASE.BuildError, match=r"'RPI_PICO_W' \(rp2\) has no firmware OTA"):
        E32.ota_build_variant(board("RPI_PICO_W"), None, "v1.28.0")


def test_ota_flag_reaches_the_build_and_fails_in_one_line(tmp_path, capsys):
    assert CLI.main(["--board", "ESP32_GENERIC_C3", "--ota", "--micropy-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Board 'ESP32_GENERIC_C3' has no OTA variant") and err.count("\n") == 1
    assert not (tmp_path / "ports").exists()
    dry = subprocess.run(["make", "-n", "firmware", "OTA=1", "BOARD=ESP32_GENERIC"], cwd=str(PL.ROOT),
                         capture_output=True, text=True)
    assert dry.returncode == 0 and "--board ESP32_GENERIC" in dry.stdout and "--ota" in dry.stdout
    dry = subprocess.run(["make", "-n", "firmware"], cwd=str(PL.ROOT), capture_output=True, text=True)
    assert "--ota" not in dry.stdout


def test_rp2_make_argv_runs_parallel():
    argv = PL.port_make_argv(board("RPI_PICO_W"), "/mp/", "/project/m.py", 3)
    assert argv == ["make", "-C", "/mp/ports/rp2", "-j3", "BOARD=RPI_PICO_W", "FROZEN_MANIFEST=/project/m.py"]


def test_unix_make_argv_uses_variant_and_drops_btree():
    argv = PL.port_make_argv(board("UNIX"), "/mp", "/abs/manifest.py", 2)
    assert argv == [
        "make",
        "-C",
        "/mp/ports/unix",
        "-j2",
        "VARIANT=standard",
        "MICROPY_PY_BTREE=0",
        "FROZEN_MANIFEST=/abs/manifest.py",
    ]
    # The Dockerfile's unix image fetches submodules with the same arguments.
    assert 'UNIX_MAKE_ARGS="VARIANT=standard MICROPY_PY_BTREE=0"' in DOCKERFILE


def test_build_dir_names_follow_board_json():
    assert PL.build_dir_name(board("ESP32_GENERIC_S3")) == "build-ESP32_GENERIC_S3"
    assert PL.build_dir_name(board("RPI_PICO2_W")) == "build-RPI_PICO2_W"
    assert PL.build_dir_name(board("UNIX")) == "build-standard"


# --------------------------------------------------------------------------------------------
# Plans: Docker with the image's MicroPython, Docker with your checkout, native


def test_docker_plan_mounts_project_read_only_and_caches_build_dir(tmp_path):
    plan = PL.make_plan(board("ESP32_GENERIC"), ["sse", "websocket"], root=tmp_path, jobs=4, user="1000:1000")
    assert plan.mode == "docker"
    assert plan.frozen_manifest == "/project/firmware/ESP32_GENERIC/.build/manifest.py"
    assert plan.manifest == tmp_path / "firmware" / "ESP32_GENERIC" / ".build" / "manifest.py"
    assert plan.image.tag == "microdot-kit/esp32:v1.28.0-idf-v5.5.1"
    assert plan.image.target == "esp32"
    assert plan.image.buildargs == {"MICROPY_VERSION": "v1.28.0", "IDF_VERSION": "v5.5.1"}
    cache = tmp_path / "firmware" / ".cache" / "esp32-v1.28.0-idf-v5.5.1" / "ESP32_GENERIC"
    assert plan.build_dir == cache
    assert [s.name for s in plan.steps] == ["firmware"]
    spec = PL.step_run_spec(plan, plan.steps[0])
    assert D.run_argv(spec) == [
        "docker", "run", "--rm", "--user", "1000:1000", "-w", "/opt/micropython", "-e", "HOME=/tmp",
        "-v", "%s:/project:ro" % tmp_path,
        "-v", "%s:/opt/micropython/ports/esp32/build-ESP32_GENERIC" % cache,
        "microdot-kit/esp32:v1.28.0-idf-v5.5.1",
        "make", "-C", "/opt/micropython/ports/esp32",
        "BOARD_DIR=/project/firmware/.cache/esp32-boards/ESP32_GENERIC/ESP32_GENERIC",
        "FROZEN_MANIFEST=/project/firmware/ESP32_GENERIC/.build/manifest.py",
    ]  # fmt: skip
    kwargs = D.run_kwargs(spec)
    assert kwargs["volumes"] == ["%s:/project:ro" % tmp_path, "%s:/opt/micropython/ports/esp32/build-ESP32_GENERIC" % cache]
    assert kwargs["command"][-1] == "FROZEN_MANIFEST=/project/firmware/ESP32_GENERIC/.build/manifest.py"
    assert kwargs["working_dir"] == "/opt/micropython" and kwargs["user"] == "1000:1000"
    assert kwargs["detach"] is True and "network_mode" not in kwargs


def test_docker_plan_with_checkout_uses_toolchain_image_and_same_path(tmp_path):
    checkout = tmp_path / "mp"
    plan = PL.make_plan(board("UNIX"), [], root=tmp_path / "kit", micropy_dir=checkout, jobs=2, network="host")
    assert plan.mode == "docker-checkout"
    assert plan.image.target == "unix-toolchain"
    assert plan.image.tag == "microdot-kit/unix-toolchain:bookworm"
    assert plan.micropy == str(checkout)
    assert [s.name for s in plan.steps] == ["mpy-cross", "firmware"]
    assert plan.steps[0].argv == ["make", "-C", "%s/mpy-cross" % checkout, "-j2"]
    mounts = plan.run.mounts
    assert D.Mount(str(tmp_path / "kit"), "/project", True) in mounts
    assert D.Mount(str(checkout), str(checkout)) in mounts
    targets = [m.target for m in mounts]
    assert "%s/mpy-cross/build" % checkout in targets
    assert "%s/ports/unix/build-standard" % checkout in targets
    spec = PL.step_run_spec(plan, plan.steps[1])
    assert spec.network == "host" and D.run_argv(spec)[3:5] == ["--network", "host"]
    assert spec.command[-1] == "FROZEN_MANIFEST=/project/firmware/UNIX/.build/manifest.py"


def test_native_plan_uses_host_paths(tmp_path):
    checkout = tmp_path / "mp"
    plan = PL.make_plan(board("UNIX"), ["wifi"], root=tmp_path, micropy_dir=checkout, native=True, jobs=2)
    assert plan.mode == "native" and plan.image is None and plan.run is None
    manifest = str((tmp_path / "firmware" / "UNIX" / ".build" / "manifest.py").resolve())
    assert plan.frozen_manifest == manifest
    assert plan.steps[1].argv[-1] == "FROZEN_MANIFEST=" + manifest
    assert plan.build_dir == checkout.resolve() / "ports" / "unix" / "build-standard"


def test_native_plan_without_checkout_says_what_to_pass(tmp_path):
    with pytest.raises(BASE.BuildError, match=r"NATIVE=1 builds in your MicroPython checkout: pass MICROPY_DIR="):
        PL.make_plan(board("UNIX"), [], root=tmp_path, native=True)


def test_image_tags_and_build_args(monkeypatch):
    rp2 = PL.image_spec(board("RPI_PICO_W"), ROOT / "Dockerfile", "v1.27.0")
    assert (rp2.tag, rp2.target, rp2.buildargs) == ("microdot-kit/rp2:v1.27.0", "rp2", {"MICROPY_VERSION": "v1.27.0"})
    esp = PL.image_spec(board("ESP32_GENERIC_C3"), ROOT / "Dockerfile", "v1.28.0", "v5.4.2", toolchain=True, digest="abc")
    assert esp.tag == "microdot-kit/esp32-toolchain:idf-v5.4.2"
    assert esp.buildargs["IDF_VERSION"] == "v5.4.2" and esp.labels == {D.DOCKERFILE_LABEL: "abc"}
    assert D.build_argv(esp) == [
        "docker", "build", "--target", "esp32-toolchain", "-t", "microdot-kit/esp32-toolchain:idf-v5.4.2",
        "--build-arg", "IDF_VERSION=v5.4.2", "--build-arg", "MICROPY_VERSION=v1.28.0",
        "--label", "%s=abc" % D.DOCKERFILE_LABEL, ".",
    ]  # fmt: skip
    assert D.build_argv(esp, "/tmp/ctx", "/tmp/ctx/Dockerfile")[6:8] == ["-f", "/tmp/ctx/Dockerfile"]
    assert D.build_argv(esp, "/tmp/ctx", "/tmp/ctx/Dockerfile")[-1] == "/tmp/ctx"
    kwargs = D.build_kwargs(esp, "/ctx")
    assert kwargs["target"] == "esp32-toolchain" and kwargs["path"] == "/ctx" and kwargs["decode"] is True
    assert kwargs["buildargs"] == {"MICROPY_VERSION": "v1.28.0", "IDF_VERSION": "v5.4.2"}


def test_dockerfile_pins_versions_and_has_a_target_per_port():
    assert "ARG MICROPY_VERSION=v1.28.0" in DOCKERFILE
    assert "ARG IDF_VERSION=v5.5.1" in DOCKERFILE
    assert "ARG IDF_IMAGE=espressif/idf:${IDF_VERSION}" in DOCKERFILE
    names = D.stage_names(DOCKERFILE)
    assert PL.IMAGE_PORTS == ("esp32", "rp2", "unix")
    for port in PL.PORTS:  # a stage for every port that plan.IMAGE_PORTS says has one, none for the rest
        assert (port in names and port + "-toolchain" in names) == (port in PL.IMAGE_PORTS)
    assert (ROOT / ".dockerignore").read_text().strip().splitlines()[-1] == "*"


def test_trim_dockerfile_keeps_only_the_targets_chain():
    unix = D.trim_dockerfile(DOCKERFILE, "unix")
    assert D.stage_names(unix) == ["unix-toolchain", "unix"]
    assert "espressif" not in unix.split("FROM", 1)[1] and "gcc-arm-none-eabi" not in unix
    assert "ARG MICROPY_VERSION=v1.28.0" in unix  # the global arguments stay
    assert D.stage_names(D.trim_dockerfile(DOCKERFILE, "esp32")) == ["esp32-toolchain", "esp32"]
    rp2 = D.trim_dockerfile(DOCKERFILE, "rp2-toolchain")
    assert D.stage_names(rp2) == ["rp2-toolchain"]
    assert "gcc-arm-none-eabi libnewlib-arm-none-eabi" in rp2 and "cmake --install /tmp/picotool/build" in rp2
    text = "FROM a AS one\nRUN x\nFROM b AS two\nCOPY --from=one /x /x\nFROM c AS three\n"
    assert D.stage_names(D.trim_dockerfile(text, "two")) == ["one", "two"]
    with pytest.raises(D.DockerError, match="no stage 'nope'; its stages are: one, two, three"):
        D.trim_dockerfile(text, "nope")
    assert D.dockerfile_digest(DOCKERFILE, "unix") != D.dockerfile_digest(DOCKERFILE, "rp2")


def test_output_lines_split_on_any_newline():
    assert list(D._lines([b"a\nb", b"c\r\nd\re", b"\n", b"tail"])) == ["a", "bc", "d", "e", "tail"]


# --------------------------------------------------------------------------------------------
# Sizes, overflow, rp2's cmake cache


def test_full_partition_messages():
    esp = board("ESP32_GENERIC")
    with pytest.raises(BASE.BuildError) as err:
        INF.size_check(esp, 1900544 + 100)  # 0x1D0000: the app partition before the ROMFS area
    assert str(err.value).startswith(
        "The firmware for ESP32_GENERIC is 1900644 bytes but its app partition holds 1900544 (over by 100): freeze fewer"
    )
    INF.size_check(esp, 1900544)  # exactly full fits
    INF.size_check(board("UNIX"), 10**9)  # no partition
    log = "micropython.bin   2100000\nERROR: app overflows allocated space of 2031616 bytes by 68384 bytes\n"
    msg = INF.overflow_message(esp, log)
    assert "overflows its 2031616-byte app partition by 68384 bytes" in msg and "EXTENSIONS=" in msg
    linker = "/usr/bin/arm-none-eabi-ld: firmware.elf section `.text' will not fit in region `FLASH'\nregion `FLASH' overflowed by 4242 bytes"
    assert "overflows the flash region by 4242 bytes" in INF.overflow_message(board("RPI_PICO_W"), linker)
    assert INF.overflow_message(esp, "all good") is None


def test_rp2_reconfigures_when_manifest_changes(tmp_path):
    plan = PL.make_plan(board("RPI_PICO_W"), [], root=tmp_path, jobs=1)
    sig = PL.config_signature(plan)
    wrapper = "BOARD_DIR=/project/firmware/.cache/rp2-boards/RPI_PICO_W/RPI_PICO_W"  # its ROMFS area
    assert json.loads(sig) == {"make": [wrapper], "manifest": "/project/firmware/RPI_PICO_W/.build/manifest.py",
                               "wrapper": RP2.config_inputs(board("RPI_PICO_W"))["wrapper"]}
    build = tmp_path / "build"
    build.mkdir()
    assert not PL.stale_build(build, sig)  # empty: nothing to go stale
    (build / "Makefile").write_text("")
    (build / "CMakeCache.txt").write_text("")
    (build / "main.o").write_text("")
    assert PL.stale_build(build, sig)  # configured by someone else
    (build / PL.STAMP).write_text(sig)
    assert not PL.stale_build(build, sig)
    same = PL.make_plan(board("RPI_PICO_W"), ["sse"], root=tmp_path / "copy", jobs=4)
    assert PL.config_signature(same) == sig  # same container path, other -j: still fine
    native = PL.make_plan(board("RPI_PICO_W"), [], root=tmp_path, jobs=1, micropy_dir=tmp_path, native=True)
    assert PL.stale_build(build, PL.config_signature(native))
    assert PL.reset_build(board("RPI_PICO_W"), build) == ["Makefile", "CMakeCache.txt"]
    assert sorted(p.name for p in build.iterdir()) == [PL.STAMP, "main.o"]


def test_unix_rebuilds_from_scratch_when_make_arguments_change(tmp_path):
    plan = PL.make_plan(board("UNIX"), [], root=tmp_path, jobs=2)
    assert json.loads(PL.config_signature(plan)) == {"make": ["VARIANT=standard", "MICROPY_PY_BTREE=0"]}
    build = tmp_path / "build-standard"
    (build / "py").mkdir(parents=True)
    (build / "py" / "modhashlib.o").write_text("")
    (build / PL.STAMP).write_text(json.dumps({"make": ["VARIANT=standard", "MICROPY_PY_SSL=0"]}))
    assert PL.stale_build(build, PL.config_signature(plan))
    assert PL.reset_build(board("UNIX"), build) == [PL.STAMP, "py"]
    assert build.is_dir() and list(build.iterdir()) == []
    assert PL.reset_build(board("ESP32_GENERIC"), build) == []


def test_changed_selection_regenerates_frozen_content(tmp_path):
    kit = make_kit(tmp_path)
    b = B.load_board("UNIX", kit)
    manifest = M.write_manifest(b, "sse", tmp_path / "m" / "manifest.py", root=kit)
    sel = PL.frozen_selection(manifest, b, M.frozen_sources(b, "sse", root=kit), kit)
    build = tmp_path / "build"
    build.mkdir()
    assert not PL.refreeze_if_needed(build, sel)  # nothing built yet
    (build / "frozen_content.c").write_text("old")
    assert PL.refreeze_if_needed(build, sel)  # built by someone else: regenerate
    assert not (build / "frozen_content.c").exists()
    (build / "frozen_content.c").write_text("old")
    (build / PL.FROZEN_STAMP).write_text(sel)
    assert not PL.refreeze_if_needed(build, sel)  # same selection: makemanifest's timestamps suffice
    M.write_manifest(b, "websocket", manifest, root=kit)
    other = PL.frozen_selection(manifest, b, M.frozen_sources(b, "websocket", root=kit), kit)
    assert other != sel and PL.refreeze_if_needed(build, other)
    before = PL.frozen_selection(manifest, b, [], kit)
    fragment = kit / "manifests" / "sse" / "manifest.py"
    fragment.write_text(fragment.read_text() + "\n# edited\n")
    assert PL.frozen_selection(manifest, b, [], kit) != before  # a fragment edit counts too


def test_changed_source_removes_stale_frozen_mpy(tmp_path):
    # makemanifest recompiles a module only when its .py is newer than its .mpy: a source whose
    # mtime went back (an older commit checked out) must still give a fresh freeze.
    kit = make_kit(tmp_path)
    b = B.load_board("UNIX", kit)
    manifest = M.write_manifest(b, "sse", tmp_path / "m" / "manifest.py", root=kit)
    sources = M.frozen_sources(b, "sse", root=kit)
    sel = PL.frozen_selection(manifest, b, sources, kit)
    build = tmp_path / "build"
    mpy = build / "frozen_mpy" / "microdot"
    mpy.mkdir(parents=True)
    (mpy / "sse.mpy").write_bytes(b"M\x06")
    (build / PL.FROZEN_STAMP).write_text(sel)
    assert not PL.refreeze_if_needed(build, sel)
    path = Path(sources[0][0])
    stat = path.stat()
    path.write_text(path.read_text() + "\n# changed\n")
    os.utime(path, (stat.st_atime, stat.st_mtime - 3600))  # older than the .mpy
    changed = PL.frozen_selection(manifest, b, sources, kit)
    assert changed != sel
    assert PL.refreeze_if_needed(build, changed)
    assert not (build / "frozen_mpy").exists()


def test_format_size_and_missing_build(tmp_path):
    kit = make_kit(tmp_path)
    with pytest.raises(BASE.BuildError, match=r"No firmware for UNIX yet: run `make BOARD=UNIX firmware` first\."):
        INF.show_size("UNIX", kit)
    info = {
        "board": "ESP32_GENERIC", "port": "esp32", "micropython_version": "v1.28.0", "idf_version": "v5.5.1",
        "frozen_modules": [{"module": "microdot/microdot.py", "source_bytes": 50000, "mpy_bytes": 20000}],
        "image_bytes": 1500000, "partition_bytes": 2000000, "free_bytes": 500000, "sha256": "ab" * 32,
        "built_at": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    text = INF.format_size(info)
    assert "ESP-IDF v5.5.1" in text and "microdot/microdot.py" in text and "(75.0% used)" in text
    assert "   500000" in text


# --------------------------------------------------------------------------------------------
# Whole builds against a stand-in checkout (real make, real files)


def make_kit(tmp_path):
    """A copy of the project's boards, manifests, framework and Dockerfile."""
    kit = tmp_path / "kit"
    for name in ("boards", "manifests", "src"):
        shutil.copytree(str(ROOT / name), str(kit / name), ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(str(ROOT / "Dockerfile"), str(kit / "Dockerfile"))
    return kit


PORT_MAKEFILE = """\
BUILD ?= build-$(VARIANT)
all:
\t@echo "building with $(FROZEN_MANIFEST)"
\t@test -f "$(FROZEN_MANIFEST)"
\t@mkdir -p $(BUILD)/genhdr $(BUILD)/frozen_mpy/microdot
\t@printf '#define MICROPY_GIT_TAG "v1.28.0-fake"\\n' > $(BUILD)/genhdr/mpversion.h
\t@printf 'mpy' > $(BUILD)/frozen_mpy/microdot/microdot.mpy
\t@printf 'binary' > $(BUILD)/micropython
%s
"""


def make_checkout(tmp_path, extra=""):
    mp = tmp_path / "mp"
    (mp / "py").mkdir(parents=True)
    (mp / "py" / "mpconfig.h").write_text("// stand-in\n")
    (mp / "lib" / "micropython-lib").mkdir(parents=True)
    (mp / "lib" / "micropython-lib" / "README.md").write_text("x")
    (mp / "lib" / "mbedtls").mkdir(parents=True)
    (mp / "lib" / "mbedtls" / "README.md").write_text("x")
    (mp / "mpy-cross").mkdir()
    (mp / "mpy-cross" / "Makefile").write_text("all:\n\t@echo mpy-cross is up to date\n")
    (mp / "ports" / "unix").mkdir(parents=True)
    (mp / "ports" / "unix" / "Makefile").write_text(PORT_MAKEFILE % extra)
    return mp


needs_make = pytest.mark.skipif(
    CO.missing_tools(B.load_board("UNIX")) != [],
    reason="native build tools (%s) not on PATH" % ", ".join(CO.missing_tools(B.load_board("UNIX"))),
)


@needs_make
def test_native_build_writes_firmware_info_and_log(tmp_path):
    kit, mp = make_kit(tmp_path), make_checkout(tmp_path)
    lines = []
    path, info = RUN.build("UNIX", "wifi", micropy_dir=str(mp), native=True, root=kit, echo=lines.append)
    out = kit / "firmware" / "UNIX"
    assert path == out / "micropython" and path.read_bytes() == b"binary"
    assert sorted(p.name for p in out.iterdir()) == ["build-info.json", "build.log", "micropython"]
    saved = json.loads((out / "build-info.json").read_text())
    assert saved == info
    assert info["micropython_version"] == "v1.28.0-fake"
    assert info["extensions"] == ["wifi"] and info["board"] == "UNIX" and info["idf_version"] is None
    assert info["sha256"] == hashlib.sha256(b"binary").hexdigest()
    modules = {m["module"]: m for m in info["frozen_modules"]}
    assert set(modules) == {"microdot/" + f for f in CONTRACT["core"]} | {"kitnet.py", "kitportal.py", "kitdns.py", "kitstart.py",
                                                                          "kitsafe.py", "kitlog.py", "boot.py", "main.py"}
    assert modules["microdot/microdot.py"]["mpy_bytes"] == 3 and modules["kitnet.py"]["mpy_bytes"] is None
    assert modules["kitnet.py"]["source"] == "src/kit/kitnet.py"
    assert info["image_bytes"] == 6 and info["partition_bytes"] is None
    log = (out / "build.log").read_text()
    assert "building with %s" % (out / ".build" / "manifest.py").resolve() in log
    assert "==> [3/4] Building the unix port" in log
    assert any(l.startswith("$ make -C %s/ports/unix" % mp) for l in lines)
    assert not (out / ".build").exists()


@needs_make
def test_failed_step_keeps_only_the_log(tmp_path):
    kit = make_kit(tmp_path)
    mp = make_checkout(tmp_path, "\t@echo compiler exploded; exit 2")
    with pytest.raises(BASE.BuildError) as err:
        RUN.build("UNIX", "none", micropy_dir=str(mp), native=True, root=kit, echo=lambda line: None)
    assert str(err.value) == (
        "Step 'firmware' failed (exit 2) building UNIX: see the output above; the full log is in firmware/UNIX/build.log."
    )
    out = kit / "firmware" / "UNIX"
    assert sorted(p.name for p in out.iterdir()) == ["build.log"]
    assert "compiler exploded" in (out / "build.log").read_text()


@needs_make
def test_failed_rebuild_keeps_the_previous_good_image(tmp_path):
    kit = make_kit(tmp_path)
    good = make_checkout(tmp_path)
    RUN.build("UNIX", "none", micropy_dir=str(good), native=True, root=kit, echo=lambda line: None)
    (good / "ports" / "unix" / "Makefile").write_text(PORT_MAKEFILE % "\t@exit 1")
    with pytest.raises(BASE.BuildError, match="Step 'firmware' failed"):
        RUN.build("UNIX", "none", micropy_dir=str(good), native=True, root=kit, echo=lambda line: None)
    out = kit / "firmware" / "UNIX"
    assert (out / "micropython").read_bytes() == b"binary"
    assert json.loads((out / "build-info.json").read_text())["board"] == "UNIX"


@needs_make
def test_overflow_in_build_output_is_a_full_partition_error(tmp_path):
    kit = make_kit(tmp_path)
    mp = make_checkout(tmp_path, "\t@echo 'ERROR: app overflows allocated space of 1000 bytes by 24 bytes'; exit 1")
    with pytest.raises(BASE.BuildError, match=r"^The firmware for UNIX overflows its 1000-byte app partition by 24 bytes: freeze fewer extensions"):
        RUN.build("UNIX", "none", micropy_dir=str(mp), native=True, root=kit, echo=lambda line: None)
    assert sorted(p.name for p in (kit / "firmware" / "UNIX").iterdir()) == ["build.log"]


@needs_make
def test_image_larger_than_partition_leaves_no_firmware(tmp_path):
    kit, mp = make_kit(tmp_path), make_checkout(tmp_path)
    meta = kit / "boards" / "UNIX" / "board.json"
    data = json.loads(meta.read_text())
    data["app_partition_size"] = 4  # the stand-in image has 6 bytes
    meta.write_text(json.dumps(data))
    with pytest.raises(BASE.BuildError, match=r"is 6 bytes but its app partition holds 4 \(over by 2\)"):
        RUN.build("UNIX", "none", micropy_dir=str(mp), native=True, root=kit, echo=lambda line: None)
    assert sorted(p.name for p in (kit / "firmware" / "UNIX").iterdir()) == ["build.log"]


# --------------------------------------------------------------------------------------------
# One-line errors through main()


def run_main(argv, capsys):
    code = CLI.main(argv)
    captured = capsys.readouterr()
    return code, captured.err


def test_unknown_board(capsys):
    code, err = run_main(["--board", "NOPE"], capsys)
    assert code == 1
    assert err.startswith("error: Unknown board 'NOPE'. Known boards: ESP32_C3_QEMU, ESP32_GENERIC, ")
    assert err.count("\n") == 1
    assert not (ROOT / "firmware" / "NOPE").exists()


def test_dry_run_prints_the_plan_and_runs_nothing(capsys, monkeypatch):
    def no_engine(*args, **kwargs):
        raise AssertionError("a dry run must not connect to Docker")

    monkeypatch.setattr(D, "connect", no_engine)
    for name in ("MICROPY_DIR", "MICROPY_VERSION", "IDF_VERSION"):
        monkeypatch.delenv(name, raising=False)
    assert CLI.main(["--board", "RPI_PICO_W", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("RPI_PICO_W (rp2) with Docker; extensions: ")
    assert out[1].startswith("image microdot-kit/rp2:v1.28.0 (target rp2)")
    assert out[2].startswith("firmware: docker run ") and "BOARD_DIR=/project/firmware/.cache/rp2-boards/RPI_PICO_W/RPI_PICO_W" in out[2]
    assert out[-1] == "outputs: firmware.uf2, build-info.json, build.log"
    assert not (ROOT / "firmware" / "RPI_PICO_W" / ".build").exists()
    # a board the image cannot build is refused by the dry run as by the build
    code, err = run_main(["--board", "QEMU_MPS2_AN385", "--dry-run"], capsys)
    assert code == 1 and "builds on the host only: pass NATIVE=1" in err and err.count("\n") == 1


def test_no_board_is_one_line(capsys):
    code, err = run_main([], capsys)
    assert code == 1 and err == "error: Which board? Pass --board NAME (make BOARD=NAME firmware); `make boards` lists them.\n"


def test_unknown_extension(capsys):
    code, err = run_main(["--board", "UNIX", "--extensions", "teleport", "--native"], capsys)
    assert code == 1 and err.startswith("error: Unknown extension 'teleport'. Valid extensions: ")


def test_missing_checkout(tmp_path, capsys):
    code, err = run_main(["--board", "UNIX", "--native", "--micropy-dir", str(tmp_path / "nothing")], capsys)
    assert code == 1
    assert err == (
        "error: MicroPython checkout '%s' not found (no py/mpconfig.h there): pass MICROPY_DIR= the folder "
        "of a micropython clone at v1.28.0.\n" % (tmp_path / "nothing")
    )


def test_checkout_without_submodules(tmp_path, capsys):
    mp = make_checkout(tmp_path)
    shutil.rmtree(str(mp / "lib" / "micropython-lib"))
    code, err = run_main(["--board", "UNIX", "--micropy-dir", str(mp)], capsys)
    assert code == 1
    assert err == (
        "error: MicroPython checkout '%s' lacks the submodule(s) lib/micropython-lib: run `make -C %s/ports/unix "
        "submodules` and build again.\n" % (mp, mp)
    )
    b = B.load_board("RPI_PICO_W")
    assert "lib/pico-sdk" in CO.missing_submodules(b, mp)
    with pytest.raises(BASE.BuildError, match=r"`make -C .*/ports/rp2 BOARD=RPI_PICO_W submodules`"):
        CO.check_checkout(b, mp)


def test_native_without_toolchain_says_what_to_install():
    with pytest.raises(BASE.BuildError) as err:
        CO.check_native_tools(B.load_board("RPI_PICO_W"), which=lambda tool: None if tool != "make" else "/usr/bin/make")
    assert str(err.value) == (
        "NATIVE=1 for RPI_PICO_W needs `cmake`, `arm-none-eabi-gcc` on PATH: install the rp2 toolchain, or drop "
        "NATIVE=1 to build in Docker."
    )
    with pytest.raises(BASE.BuildError, match=r"needs ESP-IDF v5.5.1 in this shell \(`idf.py` not found\): run `. \$IDF_PATH/export.sh`"):
        CO.check_native_tools(B.load_board("ESP32_GENERIC"), which=lambda tool: None)


def test_no_docker_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KIT_DOCKER", "cli")
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker binary here
    kit = make_kit(tmp_path)
    with pytest.raises(BASE.BuildError) as err:
        RUN.build("UNIX", "none", root=kit)
    assert str(err.value) == (
        "Docker is not available (no `docker` command on PATH): start Docker (Docker Desktop, or "
        "`sudo systemctl start docker`), or build on the host with NATIVE=1 MICROPY_DIR=/path/to/micropython."
    )
    assert not (kit / "firmware" / "UNIX").exists()


def test_engine_that_does_not_answer(tmp_path, monkeypatch):
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(D.DockerError, match=r"^Docker is not available \(Cannot connect to the Docker daemon at unix:///var/run/docker.sock\): start Docker"):
        D.connect("cli")
    with pytest.raises(D.DockerError, match=r"KIT_DOCKER='podman' is not one of auto, sdk, cli"):
        D.connect("podman")


def test_app_outside_project_cannot_go_into_the_container(tmp_path):
    kit = make_kit(tmp_path)
    app = tmp_path / "elsewhere"
    app.mkdir()
    (app / "helper.py").write_text("X = 1\n")
    with pytest.raises(BASE.BuildError, match=r"^APP '.*elsewhere' is outside the project, which is all the build container sees"):
        RUN.build("UNIX", "none", app=str(app), root=kit)


def test_source_state_takes_the_commit_time_unless_the_environment_sets_one(monkeypatch):
    import subprocess as sp

    root = Path(__file__).resolve().parents[2]
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    state = INF.source_state(root)
    head = sp.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    ct = sp.run(["git", "-C", str(root), "log", "-1", "--format=%ct"], capture_output=True, text=True).stdout.strip()
    assert state["commit"] == head and state["source_date_epoch"] == int(ct)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert INF.source_state(root)["source_date_epoch"] == 1700000000
    board = B.load_board("RPI_PICO_W")
    assert INF.rebuild_command(board, ["pubsub", "sse"], "examples/sse", True) == (
        'make BOARD=RPI_PICO_W firmware EXTENSIONS="pubsub sse" APP=examples/sse FREEZE_MAIN=1')
    assert INF.rebuild_command(board, [], None, False).endswith('EXTENSIONS="none"')


def test_two_native_unix_builds_of_one_commit_are_identical(tmp_path):
    import os

    checkout = os.environ.get("MICROPY_DIR")
    if not checkout:
        pytest.skip("set MICROPY_DIR to a MicroPython v1.28.0 checkout to run this")
    digests = []
    for _ in range(2):
        path, info = RUN.build("UNIX", None, native=True, micropy_dir=checkout, echo=lambda line: None)
        assert info["source"]["source_date_epoch"] is not None and info["rebuild"].startswith("make BOARD=UNIX")
        digests.append(info["sha256"])
        # the next build starts from a clean build folder, as a second machine would
        build_dir = Path(checkout) / "ports" / "unix" / PL.build_dir_name(B.load_board("UNIX"))
        shutil.rmtree(str(build_dir), ignore_errors=True)
    assert digests[0] == digests[1]


# --------------------------------------------------------------------------------------------
# The kit's ESP-IDF settings (boards/sdkconfig.esp32) reach every esp32 build


def _sdkconfig_lines(path):
    return dict(l.split("=", 1) for l in path.read_text().splitlines() if l.startswith("CONFIG_"))


def test_the_kits_esp32_settings_leave_a_socket_for_the_listener():
    from microdot import Microdot
    conf = _sdkconfig_lines(B.BOARDS_DIR / E32.KIT_SDKCONFIG)
    sockets, tcp = int(conf["CONFIG_LWIP_MAX_SOCKETS"]), int(conf["CONFIG_LWIP_MAX_ACTIVE_TCP"])
    mbox = int(conf["CONFIG_LWIP_TCP_ACCEPTMBOX_SIZE"])
    assert sockets == 16  # the most ESP-IDF allows (Kconfig range 1-16)
    assert tcp == sockets - 1  # lwIP runs out of connections (a dropped SYN) before sockets (a reset)
    assert mbox >= Microdot.backlog  # a full accept queue resets the next connection


def test_every_esp32_board_of_the_kit_gets_the_settings(tmp_path):
    esp32 = [b for b in B.load_boards() if b.port == "esp32"]
    assert {"ESP32_GENERIC", "ESP32_C3_QEMU"} <= {b.name for b in esp32}
    for b in esp32:
        if b.board_dir_name is not None:  # the kit's own folder appends the file itself
            cmake = (b.path / b.board_dir_name / "mpconfigboard.cmake").read_text()
            assert "${CMAKE_CURRENT_LIST_DIR}/../%s)" % E32.KIT_SDKCONFIG in cmake, b.name
        else:  # MicroPython's folder, through the wrapper the build writes
            plan = PL.make_plan(b, [], root=tmp_path)
            assert "BOARD_DIR=/project/firmware/.cache/esp32-boards/%s/%s" % (b.name, b.board) in plan.steps[0].argv
            files = E32.wrapper_files(b, tmp_path)
            assert "include(${CMAKE_SOURCE_DIR}/boards/%s/mpconfigboard.cmake)" % b.board in files["mpconfigboard.cmake"]
            assert E32.KIT_SDKCONFIG in files["mpconfigboard.cmake"]
    native = PL.make_plan(board("ESP32_GENERIC_S3"), [], root=tmp_path, native=True, micropy_dir=tmp_path / "mp")
    assert "BOARD_DIR=%s" % E32.wrapper_dir(board("ESP32_GENERIC_S3"), tmp_path).resolve() in native.steps[1].argv


@pytest.mark.skipif(shutil.which("cmake") is None, reason="needs cmake")
def test_the_wrapper_gives_micropythons_settings_then_the_kits_to_cmake(tmp_path):
    """The wrapper folder, read by cmake as ports/esp32/CMakeLists.txt reads a board folder
    (a stand-in port with ESP32_GENERIC's layout: a common file, the board, an OTA variant)."""
    root, port = tmp_path / "kit", tmp_path / "mp" / "ports" / "esp32"
    (root / "boards").mkdir(parents=True)
    shutil.copy(str(B.BOARDS_DIR / E32.KIT_SDKCONFIG), str(root / "boards" / E32.KIT_SDKCONFIG))
    up = port / "boards" / "ESP32_GENERIC"
    up.mkdir(parents=True)
    (port / "boards" / "common.cmake").write_text("set(IDF_TARGET esp32)\nset(SDKCONFIG_DEFAULTS boards/sdkconfig.base)\n")
    (up / "mpconfigboard.cmake").write_text("include(boards/common.cmake)\nlist(APPEND SDKCONFIG_DEFAULTS boards/sdkconfig.csi)\n")
    (up / "mpconfigvariant_OTA.cmake").write_text("list(APPEND SDKCONFIG_DEFAULTS boards/ESP32_GENERIC/sdkconfig.ota)\n")
    driver = port / "driver.cmake"  # what CMakeLists.txt does with MICROPY_BOARD_DIR and the variant
    driver.write_text(
        "include(${MICROPY_BOARD_DIR}/mpconfigboard.cmake)\n"
        "if(NOT MICROPY_BOARD_VARIANT)\n  include(${MICROPY_BOARD_DIR}/mpconfigvariant.cmake OPTIONAL)\n"
        "else()\n  include(${MICROPY_BOARD_DIR}/mpconfigvariant_${MICROPY_BOARD_VARIANT}.cmake)\nendif()\n"
        "foreach(f ${SDKCONFIG_DEFAULTS})\n  get_filename_component(a ${f} ABSOLUTE)\n  message(\"${IDF_TARGET} ${a}\")\nendforeach()\n")
    for variant, last in ((None, []), ("OTA", [str(up / "sdkconfig.ota")])):
        b = E32.with_variant(board("ESP32_GENERIC"), variant)
        folder = E32.write_wrapper(b, root)
        assert folder == E32.wrapper_dir(b, root)
        argv = ["cmake", "-DMICROPY_BOARD_DIR=%s" % folder] + (["-DMICROPY_BOARD_VARIANT=%s" % variant] if variant else [])
        out = subprocess.run(argv + ["-P", str(driver)], cwd=str(port), capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        lines = out.stderr.split()
        assert lines[0::2] == ["esp32"] * (len(lines) // 2)
        files = [os.path.realpath(p) for p in lines[1::2]]
        # last, the ROMFS area's table (tests/tools/test_romfs_boards.py)
        assert files == [str(port / "boards" / "sdkconfig.base"), str(port / "boards" / "sdkconfig.csi"),
                         os.path.realpath(str(root / "boards" / E32.KIT_SDKCONFIG))] + last + [
                         os.path.realpath(str(port / "sdkconfig.kit_romfs"))]
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["mpconfigboard.cmake", "mpconfigboard.h", "mpconfigvariant_OTA.cmake" if variant else "mpconfigvariant.cmake"])
    mtime = (folder / "mpconfigboard.cmake").stat().st_mtime_ns
    E32.write_wrapper(b, root)  # unchanged text: not rewritten (no needless reconfigure)
    assert (folder / "mpconfigboard.cmake").stat().st_mtime_ns == mtime
    assert E32.write_wrapper(board("ESP32_C3_QEMU"), root) is None  # the kit's own folder


def test_a_changed_sdkconfig_file_makes_the_next_esp32_build_drop_build_sdkconfig(tmp_path):
    """ESP-IDF keeps an existing build/sdkconfig over changed defaults: the kit's sdkconfig files
    are part of the build folder's signature, and a stale esp32 folder loses its sdkconfig."""
    import dataclasses
    (tmp_path / "boards" / "ESP32_GENERIC").mkdir(parents=True)
    kit = tmp_path / "boards" / E32.KIT_SDKCONFIG
    kit.write_text("CONFIG_LWIP_MAX_SOCKETS=16\n")
    b = dataclasses.replace(board("ESP32_GENERIC"), path=tmp_path / "boards" / "ESP32_GENERIC")
    plan = PL.make_plan(b, [], root=tmp_path)
    first = PL.config_signature(plan)
    assert json.loads(first)["sdkconfig"] == E32.config_inputs(b)["sdkconfig"]
    build = tmp_path / "build"
    build.mkdir()
    (build / "sdkconfig").write_text("CONFIG_LWIP_MAX_SOCKETS=10\n")
    (build / "main.o").write_text("x")
    (build / PL.STAMP).write_text(first)
    assert not PL.stale_build(build, PL.config_signature(plan))
    kit.write_text("CONFIG_LWIP_MAX_SOCKETS=12\n")
    again = PL.config_signature(plan)
    assert again != first and PL.stale_build(build, again)
    assert PL.reset_build(b, build) == ["sdkconfig"]
    assert sorted(p.name for p in build.iterdir()) == [PL.STAMP, "main.o"]  # the rest is rebuilt by ninja
    # A kit board folder's cmake files name its partition table: a change there counts too.
    c3 = tmp_path / "boards" / "ESP32_C3_QEMU"
    c3.mkdir()
    (c3 / "mpconfigvariant_QEMU_OTA.cmake").write_text("set(KIT_PARTITION_TABLE a.csv)\n")
    k = dataclasses.replace(board("ESP32_C3_QEMU"), path=c3)
    before = E32.config_inputs(k)
    (c3 / "mpconfigvariant_QEMU_OTA.cmake").write_text("set(KIT_PARTITION_TABLE b.csv)\n")
    assert E32.config_inputs(k) != before
    assert E32.config_inputs(board("RPI_PICO_W")) == {}
    assert "sdkconfig" not in json.loads(PL.config_signature(PL.make_plan(board("RPI_PICO_W"), [], root=tmp_path)))
