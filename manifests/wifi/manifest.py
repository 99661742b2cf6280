# Microdot kit extension "wifi": kitnet joins the Wi-Fi network stored on the board; without one
# (or when it fails) kitportal opens the set-up portal (access point, kitdns catch-all, form).
# The frozen boot.py runs the filesystem's /boot.py, then kitnet.start(). `network` is imported
# lazily, so these modules also import on the unix port.
metadata(description="Wi-Fi station helper and set-up portal for Microdot apps (kitnet, kitportal).", version="0.1.0", license="MIT")

module("kitnet.py", base_path="../../src")
module("kitportal.py", base_path="../../src")
module("kitdns.py", base_path="../../src")
module("boot.py", base_path="../../src/kitboot")

add_library("microdot", "..")
require("core", library="microdot")
