# Microdot kit: the framework core (always frozen). Every other fragment requires it.
metadata(
    description="Microdot-compatible asyncio web framework: application, routing, request and response.",
    version="0.1.0",
    license="MIT",
)

package(
    "microdot",
    files=("__init__.py", "microdot.py", "base.py", "helpers.py", "streams.py", "sendfile.py",
           "chunked.py", "cookies.py", "multidict.py", "urlregex.py", "aliases.py"),
    base_path="../../src",
)
