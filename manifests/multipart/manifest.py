# Microdot kit extension "multipart": multipart/form-data parsing and streamed file uploads (microdot.multipart).
metadata(description="Microdot multipart/form-data parsing and streamed file uploads (microdot.multipart).", version="0.1.0", license="MIT")

package("microdot", files=("multipart.py",), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
