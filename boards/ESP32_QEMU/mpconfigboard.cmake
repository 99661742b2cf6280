# MicroPython board definition for the kit's ESP32_QEMU board, used from the kit's folder: the
# kit passes BOARD_DIR=<this folder> to ports/esp32's make, so nothing is written into the
# MicroPython checkout. It is the stock ESP32_GENERIC board (IDF_TARGET esp32, the original
# Xtensa LX6 ESP32, 4 MiB partition table, UART REPL) with its variants QEMU / QEMU_NOBLOBS /
# QEMU_OTA / QEMU_NOBLOBS_OTA defined here.
# Relative paths in SDKCONFIG_DEFAULTS resolve against ports/esp32 (CMAKE_SOURCE_DIR).
include(${CMAKE_SOURCE_DIR}/boards/ESP32_GENERIC/mpconfigboard.cmake)

# The kit's ESP-IDF settings for every esp32 board (sockets: docs/limits.md).
list(APPEND SDKCONFIG_DEFAULTS ${CMAKE_CURRENT_LIST_DIR}/../sdkconfig.esp32)
