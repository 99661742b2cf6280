"""The esp32 port: board folders of the kit, variants (Wi-Fi blobs, OTA), the eFuse image for
QEMU, the merged flash image and what an esp32 build leaves in firmware/<BOARD>/.

Besides the port questions every port module answers (tools/build/unix.py lists them), the
orchestrator (tools.build.run) asks it ``esp32_board`` (version check, the MicroPython fixes
board.json names, variant), ``ota_board`` (OTA=1), ``blobs_message`` (ESP-IDF without the
Wi-Fi blobs) and ``write_wrapper`` (the board folder that adds the kit's sdkconfig file to
MicroPython's); the plan asks ``config_inputs`` (the sdkconfig files, for the signature).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Callable, Dict, List, Optional, Tuple

from tools.build.base import BuildError, Step, in_container, sha256_file, variant_file, write_folder
from tools.build.checkout import check_min_micropython
from tools.selection import boards as B

#: What an esp32 build leaves in firmware/<BOARD>/ besides the firmware: the merged image,
#: the app image alone (what `make ota FIRMWARE=1` sends) and, under QEMU, the eFuse image.
FLASH_IMAGE = "flash_image.bin"
APP_IMAGE = "micropython.bin"
QEMU_EFUSE = "qemu_efuse.bin"
#: ESP-IDF's prebuilt Wi-Fi libraries (components/esp_wifi/lib/<chip>/, from the
#: espressif/esp32-wifi-lib submodule): every image with network.WLAN links them.
WIFI_BLOBS = ("libcore.a", "libnet80211.a", "libpp.a")
#: Run by the "efuse" step with ESP-IDF's Python: the default eFuse image `idf.py qemu` uses.
EFUSE_SCRIPT = (
    "import os, sys; sys.path.insert(0, os.path.join(os.environ['IDF_PATH'], 'tools')); "
    "from idf_py_actions.qemu_ext import QEMU_TARGETS; "
    "open(sys.argv[2], 'wb').write(QEMU_TARGETS[sys.argv[1]].default_efuse)"
)
#: idf.py passes its -D settings on every run: nothing to reset in a build folder.
CACHES_MANIFEST = False
#: Build output lines that mean a Wi-Fi blob was missing at link time.
MISSING_BLOB = re.compile(r"esp_wifi/lib/[a-z0-9]+/lib[a-z0-9_]+\.a|cannot find -l(core|net80211|pp)\b")


def _openeth_without_emac(text: str) -> Optional[bool]:
    """Whether network_lan.c keeps PHY_OPENETH off the internal-EMAC branch (the one that
    insists on mdc=/mdio=) on the original ESP32; None when the file has no such branch."""
    end = text.find('"mdc and mdio must be specified"')
    start = text.rfind("IS_SPI_PHY(", 0, end) if end >= 0 else -1
    if start < 0:
        return None
    return "PHY_OPENETH" in text[start:end]


#: The fix lan-rx-after-netif-start: the C it adds to network_lan.c and the lines it goes next to.
LAN_RX_MARK = "kit fix lan-rx-after-netif-start"
LAN_RX_FUNCTIONS = """\
// %s: esp_eth_start() enables the MAC as soon as the PHY
// reports a link (QEMU's OpenCores Ethernet does at once), before the ETHERNET_EVENT_START
// handler of ESP-IDF's netif glue has added the netif to lwIP. On a dual-core chip the Ethernet
// rx task can hand a frame to ethernetif_input() meanwhile, which frees it through a NULL
// esp_netif. Frames are dropped until that handler has run (lan_netif_started is registered
// after it, so it runs after it), then go to the netif as the glue's own input path sends them.
#if !CONFIG_ESP_NETIF_L2_TAP
static esp_err_t lan_drop_input(esp_eth_handle_t eth_handle, uint8_t *buffer, uint32_t length, void *priv) {
    free(buffer);
    return ESP_OK;
}

static esp_err_t lan_input_to_netif(esp_eth_handle_t eth_handle, uint8_t *buffer, uint32_t length, void *priv) {
    return esp_netif_receive((esp_netif_t *)priv, buffer, length, NULL);
}

static void lan_netif_started(void *arg, esp_event_base_t event_base, int32_t event_id, void *event_data) {
    lan_if_obj_t *self = arg;
    if (*(esp_eth_handle_t *)event_data == self->eth_handle) {
        esp_eth_update_input_path(self->eth_handle, lan_input_to_netif, self->base.netif);
    }
}
#endif

""" % LAN_RX_MARK
LAN_RX_REGISTER = """
    #if !CONFIG_ESP_NETIF_L2_TAP
    // after the glue's own ETHERNET_EVENT_START handler (%s)
    if (esp_event_handler_register(ETH_EVENT, ETHERNET_EVENT_START, &lan_netif_started, self) != ESP_OK) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("esp_event_handler_register failed"));
    }
    #endif
""" % LAN_RX_MARK
LAN_RX_DROP = """\
            #if !CONFIG_ESP_NETIF_L2_TAP
            esp_eth_update_input_path(self->eth_handle, lan_drop_input, NULL); // until the netif is started
            #endif
"""
LAN_RX_ANCHORS = (
    "static void set_mac_address(",
    "if (esp_netif_attach(self->base.netif, esp_eth_new_netif_glue(self->eth_handle)) != ESP_OK) {",
    "            self->base.active = (esp_eth_start(self->eth_handle) == ESP_OK);",
)


def _lan_rx_after_netif_start(text: str) -> Optional[bool]:
    """Whether network_lan.c drops received frames until the netif is started; None when the
    file lacks the places the fix goes."""
    if LAN_RX_MARK in text:
        return "lan_drop_input, NULL" in text and "&lan_netif_started, self" in text
    if any(text.count(anchor) != 1 for anchor in LAN_RX_ANCHORS):
        return None
    return False


def _apply_lan_rx_after_netif_start(text: str) -> Optional[str]:
    """network_lan.c with received frames dropped until ESP-IDF's ETHERNET_EVENT_START handler
    has started the netif; None for a shape this edit does not know."""
    if _lan_rx_after_netif_start(text) is not False:
        return None
    functions, attach, start = LAN_RX_ANCHORS
    text = text.replace(functions, LAN_RX_FUNCTIONS + functions)
    end = text.find("\n    }\n", text.index(attach))
    if end < 0:
        return None
    end += len("\n    }\n")
    text = text[:end] + LAN_RX_REGISTER + text[end:]
    return text.replace(start, LAN_RX_DROP + start)


def _apply_openeth_without_emac(text: str) -> Optional[str]:
    """network_lan.c with PHY_OPENETH kept off the internal-EMAC branch; None when the file
    has no such branch (or a shape this edit does not know)."""
    end = text.find('"mdc and mdio must be specified"')
    start = text.rfind("if (!IS_SPI_PHY(", 0, end) if end >= 0 else -1
    if start < 0:
        return None
    close = text.find(")) {", start, end)
    if close < 0:
        return None
    indent = text[text.rfind("\n", 0, start) + 1:start]
    extra = "\n%s    #if CONFIG_ETH_USE_OPENETH\n%s    && args[ARG_phy_type].u_int != PHY_OPENETH\n" \
            "%s    #endif\n%s    ) {" % (indent, indent, indent, indent)
    return text[:close + 1] + extra + text[close + 4:]


#: MicroPython fixes a board can need (board.json ``micropython_fixes``): name -> (file of the
#: checkout, test of its text (None: cannot tell), how ``make micropython-fixes`` makes it (text
#: -> fixed text, None for a shape it does not know), what goes wrong without it, what the fix is).
FIXES = {
    "openeth-without-emac": (
        "ports/esp32/network_lan.c",
        _openeth_without_emac,
        _apply_openeth_without_emac,
        "on the original ESP32 network.LAN(phy_type=PHY_OPENETH) takes the internal-EMAC path and "
        "fails (\"mdc and mdio must be specified\"), so the board would boot without a network",
        "keep PHY_OPENETH out of the `if (!IS_SPI_PHY(...))` mdc/mdio branch (the micropython stage "
        "of esp32-qemu.sh does; `make micropython-fixes BOARD=%(board)s MICROPY_DIR=%(checkout)s` "
        "does it to your checkout; docs/emulation.md)",
    ),
    "lan-rx-after-netif-start": (
        "ports/esp32/network_lan.c",
        _lan_rx_after_netif_start,
        _apply_lan_rx_after_netif_start,
        "on the dual-core ESP32 a frame can reach ESP-IDF's ethernetif_input() after "
        "LAN.active(True) enabled the MAC but before the netif was added to lwIP, and it is freed "
        "through a NULL esp_netif (Guru Meditation, LoadProhibited, in emac_opencores_rx_task: "
        "under QEMU the frames the host sent while the board restarted arrive at that moment)",
        "drop received frames until ESP-IDF's ETHERNET_EVENT_START handler has started the netif "
        "(`make micropython-fixes BOARD=%(board)s MICROPY_DIR=%(checkout)s` does it to your "
        "checkout; docs/emulation.md)",
    ),
}


def _fix(board: B.Board, name: str) -> tuple:
    """FIXES[name]; BuildError when board.json names a fix the kit does not know."""
    if name not in FIXES:
        raise BuildError("board.json of %s names the MicroPython fix '%s', which the kit does not know "
                         "(known: %s); fix board.json." % (board.name, name, ", ".join(sorted(FIXES))))
    return FIXES[name]


def apply_fixes(board: B.Board, checkout: Path, log: Callable[[str], None] = print) -> List[str]:
    """Make the fixes board.json's ``micropython_fixes`` names in ``checkout``; the names of
    those changed now (a fix already there is left as it is). BuildError when one cannot be made."""
    changed = []
    for name in board.micropython_fixes or ():
        rel, test, make, _, fix = _fix(board, name)
        path = Path(checkout) / rel
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise BuildError("%s is not a MicroPython checkout (no %s); pass MICROPY_DIR= the folder that "
                             "holds ports/." % (checkout, rel))
        if test(text) is not False:
            log("    %s: already there" % name)
            continue
        fixed = make(text)
        if fixed is None or test(fixed) is not True:
            raise BuildError("the kit cannot make the MicroPython fix %s in %s: its shape is new; make it by "
                             "hand (%s)." % (name, path, fix % {"board": board.name, "checkout": checkout}))
        tmp = path.with_name(path.name + ".kit-fix")
        tmp.write_text(fixed, encoding="utf-8")
        os.replace(str(tmp), str(path))
        log("    %s: made in %s" % (name, path))
        changed.append(name)
    return changed


#: The kit's ESP-IDF settings for every esp32 build (sockets: docs/limits.md), in boards/. The
#: kit's own board folders append it in their mpconfigboard.cmake; a board built from
#: MicroPython's folder gets it through a wrapper folder (``wrapper_files``).
KIT_SDKCONFIG = "sdkconfig.esp32"
#: Where the wrapper folders are written: firmware/.cache/esp32-boards/<BOARD>/<MicroPython board>/.
WRAPPERS = ("firmware", ".cache", "esp32-boards")
#: ROMFS areas (docs/romfs.md) of the boards built from MicroPython's folders whose board.json
#: has ``romfs_size``: the partition table of the default build (the port's own, a name in
#: ports/esp32) and of the OTA variant (the kit's, under boards/). Other variants keep
#: MicroPython's table (ESP32_GENERIC's D2WD has 2 MiB of flash) and get no area.
ROMFS_TABLE = "partitions-4MiB-romfs.csv"
OTA_ROMFS_TABLE = ("partitions", "partitions-4MiB-ota-romfs.csv")


def romfs_table(board: B.Board, root: Path) -> Optional[str]:
    """The partition table with the ROMFS area of a wrapped build of ``board``, as a cmake path
    (relative to ports/esp32 or to the wrapper folder, so the same text serves the host and
    Docker); None when that build has no area."""
    if board.variant is None and board.romfs_size:
        return "${CMAKE_SOURCE_DIR}/%s" % ROMFS_TABLE
    if board.variant is not None and board.variant == board.ota_variant and board.ota_romfs_size:
        kit = Path(root).joinpath("boards", *OTA_ROMFS_TABLE)
        return "${CMAKE_CURRENT_LIST_DIR}/%s" % Path(os.path.relpath(str(kit), str(wrapper_dir(board, root)))).as_posix()
    return None


def wrapper_dir(board: B.Board, root: Path) -> Path:
    """The wrapper folder of an esp32 board built from MicroPython's board folder (host path)."""
    return Path(root).joinpath(*WRAPPERS) / board.name / board.board


def kit_board_dir(board: B.Board, root: Path, mount: Optional[str]) -> Optional[str]:
    """BOARD_DIR= for an esp32 board: its folder in the kit, else the wrapper of MicroPython's
    (None: not an esp32 board).

    ``mount`` is where the project appears in the build container (None: a native build).
    """
    if board.port != "esp32":
        return None
    folder = wrapper_dir(board, root) if board.board_dir_name is None else board.path / board.board_dir_name
    return in_container(folder, root, mount)


def wrapper_files(board: B.Board, root: Path) -> Dict[str, str]:
    """The files of the wrapper folder: MicroPython's ports/esp32/boards/<board> (cmake, header,
    the variant being built) plus the kit's sdkconfig file after the board's own and, for a build
    with a ROMFS area (``romfs_table``), its partition table and MICROPY_VFS_ROM. Paths are
    relative (to ports/esp32, to the wrapper), so the same files serve the host and Docker. A
    board folder whose pins.csv matters cannot be wrapped (the kit's boards have none)."""
    upstream = "${CMAKE_SOURCE_DIR}/boards/%s" % board.board
    kit = os.path.relpath(str(Path(root) / "boards" / KIT_SDKCONFIG), str(wrapper_dir(board, root)))
    head = "# Written by tools/build/esp32.py for every build: MicroPython's %s board folder plus the kit's\n" \
           "# ESP-IDF settings (boards/%s). Edit that file, not this one.\n" % (board.board, KIT_SDKCONFIG)
    files = {
        "mpconfigboard.cmake": head + "include(%s/mpconfigboard.cmake)\n"
                                      "list(APPEND SDKCONFIG_DEFAULTS ${CMAKE_CURRENT_LIST_DIR}/%s)\n"
                                      % (upstream, Path(kit).as_posix()),
        "mpconfigboard.h": "// Written by tools/build/esp32.py: MicroPython's %s board header.\n"
                           "#include \"boards/%s/mpconfigboard.h\"\n" % (board.board, board.board),
    }
    files.update(variant_file(board.variant, head, upstream))
    table = romfs_table(board, root)
    if table is not None:
        # After the variant's own files (ESP32_GENERIC's OTA names its table there): the table
        # reaches ESP-IDF through a generated sdkconfig file, since one cannot name a path that
        # differs between the host and Docker. MicroPython mounts the "romfs" partition at /rom.
        variant = "mpconfigvariant_%s.cmake" % board.variant if board.variant else "mpconfigvariant.cmake"
        files[variant] += (
            "# ROMFS area (docs/romfs.md): the partition table with a \"romfs\" data partition (subtype 0x8f).\n"
            "get_filename_component(KIT_ROMFS_TABLE \"%s\" ABSOLUTE)\n"
            "file(WRITE ${CMAKE_BINARY_DIR}/sdkconfig.kit_romfs\n"
            "    \"CONFIG_PARTITION_TABLE_CUSTOM=y\\nCONFIG_PARTITION_TABLE_CUSTOM_FILENAME=\\\"${KIT_ROMFS_TABLE}\\\"\\n\")\n"
            "list(APPEND SDKCONFIG_DEFAULTS ${CMAKE_BINARY_DIR}/sdkconfig.kit_romfs)\n" % table)
        files["mpconfigboard.h"] += "// ROMFS (docs/romfs.md): the \"romfs\" partition mounted at /rom, on sys.path.\n" \
                                    "#define MICROPY_VFS_ROM (1)\n"
    return files


def write_wrapper(board: B.Board, root: Path) -> Optional[Path]:
    """Write the wrapper folder of an esp32 board built from MicroPython's folder (a file only
    when its text changed, so cmake does not reconfigure for nothing); None for other boards."""
    if board.port != "esp32" or board.board_dir_name is not None:
        return None
    return write_folder(wrapper_dir(board, root), wrapper_files(board, root))


def make_argv(board: B.Board, micropy: str, frozen_manifest: str, jobs: int,
              board_dir: Optional[str] = None) -> List[str]:
    """The port's make command line (idf.py/ninja runs in parallel by itself: no -j)."""
    argv = ["make", "-C", "%s/ports/esp32" % micropy.rstrip("/")]
    argv.append("BOARD_DIR=%s" % board_dir if board_dir else "BOARD=%s" % board.board)
    if board.variant:
        argv.append("BOARD_VARIANT=%s" % board.variant)
    return argv + ["FROZEN_MANIFEST=%s" % frozen_manifest]


def reset_names(build_dir: Path) -> List[str]:
    """ESP-IDF keeps the values of an existing build/sdkconfig over changed defaults: drop it
    (the build then starts from the sdkconfig files again, and recompiles what they change)."""
    return ["sdkconfig"]


def config_inputs(board: B.Board) -> Dict[str, str]:
    """What the build folder's configuration comes from beyond the make line (part of its
    signature, tools.build.plan.config_signature): the sha256 of the kit's sdkconfig files
    (boards/sdkconfig.esp32, the kit's OTA partition table, and the sdkconfig and cmake files
    of the kit's board folder, which name the partition table), so that a changed one makes
    the next build drop build/sdkconfig."""
    if board.port != "esp32":
        return {}
    files = [board.root / "boards" / KIT_SDKCONFIG, board.root.joinpath("boards", *OTA_ROMFS_TABLE)]
    if board.board_dir_name is not None:
        folder = board.path / board.board_dir_name
        files += sorted(folder.glob("sdkconfig*")) + sorted(folder.glob("*.cmake"))
    h = hashlib.sha256()
    if board.board_dir_name is None:  # the wrapper's text (its ROMFS table)
        for name, text in sorted(wrapper_files(board, board.root).items()):
            h.update(name.encode() + b"\0" + text.encode() + b"\0")
    for path in files:
        try:
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            h.update(path.name.encode() + b"\0-\0")
    return {"sdkconfig": h.hexdigest()[:16]}


def app_image(board: B.Board, build_dir: Path) -> Path:
    """The app alone (micropython.bin), which the app partition holds."""
    return build_dir / APP_IMAGE


def steps(board: B.Board, build_dir: str) -> List[Step]:
    """Steps after the port's make: the eFuse image for boards that run under QEMU."""
    if board.port != "esp32" or not board.qemu or not board.chip:
        return []
    argv = ["python", "-c", EFUSE_SCRIPT, board.chip, "%s/%s" % (build_dir, QEMU_EFUSE)]
    return [Step("efuse", "Writing the eFuse image `idf.py qemu` uses (ESP-IDF's default)", argv)]


def board_variants(board: B.Board, checkout: Optional[Path]) -> Optional[List[str]]:
    """The variants of the board's MicroPython board folder, when it can be looked at."""
    if board.board_dir_name is not None:
        folder = (board.path / board.board_dir_name).resolve()
    elif checkout is not None:
        folder = board.board_dir(checkout)
    else:
        return None
    return sorted(p.name[len("mpconfigvariant_"):-len(".cmake")] for p in folder.glob("mpconfigvariant_*.cmake"))


def missing_wifi_blobs(chip: str, idf_path: Optional[str]) -> List[str]:
    """Which of ESP-IDF's Wi-Fi libraries for ``chip`` are absent (none when unknown)."""
    if not idf_path or not (Path(idf_path) / "components" / "esp_wifi").is_dir():
        return []
    lib = Path(idf_path) / "components" / "esp_wifi" / "lib" / chip
    return [name for name in WIFI_BLOBS if not (lib / name).is_file()]


def with_variant(board: B.Board, variant: Optional[str]) -> B.Board:
    """``board`` building ``variant`` (its build folder follows: build-<BOARD>-<VARIANT>)."""
    if variant == board.variant:
        return board
    folder = "build-%s%s" % (board.board, "-" + variant if variant else "")
    return dataclasses.replace(board, variant=variant, build_output="%s/%s" % (folder, PurePosixPath(board.build_output).name))


def ota_build_variant(board: B.Board, variant: Optional[str], micropy_version: str) -> str:
    """The variant an OTA=1 build of ``board`` uses; BuildError if it has none or BOARD_VARIANT= differs."""
    try:
        ota = B.ota_variant(board, micropy_version)
    except B.BoardError as exc:
        raise BuildError(str(exc))
    if variant and variant != ota:
        raise BuildError(
            "OTA=1 builds %s's variant %s, not BOARD_VARIANT=%s: drop one of them." % (board.name, ota, variant))
    return ota


def ota_board(board: B.Board, variant: Optional[str], micropy_version: str) -> B.Board:
    """``board`` as an OTA=1 build makes it: its OTA variant (whose blob-free counterpart, if
    board.json names one, replaces it where ESP-IDF lacks the Wi-Fi blobs) and the size of one
    app slot as the partition the image must fit."""
    ota = with_variant(board, ota_build_variant(board, variant, micropy_version))
    return dataclasses.replace(
        ota,
        noblobs_variant=board.ota_noblobs_variant,
        app_partition_size=board.ota_app_partition_size or board.app_partition_size,
    )


def esp32_board(
    board: B.Board,
    variant: Optional[str],
    checkout: Optional[Path],
    native: bool,
    micropy_version: str,
    log: Callable[[str], None] = print,
    idf_path: Optional[str] = None,
) -> B.Board:
    """The esp32 board as it will be built: version checked, variant chosen.

    The variant is ``variant`` (BOARD_VARIANT=) if given, else board.json's; a native build
    whose ESP-IDF lacks the Wi-Fi blobs switches to board.json's ``noblobs_variant``.
    """
    if board.port != "esp32":
        if variant:
            raise BuildError("BOARD_VARIANT= applies to esp32 boards; %s is a %s board." % (board.name, board.port))
        return board
    check_min_micropython(board, checkout, micropy_version)
    check_fixes(board, checkout, log)
    if variant:
        known = board_variants(board, checkout)
        if known is not None and variant not in known:
            raise BuildError(
                "%s has no variant '%s' (it has: %s); pick one with BOARD_VARIANT= or leave it out."
                % (board.name, variant, ", ".join(known) or "none")
            )
        return with_variant(board, variant)
    if native and board.noblobs_variant and board.variant != board.noblobs_variant:
        idf_path = idf_path if idf_path is not None else os.environ.get("IDF_PATH")
        missing = missing_wifi_blobs(board.chip or "", idf_path)
        if missing:
            log(
                "    ESP-IDF at %s has no Wi-Fi blobs for %s: building variant %s (BOARD_VARIANT= overrides)"
                % (idf_path, board.chip, board.noblobs_variant)
            )
            return with_variant(board, board.noblobs_variant)
    return board


def check_fixes(board: B.Board, checkout: Optional[Path], log: Callable[[str], None] = print) -> None:
    """Refuse, in one line, a checkout without a fix board.json's ``micropython_fixes`` names
    (the build image's own clone cannot be looked at before the build: a note says so)."""
    for name in board.micropython_fixes or ():
        path, test, _, wrong, fix = _fix(board, name)
        if checkout is None:
            log("    %s needs the MicroPython fix %s, which the build image's clone is not checked for: "
                "build with MICROPY_DIR= a checkout to have it checked" % (board.name, name))
            continue
        try:
            text = (Path(checkout) / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # not an esp32 checkout at all: the port's build says so
        if test(text) is False:
            raise BuildError("%s needs the MicroPython fix %s, which %s lacks: %s; %s." % (
                board.name, name, Path(checkout) / path, wrong, fix % {"board": board.name, "checkout": checkout}))


def _emulated_twins(board: B.Board) -> List[str]:
    """Boards that run under QEMU without the Wi-Fi blobs: those of ``board``'s chip, else all."""
    try:
        others = [b for b in B.load_boards(board.root) if b.qemu and b.noblobs_variant and b.name != board.name]
    except B.BoardError:
        return []
    same = [b.name for b in others if b.chip == board.chip]
    return same or [b.name for b in others]


def blobs_message(board: B.Board, idf_path: Optional[str], log_text: str = "") -> Optional[str]:
    """The one-line error for an esp32 build that needs Wi-Fi blobs ESP-IDF lacks, else None."""
    if board.port != "esp32" or (board.noblobs_variant and board.variant == board.noblobs_variant):
        return None
    missing = missing_wifi_blobs(board.chip or "", idf_path)
    if not missing and not MISSING_BLOB.search(log_text):
        return None
    lib = "components/esp_wifi/lib/%s" % board.chip
    what = ", ".join(missing) if missing else "the Wi-Fi libraries"
    fix = "run `git submodule update --init components/esp_wifi/lib` in ESP-IDF (%s)" % (idf_path or "$IDF_PATH")
    if board.noblobs_variant:
        fix += ", or build BOARD_VARIANT=%s" % board.noblobs_variant
    else:
        twins = _emulated_twins(board)
        if twins:
            fix += ", or build BOARD=%s, which does without them" % " or BOARD=".join(twins)
    return "%s needs ESP-IDF's Wi-Fi blobs but %s lacks %s (%s): %s." % (
        board.name, lib, what, "espressif/esp32-wifi-lib", fix)


def flash_layout(build_dir: Path) -> Tuple[Dict[str, str], List[Tuple[int, str]]]:
    """The flash settings and (offset, file) pairs ESP-IDF wrote to ``flash_args``."""
    try:
        lines = [l.split() for l in (build_dir / "flash_args").read_text(encoding="utf-8").splitlines() if l.strip()]
    except OSError:
        raise BuildError("The build left no %s: see build.log and report it." % (build_dir / "flash_args"))
    settings: Dict[str, str] = {}
    pairs: List[Tuple[int, str]] = []
    for words in lines:
        if words[0].startswith("--"):
            settings.update((k.lstrip("-").replace("_", "-"), v) for k, v in zip(words[::2], words[1::2]))
        elif len(words) == 2:
            pairs.append((int(words[0], 16), words[1]))
    if not pairs:
        raise BuildError("%s lists no images: see build.log and report it." % (build_dir / "flash_args"))
    return settings, sorted(pairs)


def merge_argv(board: B.Board, build_dir: Path, out: Path) -> List[str]:
    """esptool merge-bin: the bootloader, partition table and app at the build's offsets,
    padded to the board's flash size (what `make flash` writes, as one image)."""
    settings, pairs = flash_layout(build_dir)
    boot = [off for off, name in pairs if PurePosixPath(name).name == "bootloader.bin"]
    if board.flash_offset is not None and boot and boot[0] != int(board.flash_offset, 16):
        raise BuildError(
            "The build puts the bootloader at 0x%x but board.json of %s says flash_offset %s; fix board.json."
            % (boot[0], board.name, board.flash_offset)
        )
    size = board.flash_size or settings.get("flash-size") or "4MB"
    argv = [sys.executable, "-m", "esptool", "--chip", str(board.chip), "merge-bin", "-o", str(out)]
    for key in ("flash-mode", "flash-freq"):
        if key in settings:
            argv += ["--%s" % key, settings[key]]
    argv += ["--flash-size", size, "--pad-to-size", size]
    for off, name in pairs:
        argv += ["0x%x" % off, str(build_dir / name)]
    return argv


def outputs(board: B.Board) -> List[str]:
    """Files an esp32 build adds to firmware/<BOARD>/."""
    if board.port != "esp32":
        return []
    return [FLASH_IMAGE, APP_IMAGE] + ([QEMU_EFUSE] if board.qemu else [])


def collect(board: B.Board, build_dir: Path, stage: Path, log: Callable[[str], None]) -> dict:
    """Write the merged image, copy the app image (and the eFuse image) into ``stage``; their build-info."""
    if board.port != "esp32":
        return {}
    out = stage / FLASH_IMAGE
    argv = merge_argv(board, build_dir, out)
    log("$ " + " ".join(argv))
    res = subprocess.run(argv, capture_output=True, text=True)
    if res.returncode != 0 or not out.is_file():
        last = ((res.stderr or res.stdout).strip().splitlines() or ["exit status %d" % res.returncode])[-1]
        raise BuildError("esptool merge-bin failed (%s): run `make setup` for esptool, then build again." % last)
    _, pairs = flash_layout(build_dir)
    size = board.flash_size or "4MB"
    info = {
        "variant": board.variant,
        "flash_image": {
            "file": FLASH_IMAGE,
            "bytes": out.stat().st_size,
            "sha256": sha256_file(out),
            "flash_size": size,
            "segments": [
                {"offset": "0x%x" % off, "file": name, "bytes": (build_dir / name).stat().st_size}
                for off, name in pairs
            ],
        },
    }
    app = build_dir / APP_IMAGE
    if not app.is_file():
        raise BuildError("The build left no %s: see build.log and report it." % app)
    shutil.copy2(str(app), str(stage / APP_IMAGE))
    info["app_image"] = {"file": APP_IMAGE, "bytes": app.stat().st_size, "sha256": sha256_file(app)}
    if board.qemu:
        efuse = build_dir / QEMU_EFUSE
        if not efuse.is_file():
            raise BuildError("The eFuse step left no %s: see build.log and report it." % efuse)
        shutil.copy2(str(efuse), str(stage / QEMU_EFUSE))
        info["qemu_efuse"] = {"file": QEMU_EFUSE, "bytes": efuse.stat().st_size, "sha256": sha256_file(efuse)}
    log("    %s: %d bytes (%s, %s); %s: %d bytes%s" % (
        FLASH_IMAGE, out.stat().st_size, size, ", ".join("0x%x %s" % (o, PurePosixPath(n).name) for o, n in pairs),
        APP_IMAGE, info["app_image"]["bytes"],
        "; %s: %d bytes" % (QEMU_EFUSE, info["qemu_efuse"]["bytes"]) if board.qemu else ""))
    return info
