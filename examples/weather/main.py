"""weather: a DHT22 temperature/humidity dashboard with a JSON API.

A background task reads the sensor every READ_INTERVAL seconds (a DHT22 needs 2 s
between reads) and keeps the last HISTORY readings; the page and the API only read those
values, so a slow or failing sensor never blocks a request.

- ``GET /``             the dashboard (refreshes itself)
- ``GET /api/current``  latest reading, min/max, sensor errors, Wi-Fi signal
- ``GET /api/history``  the recent readings, oldest first
"""
import asyncio
import os
import time

import dht
import network
from machine import Pin
from microdot import Microdot

SENSOR_PIN = 4        # DHT22 data line (with a 10k pull-up to 3V3)
READ_INTERVAL = 2     # seconds
HISTORY = 90          # readings kept (3 minutes)

sensor = dht.DHT22(Pin(SENSOR_PIN))
app = Microdot()
started = time.ticks_ms()


class Readings:
    temperature = None
    humidity = None
    at = None            # ticks_ms of the last good reading
    reads = 0
    errors = 0
    temps = []
    hums = []


def read_sensor():
    """One measurement into Readings; False when the sensor did not answer."""
    Readings.reads += 1
    try:
        sensor.measure()
        t, h = sensor.temperature(), sensor.humidity()
    except OSError:
        Readings.errors += 1
        return False
    Readings.temperature, Readings.humidity, Readings.at = t, h, time.ticks_ms()
    for series, value in ((Readings.temps, t), (Readings.hums, h)):
        series.append(value)
        if len(series) > HISTORY:
            series.pop(0)
    return True


async def sensor_task():
    while True:
        await asyncio.sleep(READ_INTERVAL)
        read_sensor()


def seconds_since(ticks):
    return round(time.ticks_diff(time.ticks_ms(), ticks) / 1000, 1)


def wifi_info():
    wlan = network.WLAN(network.STA_IF)
    if not wlan.isconnected():
        return {'connected': False}
    return {'connected': True, 'ssid': wlan.config('essid'), 'rssi': wlan.status('rssi'),
            'ip': wlan.ifconfig()[0]}


@app.get('/api/current')
async def current(request):
    r = Readings
    return {
        'temperature': r.temperature, 'humidity': r.humidity, 'unit': 'C',
        'age': seconds_since(r.at) if r.at is not None else None,
        'min_temperature': min(r.temps) if r.temps else None,
        'max_temperature': max(r.temps) if r.temps else None,
        'min_humidity': min(r.hums) if r.hums else None,
        'max_humidity': max(r.hums) if r.hums else None,
        'reads': r.reads, 'errors': r.errors,
        'uptime': seconds_since(started), 'wifi': wifi_info(),
    }


@app.get('/api/history')
async def history(request):
    return {'interval': READ_INTERVAL, 'temperature': Readings.temps,
            'humidity': Readings.hums}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Weather station</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#eef3f8;color:#223}
header{background:#1d4e89;color:#fff;padding:12px 20px} h1{margin:0;font-size:1.3em}
main{padding:16px 20px;display:flex;flex-wrap:wrap;gap:16px}
.card{background:#fff;border-radius:10px;padding:16px 20px;min-width:240px;box-shadow:0 1px 4px #0002}
.label{color:#678;text-transform:uppercase;font-size:.8em}
.value{font-size:2.6em;font-weight:600;margin:4px 0}
.range{color:#678;font-size:.85em} svg{display:block;margin-top:8px}
footer{padding:0 20px 16px;color:#678;font-size:.85em}
</style></head>
<body><header><h1>Weather station</h1></header>
<main>
<div class="card"><div class="label">Temperature</div>
<div class="value"><span id="temperature">--</span> &deg;C</div>
<div class="range" id="trange"></div>
<svg id="tchart" width="240" height="60"><polyline fill="none" stroke="#d9534f" stroke-width="2"/></svg></div>
<div class="card"><div class="label">Humidity</div>
<div class="value"><span id="humidity">--</span> %</div>
<div class="range" id="hrange"></div>
<svg id="hchart" width="240" height="60"><polyline fill="none" stroke="#2a7ab8" stroke-width="2"/></svg></div>
</main>
<footer id="footer">connecting...</footer>
<script>
function $(id) { return document.getElementById(id); }
function chart(id, values) {
  if (!values.length) return;
  if (values.length == 1) values = [values[0], values[0]];
  var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values), span = (hi - lo) || 1;
  var step = values.length > 1 ? 236 / (values.length - 1) : 0;
  var pts = values.map(function (v, i) {
    return (2 + i * step).toFixed(1) + ',' + (56 - (v - lo) / span * 52).toFixed(1);
  });
  $(id).querySelector('polyline').setAttribute('points', pts.join(' '));
}
function update() {
  fetch('/api/current').then(function (r) { return r.json(); }).then(function (c) {
    if (c.temperature !== null) {
      $('temperature').textContent = c.temperature.toFixed(1);
      $('humidity').textContent = c.humidity.toFixed(1);
      $('trange').textContent = 'min ' + c.min_temperature + ' / max ' + c.max_temperature;
      $('hrange').textContent = 'min ' + c.min_humidity + ' / max ' + c.max_humidity;
    }
    var w = c.wifi.connected ? 'Wi-Fi ' + c.wifi.ssid + ' ' + c.wifi.rssi + ' dBm, ' + c.wifi.ip : 'Wi-Fi down';
    $('footer').textContent = 'reading ' + c.age + ' s old, ' + c.reads + ' reads, ' + c.errors +
      ' sensor errors, up ' + Math.round(c.uptime) + ' s. ' + w;
  }).catch(function () { $('footer').textContent = 'board not reachable'; });
  fetch('/api/history').then(function (r) { return r.json(); }).then(function (h) {
    chart('tchart', h.temperature); chart('hchart', h.humidity);
  }).catch(function () {});
}
update(); setInterval(update, 2000);
</script></body></html>
"""


@app.get('/')
async def index(request):
    return PAGE, {'Content-Type': 'text/html; charset=utf-8'}


async def main():
    for _ in range(3):      # a first reading before the first visitor arrives
        if read_sensor():
            break
        await asyncio.sleep(READ_INTERVAL)
    task = asyncio.create_task(sensor_task())
    try:
        port = int(os.getenv('PORT') or 5000) if hasattr(os, 'getenv') else 5000
        await app.start_server(port=port, debug=True)
    finally:
        task.cancel()


asyncio.run(main())
