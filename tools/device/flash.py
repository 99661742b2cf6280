"""Write firmware/<BOARD>/ to a board: ``make flash BOARD=X [PORT=] [BAUD=] [ERASE=1]``.

* ESP32 family: esptool's Python API. The chip is detected and checked against the board's
  ``chip`` before anything is written, then the image goes to the board's ``flash_offset``
  (compressed, through the flasher stub). A failed write is retried at 115200 baud. The
  equivalent ``esptool`` command is printed first.
* RP2 (Pico W / Pico 2 W): the UF2 is copied to the board's mounted boot drive (hold BOOTSEL
  while plugging it in); without one, ``picotool load -x`` is used when installed.

``--erase-only`` (``make erase``) wipes the whole flash (ESP32: esptool; RP2: picotool).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from tools.selection import boards as B
from tools.device import deploy as S

ROOT = B.ROOT
DEFAULT_BAUD = 460800
SAFE_BAUD = 115200
#: Board-ID line of INFO_UF2.TXT on each RP2 family's boot drive.
UF2_BOARD_IDS = {"RP2040": "RPI-RP2", "RP2350": "RP2350"}
ESP_VIDS = (0x10C4, 0x1A86, 0x0403, 0x303A)


class FlashError(Exception):
    """A flashing problem, as one sentence saying what to do."""


# --------------------------------------------------------------------------------------------
# ESP32 (pure parts)


@dataclass
class EspPlan:
    chip: str  # esptool chip name, e.g. "esp32s3"
    port: str
    baud: int
    offset: int
    firmware: Path
    erase: bool = False


def parse_offset(text: Optional[str], board: str) -> int:
    try:
        return int(str(text), 0)
    except ValueError:
        raise FlashError(
            "Board '%s' has flash_offset %r in board.json; write it as a hex string like \"0x1000\"."
            % (board, text)
        )


def firmware_path(board: B.Board, root: Path = ROOT) -> Path:
    path = Path(root) / "firmware" / board.name / board.firmware
    if not path.is_file():
        raise FlashError(
            "No firmware at '%s': build it first with `make BOARD=%s firmware`."
            % (path.relative_to(root) if root in path.parents else path, board.name)
        )
    return path


def esp_plan(board: B.Board, firmware: Path, port: str, baud: Optional[int] = None, erase: bool = False) -> EspPlan:
    if not board.chip or board.flash_offset is None:
        raise FlashError("Board '%s' has no chip/flash_offset in board.json; it cannot be flashed with esptool." % board.name)
    return EspPlan(
        chip=board.chip,
        port=port,
        baud=int(baud or DEFAULT_BAUD),
        offset=parse_offset(board.flash_offset, board.name),
        firmware=firmware,
        erase=erase,
    )


def esptool_argv(plan: EspPlan) -> List[str]:
    """The esptool command line doing what :func:`flash_esp` does."""
    argv = ["esptool", "--chip", plan.chip, "--port", plan.port, "--baud", str(plan.baud), "write-flash"]
    if plan.erase:
        argv.append("--erase-all")
    return argv + ["-z", "0x%x" % plan.offset, str(plan.firmware)]


def erase_argv(chip: str, port: str, baud: Optional[int] = None) -> List[str]:
    return ["esptool", "--chip", chip, "--port", port, "--baud", str(baud or DEFAULT_BAUD), "erase-flash"]


def baud_attempts(baud: int) -> List[int]:
    """The bauds to try: the requested one, then the safe one."""
    return [baud] if baud <= SAFE_BAUD else [baud, SAFE_BAUD]


def chip_key(chip_name: str) -> str:
    """esptool's CHIP_NAME ('ESP32-S3') as board.json's chip ('esp32s3')."""
    return chip_name.lower().replace("-", "")


def chip_mismatch(port: str, detected: str, board: B.Board, boards: Sequence[B.Board]) -> Optional[str]:
    """The error for a board whose chip is not the one BOARD expects, else None."""
    if chip_key(detected) == board.chip:
        return None
    matches = [b.name for b in boards if b.chip == chip_key(detected)]
    hint = (
        "pass BOARD=%s." % matches[0]
        if len(matches) == 1
        else "pass one of BOARD=%s." % ", ".join(matches)
        if matches
        else "no board in boards/ uses that chip; add one."
    )
    return "The board on '%s' is an %s but BOARD=%s expects %s; %s" % (port, detected, board.name, board.mcu, hint)


# --------------------------------------------------------------------------------------------
# RP2 (pure parts)


def parse_info_uf2(text: str) -> Dict[str, str]:
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def mount_roots() -> List[Path]:
    """Folders where operating systems mount USB drives."""
    user = os.environ.get("USER") or os.environ.get("USERNAME") or ""
    roots = [Path("/media") / user, Path("/run/media") / user, Path("/media"), Path("/mnt"), Path("/Volumes")]
    if os.name == "nt":
        roots = [Path("%s:\\" % c) for c in "DEFGHIJKLMNOPQRSTUVWXYZ"]
        return [r for r in roots if r.exists()]
    return roots


def find_boot_drives(roots: Sequence[Path]) -> List[Tuple[Path, Dict[str, str]]]:
    """RP2 boot drives (folders with INFO_UF2.TXT) directly in or under ``roots``."""
    found = []
    seen = set()
    for root in roots:
        candidates = [root]
        try:
            candidates += sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            pass
        for folder in candidates:
            info_file = folder / "INFO_UF2.TXT"
            if folder in seen or not info_file.is_file():
                continue
            seen.add(folder)
            try:
                found.append((folder, parse_info_uf2(info_file.read_text(errors="replace"))))
            except OSError:
                continue
    return found


def pick_boot_drive(board: B.Board, drives: Sequence[Tuple[Path, Dict[str, str]]]) -> Optional[Path]:
    """The boot drive for ``board``; FlashError when only drives of another chip are there."""
    wanted = UF2_BOARD_IDS.get(board.mcu)
    matching = [d for d, info in drives if wanted is None or info.get("Board-ID", "").startswith(wanted)]
    if matching:
        return matching[0]
    if drives:
        folder, info = drives[0]
        other = [mcu for mcu, bid in UF2_BOARD_IDS.items() if info.get("Board-ID", "").startswith(bid)]
        suggest = [b.name for b in B.load_boards(board.root) if other and b.mcu == other[0]]
        raise FlashError(
            "The boot drive '%s' is an %s but BOARD=%s expects %s; %s"
            % (
                folder,
                other[0] if other else info.get("Board-ID", "unknown board"),
                board.name,
                board.mcu,
                "pass BOARD=%s." % suggest[0] if suggest else "use a matching board.",
            )
        )
    return None


def picotool_argv(uf2: Path) -> List[str]:
    return ["picotool", "load", "-x", str(uf2)]


# --------------------------------------------------------------------------------------------
# Doing it


def _esptool_errors():
    from serial import SerialException
    from esptool.util import FatalError

    return (FatalError, SerialException, OSError)


def flash_esp(
    plan: EspPlan,
    board: B.Board,
    boards: Sequence[B.Board],
    erase_only: bool = False,
    log=print,
    connect_attempts: int = 7,
) -> int:
    """Detect, check, (erase,) write, reset; retry at SAFE_BAUD. Returns the baud that worked."""
    from esptool.cmds import attach_flash, detect_chip, erase_flash, reset_chip, run_stub, write_flash

    errors = _esptool_errors()
    last = None
    for baud in baud_attempts(plan.baud):
        try:
            with detect_chip(plan.port, baud=SAFE_BAUD, connect_attempts=connect_attempts) as esp:
                problem = chip_mismatch(plan.port, esp.CHIP_NAME, board, boards)
                if problem:
                    raise FlashError(problem)
                esp = run_stub(esp)
                if baud != SAFE_BAUD:
                    esp.change_baud(baud)
                attach_flash(esp)
                if erase_only or plan.erase:
                    log("Erasing the whole flash of the %s on %s..." % (esp.CHIP_NAME, plan.port))
                    erase_flash(esp)
                if not erase_only:
                    write_flash(esp, [(plan.offset, str(plan.firmware))], compress=True)
                reset_chip(esp, "hard-reset")
            return baud
        except errors as exc:
            last = exc
            if baud != SAFE_BAUD:
                log("Failed at %d baud (%s); retrying at %d." % (baud, _oneline(exc), SAFE_BAUD))
    raise FlashError(
        "esptool could not %s the board on '%s': %s. Check the cable and PORT=, hold BOOT while "
        "pressing RESET to force download mode, or try BAUD=115200."
        % ("erase" if erase_only else "flash", plan.port, _oneline(last))
    )


def _oneline(exc) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__).rstrip(".")


def touch_1200(port: str) -> None:
    """Ask a running MicroPython on an RP2 to reboot into BOOTSEL (the 1200-baud touch)."""
    import serial

    try:
        serial.Serial(port, 1200).close()
    except (serial.SerialException, OSError):
        pass


def rp2_serial_port(port: Optional[str], ports: Optional[Sequence[S.SerialPort]] = None) -> Optional[str]:
    """The serial port of a running RP2 MicroPython to send the 1200-baud touch to, if any."""
    if port:
        return S.check_port(port)
    ports = S.list_serial_ports() if ports is None else ports
    picos = [p.device for p in ports if p.vid == 0x2E8A]
    return picos[0] if len(picos) == 1 else None


def flash_rp2(
    board: B.Board,
    uf2: Optional[Path],
    port: Optional[str] = None,
    erase: bool = False,
    log=print,
    roots: Optional[Sequence[Path]] = None,
    wait: float = 10.0,
    ports: Optional[Sequence[S.SerialPort]] = None,
) -> str:
    """Erase (picotool) and/or copy ``uf2`` to the boot drive (or load it with picotool)."""
    roots = mount_roots() if roots is None else roots
    picotool = shutil.which("picotool")
    if erase:
        if picotool is None:
            raise FlashError(
                "Erasing %s needs picotool (https://github.com/raspberrypi/picotool) with the board "
                "in BOOTSEL mode; or wipe its filesystem from the REPL instead." % board.name
            )
        log("$ picotool erase")
        if subprocess.run([picotool, "erase"]).returncode != 0:
            raise FlashError("picotool could not erase the board: hold BOOTSEL while plugging it in and retry.")
        if uf2 is None:
            return "erased"
    if uf2 is None:
        return "nothing to do"
    drive = pick_boot_drive(board, find_boot_drives(roots))
    if drive is None:
        device = rp2_serial_port(port, ports)
        if device:
            log("Asking the board on %s to reboot into BOOTSEL (1200-baud touch)..." % device)
            touch_1200(device)
            deadline = time.time() + wait
            while drive is None and time.time() < deadline:
                time.sleep(0.5)
                drive = pick_boot_drive(board, find_boot_drives(roots))
    if drive is not None:
        log("Copying %s to the boot drive %s..." % (uf2, drive))
        shutil.copyfile(str(uf2), str(drive / uf2.name))
        return "copied to %s; the board restarts with it" % drive
    if picotool is not None:
        argv = picotool_argv(uf2)
        log("$ " + " ".join(argv))
        if subprocess.run([picotool] + argv[1:]).returncode != 0:
            raise FlashError("picotool could not load %s: hold BOOTSEL while plugging the board in and retry." % uf2)
        return "loaded with picotool"
    raise FlashError(
        "No RP2 boot drive found: hold BOOTSEL while plugging the %s in (it mounts as %s), "
        "then run `make flash BOARD=%s` again." % (board.name, UF2_BOARD_IDS.get(board.mcu, "a USB drive"), board.name)
    )


def flash(
    board_name: str,
    port: Optional[str] = None,
    baud: Optional[int] = None,
    erase: bool = False,
    erase_only: bool = False,
    root: Path = ROOT,
    log=print,
) -> str:
    try:
        board = B.load_board(board_name, root)
        boards = B.load_boards(root)
    except B.BoardError as exc:
        raise FlashError(str(exc))
    if board.port == "unix":
        raise FlashError(
            "BOARD=%s is the virtual board (the unix port): there is nothing to flash; run it with `make run`." % board.name
        )
    if board.port == "rp2":
        uf2 = None if erase_only else firmware_path(board, root)
        return flash_rp2(board, uf2, port, erase or erase_only, log)
    firmware = firmware_path(board, root) if not erase_only else Path(board.firmware)
    try:
        device = S.resolve_port(port, vids=ESP_VIDS)
    except S.DeployError as exc:
        raise FlashError(str(exc))
    plan = esp_plan(board, firmware, device, baud, erase)
    argv = erase_argv(plan.chip, device, plan.baud) if erase_only else esptool_argv(plan)
    log("Equivalent command: " + " ".join(argv))
    used = flash_esp(plan, board, boards, erase_only=erase_only, log=log)
    return "%s at %d baud" % ("erased" if erase_only else "written", used)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.device.flash", description=__doc__.split("\n")[0])
    parser.add_argument("--board", required=True)
    parser.add_argument("--port", default=None, help="serial port (default: the one board found)")
    parser.add_argument("--baud", type=int, default=None, help="esptool baud rate (default %d)" % DEFAULT_BAUD)
    parser.add_argument("--erase", action="store_true", help="erase the whole flash before writing")
    parser.add_argument("--erase-only", action="store_true", help="only erase the whole flash")
    args = parser.parse_args(argv)
    try:
        result = flash(args.board, args.port, args.baud, args.erase, args.erase_only)
    except FlashError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: Interrupted; the board may hold a partial image - run `make flash` again.", file=sys.stderr)
        return 1
    print("Done: %s." % result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
