"""The smallest app: one page, served from the frozen framework.

On a board: `make deploy APP=examples/hello`, then open http://<board-ip>:5000/.
On the virtual board: `make run APP=examples/hello`.
"""
import os

from microdot import Microdot

app = Microdot()


@app.route('/')
async def index(request):
    return ('<!doctype html><html><head><title>Hello</title></head>'
            '<body><h1>Hello from Microdot!</h1></body></html>'), {'Content-Type': 'text/html'}


app.run(port=int(os.getenv('PORT') or 5000) if hasattr(os, 'getenv') else 5000, debug=True)
