# Microdot kit extension "test_client": test client that drives an app without a network (microdot.test_client).
metadata(description="Microdot test client that drives an app without a network (microdot.test_client).", version="0.1.0", license="MIT")

package("microdot", files=("test_client.py", "test_wire.py"), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
require("websocket", library="microdot")
