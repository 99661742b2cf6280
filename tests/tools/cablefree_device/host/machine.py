"""Host stand-in for ``machine`` (virtual board only; never frozen or deployed).

``reset()`` ends the process with status 75; tests/tools/cablefree_board.py starts the board
again in the same folder, as a real reset restarts the firmware with its filesystem intact.
"""
import sys

RESET_STATUS = 75


def reset():
    print("machine stand-in: reset")
    raise SystemExit(RESET_STATUS)


def unique_id():
    return b"\x02\x00\x00\x00\xab\xcd"
