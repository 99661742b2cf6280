# Microdot kit bundle "minimal": the framework core and the Wi-Fi helper - the smallest useful image.
metadata(description="Microdot kit: core framework and Wi-Fi helper.", version="0.1.0", license="MIT")

add_library("microdot", "..")
require("core", library="microdot")
require("wifi", library="microdot")
