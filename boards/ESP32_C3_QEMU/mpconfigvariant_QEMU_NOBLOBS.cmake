# BOARD_VARIANT=QEMU_NOBLOBS: as QEMU, for an ESP-IDF without Espressif's Wi-Fi/BT binary
# libraries (components/esp_wifi/lib): no network.WLAN, ESP-NOW or bluetooth in the image.
list(APPEND SDKCONFIG_DEFAULTS
    ${CMAKE_CURRENT_LIST_DIR}/sdkconfig.qemu
    ${CMAKE_CURRENT_LIST_DIR}/sdkconfig.noblobs
)

list(APPEND MICROPY_DEF_BOARD
    MICROPY_HW_BOARD_NAME="ESP32-C3 under QEMU with OpenETH and no Wi-Fi blobs"
    MICROPY_PY_NETWORK_WLAN=0
    MICROPY_PY_NETWORK_WLAN_CSI=0
    MICROPY_PY_ESPNOW=0
    MICROPY_PY_BLUETOOTH=0
)

# One app partition of 0x1D0000 and a 128 KiB ROMFS area (MicroPython's own table).
set(KIT_PARTITION_TABLE partitions-4MiB-romfs.csv)
include(${CMAKE_CURRENT_LIST_DIR}/romfs.cmake)
