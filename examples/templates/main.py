"""templates: HTML pages rendered with utemplate.

Templates live in ``templates/`` and may include each other (``header.html`` and
``footer.html`` wrap every page). On the first request the utemplate extension compiles
each one into a Python module next to it (``templates/index_html.py``), so later requests
only run that code. ``/`` streams its page chunk by chunk; ``/hello/<name>`` renders a
whole string. utemplate does not escape values: the app escapes what users typed.
"""
import gc
import os
import sys
import time

from microdot import Microdot
from microdot.microdot import urldecode
from microdot.utemplate import Template

HTML = {'Content-Type': 'text/html; charset=utf-8'}
started = time.ticks_ms()
app = Microdot()
Template.initialize('templates')

# Soil moisture per plant; on a real board these would come from sensors.
PLANTS = [
    {'name': 'Basil', 'moisture': 42},
    {'name': 'Fern', 'moisture': 18},
    {'name': 'Tomato', 'moisture': 35},
    {'name': 'Cactus', 'moisture': 9},
]


def escape(text):
    return (str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            .replace('"', '&quot;').replace("'", '&#39;'))


def board_info():
    gc.collect()
    return {
        'platform': sys.platform,
        'version': '.'.join(str(n) for n in sys.implementation.version[:3]),
        'free': gc.mem_free() if hasattr(gc, 'mem_free') else 0,
        'uptime': time.ticks_diff(time.ticks_ms(), started) // 1000,
    }


@app.get('/')
async def index(request):
    return Template('index.html').generate_async(PLANTS, board_info()), HTML


@app.get('/hello/<name>')
async def hello(request, name):
    name = urldecode(name)  # URL arguments arrive percent-encoded, as in upstream Microdot
    return Template('hello.html').render(escape(name[:40]), board_info()), HTML


app.run(port=int(os.getenv('PORT') or 5000) if hasattr(os, 'getenv') else 5000, debug=True)
