# Microdot kit extension "pubsub": in-process publish/subscribe (microdot.pubsub).
metadata(description="Microdot in-process publish/subscribe (microdot.pubsub).", version="0.1.0", license="MIT")

package("microdot", files=("pubsub.py",), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
