# Microdot kit extension "auth": Basic and token authentication (microdot.auth).
metadata(description="Microdot Basic and token authentication (microdot.auth).", version="0.1.0", license="MIT")

package("microdot", files=("auth.py",), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
