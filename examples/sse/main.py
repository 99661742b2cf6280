"""sse: a live counter and light-sensor stream pushed to the page with Server-Sent Events.

A background task samples an analog light sensor (a photo-resistor divider on an ADC pin)
once a second and publishes ``{"n", "light", "raw"}`` on the pub/sub hub; every open
``GET /events`` stream relays it as an SSE event named ``reading``. The page uses the
browser's ``EventSource``, which reconnects by itself.
"""
import asyncio
import os

from machine import ADC, Pin
from microdot import Microdot
from microdot.pubsub import PubSub
from microdot.sse import with_sse

SENSOR_PIN = 34        # ESP32: an ADC1 pin (ADC2 is busy while Wi-Fi is on). Pico W: 26.
PERIOD = 1             # seconds between samples

adc = ADC(Pin(SENSOR_PIN))
hub = PubSub(max_queue=8)
app = Microdot()
latest = {}


def sample(n):
    raw = adc.read_u16()
    return {'n': n, 'light': round(raw * 100 / 65535, 1), 'raw': raw}


async def sampler():
    n = 0
    while True:
        n += 1
        latest.clear()
        latest.update(sample(n))
        await hub.publish('reading', dict(latest))
        await asyncio.sleep(PERIOD)


@app.get('/events')
@with_sse
async def events(request, sse):
    sub = hub.subscribe('reading')
    try:
        if latest:
            await sse.send(latest, event='reading')
        async for reading in sub:
            await sse.send(reading, event='reading')
    finally:
        sub.close()


@app.get('/api/latest')
async def api_latest(request):
    return dict(latest), {'Cache-Control': 'no-store'}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Live sensor</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f3f7f2;color:#222}
header{background:#2f6b3a;color:#fff;padding:12px 20px} h1{margin:0;font-size:1.3em}
main{padding:16px 20px;max-width:560px}
.card{background:#fff;border-radius:10px;padding:16px 20px;margin-bottom:16px;box-shadow:0 1px 4px #0002}
.label{color:#686;text-transform:uppercase;font-size:.8em} .value{font-size:2.4em;font-weight:600}
.bar{height:18px;background:#e4eae3;border-radius:9px;overflow:hidden;margin-top:8px}
.fill{height:100%;width:0;background:#e0a526;transition:width .4s}
#state{color:#686;font-size:.85em}
</style></head>
<body><header><h1>Live sensor</h1></header><main>
<div class="card"><div class="label">Events received</div><div class="value" id="count">0</div>
<div id="state">connecting...</div></div>
<div class="card"><div class="label">Light level</div><div class="value"><span id="light">--</span> %</div>
<div class="bar"><div class="fill" id="fill"></div></div>
<div class="label" style="margin-top:8px">sample #<span id="n">-</span>, raw <span id="raw">-</span></div></div>
</main>
<script>
var count = 0;
var source = new EventSource('/events');
source.addEventListener('reading', function (e) {
  var r = JSON.parse(e.data);
  count += 1;
  document.getElementById('count').textContent = count;
  document.getElementById('light').textContent = r.light.toFixed(1);
  document.getElementById('n').textContent = r.n;
  document.getElementById('raw').textContent = r.raw;
  document.getElementById('fill').style.width = Math.max(0, Math.min(100, r.light)) + '%';
  document.getElementById('state').textContent = 'live';
});
source.onerror = function () { document.getElementById('state').textContent = 'reconnecting...'; };
</script></body></html>
"""


@app.get('/')
async def index(request):
    return PAGE, {'Content-Type': 'text/html; charset=utf-8'}


async def main():
    task = asyncio.create_task(sampler())
    try:
        port = int(os.getenv('PORT') or 5000) if hasattr(os, 'getenv') else 5000
        await app.start_server(port=port, debug=True)
    finally:
        task.cancel()


asyncio.run(main())
