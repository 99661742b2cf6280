"""The device side of tests/tools/test_portal.py and test_ota.py on the virtual board.

On a board the kit's frozen boot.py runs, then the kit's frozen main.py (kitstart.run_main():
portal, then /main.py); the unix port runs neither, so this file imports boot (the frozen copy
staged from src/kit/kitboot/boot.py) after pointing the portal at unprivileged ports and does
what the kit's main.py does. Then it is an ordinary app with OTA updates.
"""
import os
import sys

try:
    import esp32  # noqa: F401  the stand-in's import plays the bootloader (tools/targets/virtual_host/esp32.py)
except ImportError:
    pass
import kitnet
import kitportal

kitnet.CONFIG = "wifi.json"  # the board's /wifi.json: the app folder is its filesystem root here

kitportal.HTTP_PORT = int(os.getenv("PORT"))
kitportal.DNS_PORT = int(os.getenv("KIT_DNS_PORT") or "5353")
kitportal.APP_PORT = kitportal.HTTP_PORT
kitportal.RESTART_DELAY = 1

import kitota  # noqa: E402

kitota.PORT = kitportal.HTTP_PORT
FIRST = os.getenv("KIT_APP_MAIN")  # the first-app test: the board's "main.py" is this file
if FIRST:
    kitota.APP_MAIN = FIRST

# On a board the frozen boot.py runs, never a /boot.py of the filesystem: the app's folder (the
# board's filesystem, first on the path here) must not shadow the kit's boot module.
_fs = sys.path.pop(0)
import boot  # noqa: E402  (runs /boot.py, joins the stored network; never blocks)
sys.path.insert(0, _fs)
import kitstart  # noqa: E402

if FIRST:
    kitstart.run_main(FIRST)  # what the kit's frozen main.py does: portal, then main.py or kitota.serve()
    raise SystemExit(1)
kitstart.start()  # the kit's main.py first: the portal, which restarts, when not on a network

from microdot import Microdot  # noqa: E402

app = Microdot()


@app.get("/")
async def index(request):
    with open("version.txt") as f:
        return "app " + f.read().strip()


kitota.install(app)
app.run(port=int(os.getenv("PORT")))
