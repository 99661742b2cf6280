# BOARD_VARIANT=QEMU_OTA (what `make firmware OTA=1` builds for this board): QEMU with the two
# app slots of ESP32_GENERIC's own OTA variant - its sdkconfig.ota (MicroPython's
# partitions-4MiB-ota.csv: ota_0 and ota_1 of 1.5 MiB each, the filesystem after them; code
# optimised for size so the Wi-Fi image fits a slot) - so esp32.Partition.get_next_update()
# has somewhere to write and the bootloader's rollback (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE,
# on in every esp32 build) has an older app to go back to.
list(APPEND SDKCONFIG_DEFAULTS
    ${CMAKE_CURRENT_LIST_DIR}/sdkconfig.qemu
    boards/ESP32_GENERIC/sdkconfig.ota
)

list(APPEND MICROPY_DEF_BOARD
    MICROPY_HW_BOARD_NAME="ESP32 under QEMU with OpenETH and two OTA slots"
)
