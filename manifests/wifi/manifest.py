# Microdot kit extension "wifi": kitnet joins the Wi-Fi network stored on the board; without one
# (or when it fails) kitportal opens the set-up portal (access point, kitdns catch-all, form).
# kitstart (start-up, the top layer of src/kit/) holds what the frozen boot.py and main.py run:
# boot.py runs the filesystem's /boot.py and joins; main.py opens the portal when needed, then
# runs /main.py. `network` is imported lazily, so these modules also import on the unix port.
metadata(description="Wi-Fi station helper and set-up portal for Microdot apps (kitnet, kitportal, kitstart).", version="0.1.0", license="MIT")

module("kitnet.py", base_path="../../src/kit")
module("kitportal.py", base_path="../../src/kit")
module("kitdns.py", base_path="../../src/kit")
module("kitstart.py", base_path="../../src/kit")
module("kitsafe.py", base_path="../../src/kit")  # start counter, safe mode, app rollback, watchdog
module("kitlog.py", base_path="../../src/kit")  # the crash log
module("boot.py", base_path="../../src/kit/kitboot")
# The kit's main.py runs the portal and then /main.py, after a normal boot only (boot.py must
# not block: mpremote's raw-REPL soft reset runs it too). An app frozen with FREEZE_MAIN=1
# brings its own main.py instead (app_main=True, passed down by the board manifest).
if not options.app_main:
    module("main.py", base_path="../../src/kit/kitboot")

add_library("microdot", "..")
require("core", library="microdot")
