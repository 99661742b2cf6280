"""gpio: switch output pins and watch input pins from a web page.

The page polls ``GET /api/pins`` twice a second and toggles an output with
``POST /api/outputs/<name>/toggle``; ``PUT /api/outputs/<name>`` with ``{"value": 0|1}``
sets it. Change the pin numbers below to match your wiring.
"""
import os

from machine import Pin
from microdot import Microdot

# name -> Pin. ESP32 DevKit: the blue LED is on GPIO 2. Pico W: use Pin('LED', Pin.OUT).
OUTPUTS = {
    'led': Pin(2, Pin.OUT, value=0),
    'relay': Pin(4, Pin.OUT, value=0),
}
# Inputs: a push button to ground (pulled up, reads 0 when pressed) and a switch to 3V3.
INPUTS = {
    'button': Pin(0, Pin.IN, Pin.PULL_UP),
    'switch': Pin(15, Pin.IN, Pin.PULL_DOWN),
}
ACTIVE_LOW = ('button',)
PIN_NUMBERS = {'led': 2, 'relay': 4, 'button': 0, 'switch': 15}

app = Microdot()


def output_state(name):
    return {'name': name, 'pin': PIN_NUMBERS[name], 'value': OUTPUTS[name].value()}


def input_state(name):
    level = INPUTS[name].value()
    active = (level == 0) if name in ACTIVE_LOW else (level == 1)
    return {'name': name, 'pin': PIN_NUMBERS[name], 'value': level, 'active': active}


def find_output(name):
    if name not in OUTPUTS:
        Microdot.abort(404, 'No output named ' + name)
    return OUTPUTS[name]


@app.get('/api/pins')
async def pins(request):
    return {'outputs': [output_state(n) for n in sorted(OUTPUTS)],
            'inputs': [input_state(n) for n in sorted(INPUTS)]}


@app.post('/api/outputs/<name>/toggle')
async def toggle(request, name):
    pin = find_output(name)
    pin.value(0 if pin.value() else 1)
    return output_state(name)


@app.put('/api/outputs/<name>')
async def set_output(request, name):
    pin = find_output(name)
    data = request.json
    value = data.get('value') if isinstance(data, dict) else None
    if value not in (0, 1, True, False):
        return {'error': 'send {"value": 0} or {"value": 1}'}, 400
    pin.value(1 if value else 0)
    return output_state(name)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>GPIO</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#222}
header{background:#234;color:#fff;padding:12px 20px}
h1{margin:0;font-size:1.3em} main{padding:16px 20px;max-width:720px}
h2{font-size:1em;text-transform:uppercase;color:#567;margin:18px 0 8px}
.row{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:140px;box-shadow:0 1px 3px #0002}
.name{font-weight:600} .pin{color:#789;font-size:.85em}
.dot{display:inline-block;width:14px;height:14px;border-radius:50%;background:#ccc;vertical-align:middle;margin-right:6px}
.dot.on{background:#2c2}
button{margin-top:8px;padding:6px 14px;border:0;border-radius:4px;background:#357;color:#fff;cursor:pointer}
#status{color:#789;font-size:.85em;margin-top:16px}
</style></head>
<body><header><h1>GPIO</h1></header><main>
<h2>Outputs</h2><div class="row" id="outputs"></div>
<h2>Inputs</h2><div class="row" id="inputs"></div>
<div id="status">connecting...</div>
</main>
<script>
function card(p, isOutput) {
  var c = document.createElement('div'); c.className = 'card'; c.id = 'pin-' + p.name;
  var n = document.createElement('div'); n.className = 'name';
  var d = document.createElement('span'); d.className = 'dot' + ((isOutput ? p.value : p.active) ? ' on' : '');
  n.appendChild(d); n.appendChild(document.createTextNode(p.name)); c.appendChild(n);
  var s = document.createElement('div'); s.className = 'pin';
  s.textContent = 'GPIO ' + p.pin + ' = ' + p.value + (isOutput ? '' : (p.active ? ' (active)' : ''));
  s.setAttribute('data-value', p.value); c.appendChild(s);
  if (isOutput) {
    var b = document.createElement('button'); b.textContent = p.value ? 'Turn off' : 'Turn on';
    b.onclick = function () { toggle(p.name); }; c.appendChild(b);
  }
  return c;
}
function fill(id, list, isOutput) {
  var box = document.getElementById(id); box.textContent = '';
  list.forEach(function (p) { box.appendChild(card(p, isOutput)); });
}
function refresh() {
  fetch('/api/pins').then(function (r) { return r.json(); }).then(function (s) {
    fill('outputs', s.outputs, true); fill('inputs', s.inputs, false);
    document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  }).catch(function () { document.getElementById('status').textContent = 'board not reachable'; });
}
function toggle(name) {
  fetch('/api/outputs/' + name + '/toggle', {method: 'POST'}).then(refresh);
}
refresh(); setInterval(refresh, 500);
</script></body></html>
"""


@app.get('/')
async def index(request):
    return PAGE, {'Content-Type': 'text/html; charset=utf-8'}


app.run(port=int(os.getenv('PORT') or 5000) if hasattr(os, 'getenv') else 5000, debug=True)
