# ESP32_QEMU: MicroPython's stock esp32 modules plus the Microdot kit, for the emulated ESP32.
# Stock modules first: FROZEN_MANIFEST replaces the port's default manifest.
include("$(PORT_DIR)/boards/manifest.py")

# The kit: manifests/core plus the selected fragments. `make firmware` passes extensions=;
# the defaults match board.json ("wifi" brings kitnet, which starts the LAN on this board).
options.defaults(extensions=("cors", "session", "sse", "websocket", "wifi"))
add_library("microdot", "../../manifests")
require("core", library="microdot")
for name in options.extensions:
    require(name, library="microdot", app_main=options.app_main)
