# Microdot kit extension "sse": Server-Sent Events (microdot.sse).
metadata(description="Microdot Server-Sent Events (microdot.sse).", version="0.1.0", license="MIT")

package("microdot", files=("sse.py",), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
