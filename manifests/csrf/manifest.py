# Microdot kit extension "csrf": CSRF protection (microdot.csrf).
metadata(description="Microdot CSRF protection (microdot.csrf).", version="0.1.0", license="MIT")

package("microdot", files=("csrf.py",), base_path="../../src")

# Fragments live in manifests/<name>/manifest.py; require() gives each one its own metadata().
add_library("microdot", "..")
require("core", library="microdot")
require("cors", library="microdot")
