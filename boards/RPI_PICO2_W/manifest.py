# RPI_PICO2_W: MicroPython's stock modules plus the Microdot kit.
# Stock modules (FROZEN_MANIFEST replaces the board's own manifest). This board's upstream
# manifest includes $(PORT_DIR)/boards/manifest.py and adds bundle-networking and aioble.
include("$(BOARD_DIR)/manifest.py")

# The kit: manifests/core plus the selected fragments. `make firmware` passes extensions=;
# the defaults match board.json.
options.defaults(extensions=("cors", "session", "sse", "websocket", "wifi"))
add_library("microdot", "../../manifests")
require("core", library="microdot")
for name in options.extensions:
    require(name, library="microdot", app_main=options.app_main)
