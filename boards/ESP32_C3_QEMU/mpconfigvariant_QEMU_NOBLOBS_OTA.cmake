# BOARD_VARIANT=QEMU_NOBLOBS_OTA: QEMU_OTA for an ESP-IDF without the Wi-Fi/BT blobs (what an
# OTA=1 build picks by itself there, as QEMU_NOBLOBS is picked for QEMU).
list(APPEND SDKCONFIG_DEFAULTS
    ${CMAKE_CURRENT_LIST_DIR}/sdkconfig.qemu
    ${CMAKE_CURRENT_LIST_DIR}/sdkconfig.noblobs
)

list(APPEND MICROPY_DEF_BOARD
    MICROPY_HW_BOARD_NAME="ESP32-C3 under QEMU with OpenETH two OTA slots and no Wi-Fi blobs"
    MICROPY_PY_NETWORK_WLAN=0
    MICROPY_PY_NETWORK_WLAN_CSI=0
    MICROPY_PY_ESPNOW=0
    MICROPY_PY_BLUETOOTH=0
)

# Two app slots and a ROMFS area (the kit's boards/partitions/partitions-4MiB-ota-romfs.csv).
set(KIT_PARTITION_TABLE ${CMAKE_CURRENT_LIST_DIR}/../partitions/partitions-4MiB-ota-romfs.csv)
include(${CMAKE_CURRENT_LIST_DIR}/romfs.cmake)
