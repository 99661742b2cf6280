# Microdot kit extension "cors": Cross-Origin Resource Sharing (microdot.cors).
metadata(description="Microdot Cross-Origin Resource Sharing (microdot.cors).", version="0.1.0", license="MIT")

package("microdot", files=("cors.py",), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
