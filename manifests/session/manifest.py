# Microdot kit extension "session": signed-cookie user sessions, HS256 on hashlib (microdot.session).
metadata(description="Microdot signed-cookie user sessions, HS256 on hashlib (microdot.session).", version="0.1.0", license="MIT")

package("microdot", files=("session.py",), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
require("cors", library="microdot")
