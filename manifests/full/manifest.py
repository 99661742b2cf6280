# Microdot kit bundle "full": every part that runs on MicroPython. jinja, asgi and wsgi are
# CPython-only and are never frozen.
metadata(description="Microdot kit: the framework with every MicroPython extension.", version="0.1.0", license="MIT")

add_library("microdot", "..")
require("core", library="microdot")
require("auth", library="microdot")
require("cors", library="microdot")
require("csrf", library="microdot")
require("login", library="microdot")
require("multipart", library="microdot")
require("pubsub", library="microdot")
require("session", library="microdot")
require("sse", library="microdot")
require("static", library="microdot")
require("test_client", library="microdot")
require("utemplate", library="microdot")
require("websocket", library="microdot")
require("wifi", library="microdot")
