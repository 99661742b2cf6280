# BOARD_VARIANT=QEMU_OTA (what `make firmware OTA=1` builds for this board): QEMU with two app
# slots, ota_0 and ota_1 of 1.5 MiB each, and a 256 KiB ROMFS area (partitions-4MiB-ota-romfs.csv;
# the filesystem takes the flash after them), so esp32.Partition.get_next_update() has somewhere to write and
# the bootloader's rollback (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, on in every esp32 build) has
# an older app to go back to.
list(APPEND SDKCONFIG_DEFAULTS
    ${CMAKE_CURRENT_LIST_DIR}/sdkconfig.qemu
)

list(APPEND MICROPY_DEF_BOARD
    MICROPY_HW_BOARD_NAME="ESP32-C3 under QEMU with OpenETH and two OTA slots"
)

# Two app slots and a ROMFS area (the kit's boards/partitions/partitions-4MiB-ota-romfs.csv).
set(KIT_PARTITION_TABLE ${CMAKE_CURRENT_LIST_DIR}/../partitions/partitions-4MiB-ota-romfs.csv)
include(${CMAKE_CURRENT_LIST_DIR}/romfs.cmake)
