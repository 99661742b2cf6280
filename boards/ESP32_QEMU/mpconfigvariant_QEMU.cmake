# (No commas or parentheses in the name: it passes through a compile definition.)
# BOARD_VARIANT=QEMU: the OpenCores Ethernet MAC that QEMU emulates (network.LAN with
# phy_type=network.PHY_OPENETH); Wi-Fi and BLE stay in the image (needs ESP-IDF's Wi-Fi blobs).
# On the original ESP32 network.LAN(phy_type=PHY_OPENETH) needs a MicroPython fix (board.json
# "micropython_fixes": "openeth-without-emac"; docs/emulation.md), which the build checks.
list(APPEND SDKCONFIG_DEFAULTS
    ${CMAKE_CURRENT_LIST_DIR}/sdkconfig.qemu
)

list(APPEND MICROPY_DEF_BOARD
    MICROPY_HW_BOARD_NAME="ESP32 under QEMU with OpenETH"
)
