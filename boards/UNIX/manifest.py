# UNIX: MicroPython's stock modules plus the Microdot kit.
# Stock modules of the unix port's standard variant (FROZEN_MANIFEST replaces its manifest):
# the shared variant manifest plus asyncio, as variants/standard/manifest.py has them.
include("$(PORT_DIR)/variants/manifest.py")
include("$(MPY_DIR)/extmod/asyncio")

# The kit: manifests/core plus the selected fragments. `make firmware` passes extensions=;
# the defaults match board.json.
options.defaults(extensions=("auth", "cors", "csrf", "login", "multipart", "ota", "pubsub", "session", "sse", "static", "test_client", "utemplate", "websocket", "wifi"))
add_library("microdot", "../../manifests")
require("core", library="microdot")
for name in options.extensions:
    require(name, library="microdot", app_main=options.app_main)
