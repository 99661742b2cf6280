# Microdot kit extension "websocket": WebSocket support (microdot.websocket).
metadata(description="Microdot WebSocket support (microdot.websocket).", version="0.1.0", license="MIT")

package("microdot", files=("websocket.py",), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
