"""websocket: an echo endpoint and a small chat room fanned out by the pub/sub hub.

- ``/``       a page with both
- ``/echo``   WebSocket: sends every message back (text stays text, binary stays binary)
- ``/chat``   WebSocket: send ``{"name": ..., "text": ...}``; everyone connected receives
  ``{"type": "message", "name", "text", "n"}``, plus ``{"type": "info", "text", "online"}``
  when people come and go. The last few messages are replayed to a new member.
"""
import asyncio
import json
import os

from microdot import Microdot
from microdot.pubsub import PubSub
from microdot.websocket import with_websocket

MAX_NAME = 20
MAX_TEXT = 280
REPLAY = 10

app = Microdot()
hub = PubSub(max_queue=16)   # a member that falls 16 messages behind is dropped
recent = []
counter = [0]


def publish(msg):
    if msg['type'] == 'message':
        counter[0] += 1
        msg['n'] = counter[0]
        recent.append(msg)
        if len(recent) > REPLAY:
            recent.pop(0)
    hub.publish_nowait('chat', msg)


@app.route('/echo')
@with_websocket
async def echo(request, ws):
    while True:
        await ws.send(await ws.receive())


async def forward(sub, ws):
    """Copy the hub's messages to one member's socket."""
    async for msg in sub:
        await ws.send(json.dumps(msg))
    await ws.close(1008, 'too slow')   # the hub dropped this member


@app.route('/chat')
@with_websocket
async def chat(request, ws):
    for msg in recent:
        await ws.send(json.dumps(msg))
    sub = hub.subscribe('chat')
    task = asyncio.create_task(forward(sub, ws))
    name = None
    try:
        publish({'type': 'info', 'text': 'someone joined', 'online': hub.subscribers('chat')})
        while True:
            raw = await ws.receive()
            try:
                data = json.loads(raw)
                name = str(data.get('name') or 'anon')[:MAX_NAME]
                text = str(data['text'])[:MAX_TEXT]
            except (ValueError, KeyError, TypeError, AttributeError):
                await ws.send(json.dumps({'type': 'error', 'text': 'send {"name": ..., "text": ...}'}))
                continue
            if text:
                publish({'type': 'message', 'name': name, 'text': text})
    finally:
        sub.close()
        task.cancel()
        publish({'type': 'info', 'text': (name or 'someone') + ' left',
                 'online': hub.subscribers('chat')})


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>WebSocket</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f5f3f8;color:#222}
header{background:#4b2c72;color:#fff;padding:12px 20px} h1{margin:0;font-size:1.3em}
main{padding:16px 20px;display:flex;flex-wrap:wrap;gap:16px}
section{background:#fff;border-radius:8px;padding:12px 16px;flex:1;min-width:280px;box-shadow:0 1px 3px #0002}
h2{font-size:1em;margin:0 0 8px} .log{height:220px;overflow-y:auto;border:1px solid #ddd;padding:6px;font-size:.9em}
.info{color:#888;font-style:italic} form{display:flex;gap:6px;margin-top:8px} input{flex:1;padding:6px}
</style></head>
<body><header><h1>WebSocket</h1></header><main>
<section><h2>Echo</h2><div class="log" id="echolog"></div>
<form id="echoform"><input id="echotext" placeholder="say something" autocomplete="off"><button>Send</button></form></section>
<section><h2>Chat <span id="online"></span></h2><div class="log" id="chatlog"></div>
<form id="chatform"><input id="name" placeholder="name" style="flex:0 0 90px"><input id="chattext" placeholder="message" autocomplete="off"><button>Send</button></form></section>
</main>
<script>
function line(id, text, cls) {
  var d = document.createElement('div'); d.textContent = text; if (cls) d.className = cls;
  var log = document.getElementById(id); log.appendChild(d); log.scrollTop = log.scrollHeight;
}
function connect(path, onmsg, logid) {
  var ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path);
  ws.onmessage = onmsg;
  ws.onclose = function () { line(logid, 'disconnected, retrying...', 'info'); setTimeout(function () { socks[path] = connect(path, onmsg, logid); }, 2000); };
  return ws;
}
var socks = {};
socks['/echo'] = connect('/echo', function (e) { line('echolog', 'echo: ' + e.data); }, 'echolog');
socks['/chat'] = connect('/chat', function (e) {
  var m = JSON.parse(e.data);
  if (m.type === 'message') line('chatlog', m.name + ': ' + m.text);
  else { line('chatlog', m.text, 'info'); if (m.online) document.getElementById('online').textContent = '(' + m.online + ' online)'; }
}, 'chatlog');
document.getElementById('echoform').onsubmit = function (e) {
  e.preventDefault(); var t = document.getElementById('echotext');
  if (t.value) { socks['/echo'].send(t.value); line('echolog', 'you: ' + t.value); t.value = ''; }
};
document.getElementById('chatform').onsubmit = function (e) {
  e.preventDefault(); var t = document.getElementById('chattext');
  if (t.value) { socks['/chat'].send(JSON.stringify({name: document.getElementById('name').value || 'anon', text: t.value})); t.value = ''; }
};
</script></body></html>
"""


@app.get('/')
async def index(request):
    return PAGE, {'Content-Type': 'text/html; charset=utf-8'}


app.run(port=int(os.getenv('PORT') or 5000) if hasattr(os, 'getenv') else 5000, debug=True)
