# (No commas or parentheses in the name: it passes through a compile definition.)
# BOARD_VARIANT=QEMU: the OpenCores Ethernet MAC that QEMU emulates (network.LAN with
# phy_type=network.PHY_OPENETH); Wi-Fi and BLE stay in the image (needs ESP-IDF's Wi-Fi blobs).
list(APPEND SDKCONFIG_DEFAULTS
    ${CMAKE_CURRENT_LIST_DIR}/sdkconfig.qemu
)

list(APPEND MICROPY_DEF_BOARD
    MICROPY_HW_BOARD_NAME="ESP32-C3 under QEMU with OpenETH"
)

# One app partition of 0x1D0000 and a 128 KiB ROMFS area (MicroPython's own table).
set(KIT_PARTITION_TABLE partitions-4MiB-romfs.csv)
include(${CMAKE_CURRENT_LIST_DIR}/romfs.cmake)
