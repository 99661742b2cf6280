# QEMU_MPS2_AN385: the qemu port's MPS2_AN385 board with the Microdot kit frozen.
# The port's default FROZEN_MANIFEST is a test fixture (unittest + test-frzmpy), so nothing of
# it is kept. The port has no _asyncio C module: asyncio is frozen with its task.py.
include("$(MPY_DIR)/extmod/asyncio")
package("asyncio", files=("task.py",), base_path="$(MPY_DIR)/extmod", opt=3)

# The kit: manifests/core plus the selected fragments. `make firmware` passes extensions=;
# the defaults match board.json.
options.defaults(extensions=("test_client",))
add_library("microdot", "../../manifests")
require("core", library="microdot")
for name in options.extensions:
    require(name, library="microdot", app_main=options.app_main)
