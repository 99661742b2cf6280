# Microdot kit extension "static": static file serving (microdot.static).
metadata(description="Microdot static file serving (microdot.static).", version="0.1.0", license="MIT")

package("microdot", files=("static.py",), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
