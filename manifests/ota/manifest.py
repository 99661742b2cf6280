# Microdot kit extension "ota": authenticated over-the-air updates of the app and, on ESP32
# builds with an OTA partition table, of the firmware (kitota; `make ota` on the PC side).
# Off unless chosen: EXTENSIONS="... ota".
metadata(description="Over-the-air app and firmware updates for Microdot apps (kitota).", version="0.1.0", license="MIT")

module("kitota.py", base_path="../../src/kit")

add_library("microdot", "..")
require("core", library="microdot")
require("wifi", library="microdot")  # not imported: kitota is reached over the network kitnet joins
