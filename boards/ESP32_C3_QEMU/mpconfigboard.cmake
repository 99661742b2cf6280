# MicroPython board definition for the kit's ESP32_C3_QEMU board, used from the kit's folder:
# the kit passes BOARD_DIR=<this folder> to ports/esp32's make, so nothing is written into the
# MicroPython checkout. It is the stock ESP32_GENERIC_C3 board (IDF_TARGET esp32c3, 4 MiB
# partition table, UART REPL) with its variants QEMU / QEMU_NOBLOBS defined here.
# Relative paths in SDKCONFIG_DEFAULTS resolve against ports/esp32 (CMAKE_SOURCE_DIR).
include(${CMAKE_SOURCE_DIR}/boards/ESP32_GENERIC_C3/mpconfigboard.cmake)

# The kit's ESP-IDF settings for every esp32 board (sockets: docs/limits.md).
list(APPEND SDKCONFIG_DEFAULTS ${CMAKE_CURRENT_LIST_DIR}/../sdkconfig.esp32)
