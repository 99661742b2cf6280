"""Which boards CI builds, and how - derived from board facts, so a new board needs no CI edit.

Every board of boards/ falls into exactly one list (``python -m tools.build --matrix`` prints
them as GitHub output lines; .github/workflows/firmware.yml reads them, tests/tools/test_workflows.py
dry-runs them):

* ``docker``: its port has a Dockerfile stage (plan.IMAGE_PORTS) and the pinned MicroPython
  release (tools.host) is at least its board.json ``min_micropython``: a release image builds it
  with ``make BOARD=X firmware``.
* ``native``: its port has no build image (qemu): ``make BOARD=X firmware NATIVE=1`` on the runner
  with the port's ``HOST_PACKAGES`` (``packages``) and a MicroPython checkout at ``micropython``
  with the port's ``submodules`` (tools.build.checkout.SUBMODULES).
* ``idf``: an esp32 board that needs a MicroPython newer than the pinned release: built natively
  inside espressif/idf:<IDF_VERSION> from a checkout at ``micropython`` (the preview commit of
  tools.host; ``make submodules`` for ``submodules_board``); when it runs under QEMU (board.json
  ``qemu``: ``test_hw``), ESP-IDF's ``idf_tools.py install <qemu>`` fetches the emulator and
  ``make test-hw BOARD=X`` runs the hardware suite on it.

A board that fits none is a BuildError, which fails ``make test``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

from tools import host
from tools.build.base import BuildError
from tools.build.checkout import SUBMODULES, parse_version
from tools.build.plan import IMAGE_PORTS, ROOT, port
from tools.selection import boards as B


def needs_newer(board: B.Board, micropy_version: str = host.MICROPYTHON_TAG) -> bool:
    """True when ``board``'s min_micropython is newer than ``micropy_version``."""
    if not board.min_micropython:
        return False
    need, have = parse_version(board.min_micropython), parse_version(micropy_version)
    if need is None:
        raise BuildError("board.json of %s has min_micropython '%s'; write it like \"1.29.0\" or "
                         "\"1.29.0-preview\"." % (board.name, board.min_micropython))
    return have is not None and have < need


def ci_matrix(root: Optional[Path] = None) -> Dict[str, object]:
    """{"docker": [names], "native": [entries], "idf": [entries], "micropython": tag, "idf_version": v}."""
    docker: List[str] = []
    native: List[dict] = []
    idf: List[dict] = []
    try:
        boards = B.load_boards(root or ROOT)
    except B.BoardError as exc:
        raise BuildError(str(exc))
    for board in boards:
        newer = needs_newer(board)
        ref = host.MICROPYTHON_PREVIEW_COMMIT if newer else host.MICROPYTHON_TAG
        if board.port in IMAGE_PORTS and not newer:
            docker.append(board.name)
        elif board.port not in IMAGE_PORTS:
            native.append({"board": board.name, "port": board.port, "micropython": ref,
                           "packages": " ".join(port(board).HOST_PACKAGES),
                           "submodules": " ".join(SUBMODULES[board.port])})
        elif board.port == "esp32":
            idf.append({"board": board.name, "micropython": ref, "submodules_board": board.base_board or board.board,
                        "qemu": (board.qemu or {}).get("idf_tools_package", ""), "test_hw": bool(board.qemu)})
        else:
            raise BuildError(
                "CI cannot build %s: the %s image clones MicroPython %s but board.json asks for %s; pin a "
                "newer release in tools/host.py or teach tools/build/matrix.py how." % (
                    board.name, board.port, host.MICROPYTHON_TAG, board.min_micropython))
    return {"docker": docker, "native": native, "idf": idf,
            "micropython": host.MICROPYTHON_TAG, "idf_version": host.IDF_VERSION}


def github_output(matrix: Dict[str, object]) -> str:
    """``key=value`` lines for $GITHUB_OUTPUT (lists as one-line JSON)."""
    return "\n".join("%s=%s" % (k, v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
                     for k, v in matrix.items())
