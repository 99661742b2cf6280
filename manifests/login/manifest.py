# Microdot kit extension "login": user login on top of sessions (microdot.login).
metadata(description="Microdot user login on top of sessions (microdot.login).", version="0.1.0", license="MIT")

package("microdot", files=("login.py",), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
require("session", library="microdot")  # not imported: Login keeps its user in the app's Session
