"""The bare-metal board QEMU_MPS2_AN385: its build plan (tools/build/plan.py, qemu.py) and runner (tools/targets/qemu_arm.py).

The runner tests that boot the image need firmware/QEMU_MPS2_AN385/firmware.elf (built with
`make BOARD=QEMU_MPS2_AN385 firmware NATIVE=1 MICROPY_DIR=...`) and qemu-system-arm; without
them they are skipped.
"""
import shutil
import subprocess
import sys

import pytest

from tools.selection import boards as B
from tools.build import base as BASE
from tools.build import plan as PL
from tools.build import run as RUN
from tools.targets import qemu_arm as Q

BOARD = "QEMU_MPS2_AN385"
FIRMWARE = Q.firmware_path(B.load_board(BOARD))
needs_image = pytest.mark.skipif(
    not FIRMWARE.is_file() or shutil.which(Q.QEMU) is None,
    reason="needs %s (make BOARD=%s firmware NATIVE=1 MICROPY_DIR=...) and %s" % (FIRMWARE, BOARD, Q.QEMU),
)


def test_native_plan_runs_the_qemu_port(tmp_path):
    checkout = tmp_path / "mp"
    plan = PL.make_plan(B.load_board(BOARD), ["test_client"], root=tmp_path, micropy_dir=checkout,
                       native=True, jobs=3)
    argv = plan.steps[-1].argv
    assert argv[:3] == ["make", "-C", "%s/ports/qemu" % checkout.resolve()]
    assert "BOARD=MPS2_AN385" in argv and "-j3" in argv
    assert "FROZEN_MANIFEST=%s" % plan.manifest.resolve() in argv
    assert plan.build_dir == checkout.resolve() / "ports/qemu/build-MPS2_AN385"
    assert [s.name for s in plan.steps] == ["mpy-cross", "firmware"]


def test_docker_build_is_refused_with_the_fix(tmp_path):
    with pytest.raises(BASE.BuildError) as exc:
        PL.make_plan(B.load_board(BOARD), [], root=tmp_path)
    assert "NATIVE=1 MICROPY_DIR=" in str(exc.value)
    with pytest.raises(BASE.BuildError, match="NATIVE=1"):
        RUN.build(BOARD, engine=object(), root=B.ROOT)  # refused before Docker is touched


def test_qemu_command_line():
    board = B.load_board(BOARD)
    argv = Q.qemu_argv(FIRMWARE, Q.machine_name(board))
    assert argv[:3] == ["qemu-system-arm", "-machine", "mps2-an385"]
    assert argv[argv.index("-serial") + 1] == "pty"
    assert argv[-2:] == ["-kernel", str(FIRMWARE)]
    assert "-semihosting" in argv and argv[argv.index("-monitor") + 1] == "null"


def test_missing_firmware_is_one_sentence(tmp_path):
    with pytest.raises(Q.QemuError) as exc:
        Q.run_scripts(["print(1)"], firmware=tmp_path / "none.elf")
    assert "make BOARD=QEMU_MPS2_AN385 firmware NATIVE=1" in str(exc.value)


def test_cli_without_a_script_fails(capsys):
    assert Q.main([]) == 2
    assert "nothing to run" in capsys.readouterr().err


@needs_image
def test_runs_scripts_on_the_bare_metal_heap():
    out = Q.run_scripts([
        "import sys, gc\nprint(sys.platform, sys.implementation._machine)\n"
        "gc.collect(); print(gc.mem_alloc() + gc.mem_free())",
        "x = 6 * 7\nprint(x)",
        "print('x' in globals())",  # a soft reset between scripts
    ])
    first = out[0].split("\n")
    assert first[0].startswith("qemu mps2-an385")
    assert 100000 < int(first[1]) < 200000  # the board's ~140 KB heap, not the host's
    assert out[1] == "42\n" and out[2] == "False\n"


@needs_image
def test_frozen_framework_serves_a_test_client_request():
    script = (
        "import asyncio\nfrom microdot import Microdot\nfrom microdot.test_client import TestClient\n"
        "app = Microdot()\n@app.get('/j')\nasync def j(req):\n    return {'n': int(req.args['n']) + 1}\n"
        "r = asyncio.run(TestClient(app).get('/j?n=41'))\nprint(r.status_code, r.json['n'])\n"
        "import microdot.microdot as m\ntry:\n    open(m.__file__)\nexcept OSError:\n    print('frozen')\n"
    )
    assert Q.run_scripts([script])[0] == "200 42\nfrozen\n"  # no filesystem holds the module


@needs_image
def test_error_on_the_board_is_reported_and_qemu_is_gone():
    with pytest.raises(Q.QemuError, match="ZeroDivisionError"):
        Q.run_scripts(["print(1 // 0)"])
    ps = subprocess.run(["pgrep", "-f", str(FIRMWARE)], capture_output=True, text=True)
    assert ps.stdout.strip() == ""


@needs_image
def test_cli_prints_the_output(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("print('hello from', 'the board')\n")
    proc = subprocess.run([sys.executable, "-m", "tools.targets.qemu_arm", str(script)], capture_output=True,
                          text=True, cwd=str(B.ROOT), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello from the board\n"
