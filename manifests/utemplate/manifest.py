# Microdot kit extension "utemplate": utemplate templates (microdot.utemplate) plus the utemplate
# package itself, whose source `make setup` unpacks into .cache/vendor/utemplate.
metadata(description="Microdot utemplate rendering (microdot.utemplate) with utemplate 1.4.1.", version="0.1.0", license="MIT")

package("microdot", files=("utemplate.py",), base_path="../../src")
package(
    "utemplate",
    files=("__init__.py", "compiled.py", "recompile.py", "source.py"),
    base_path="../../.cache/vendor",
)

add_library("microdot", "..")
require("core", library="microdot")
