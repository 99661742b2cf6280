# A ROMFS area for every variant of this board (docs/romfs.md): the partition table
# KIT_PARTITION_TABLE (an absolute path, or a name relative to ports/esp32 for the port's own
# tables) reaches ESP-IDF through a generated sdkconfig file, since an sdkconfig file cannot
# name this folder itself; MICROPY_VFS_ROM is on in mpconfigboard.h.
file(WRITE ${CMAKE_BINARY_DIR}/sdkconfig.kit_partitions
    "CONFIG_PARTITION_TABLE_CUSTOM=y\nCONFIG_PARTITION_TABLE_CUSTOM_FILENAME=\"${KIT_PARTITION_TABLE}\"\n")
list(APPEND SDKCONFIG_DEFAULTS ${CMAKE_BINARY_DIR}/sdkconfig.kit_partitions)
