# Microdot kit extension "wifi": the kitnet module that joins the Wi-Fi network stored on the board.
# It imports `network` lazily, so it also imports on the unix port.
metadata(description="Wi-Fi station helper for Microdot apps (kitnet).", version="0.1.0", license="MIT")

module("kitnet.py", base_path="../../src")

add_library("microdot", "..")
require("core", library="microdot")
