"""WebSocket extension: with_websocket, websocket_upgrade, echo of text and binary
messages, closing, URL arguments; handshakes refused at the HTTP level."""
from microdot import Microdot, abort
from microdot.websocket import with_websocket, websocket_upgrade

app = Microdot()


@app.route('/echo')
@with_websocket
async def echo(request, ws):
    while True:
        msg = await ws.receive()
        await ws.send(msg)


@app.route('/room/<name>')
@with_websocket
async def room(request, ws, name):
    await ws.send('welcome to ' + name)
    msg = await ws.receive()
    await ws.send(msg.upper() if isinstance(msg, str) else msg[::-1])


@app.route('/guarded')
async def guarded(request):
    if request.args.get('key') != 'k':
        abort(401)
    ws = await websocket_upgrade(request)
    await ws.send('in')
    await ws.receive()
    await ws.close()


@app.route('/broken')
@with_websocket
async def broken(request, ws):
    await ws.send('before')
    raise ValueError('handler failed')


UP = {'Upgrade': 'websocket', 'Connection': 'Upgrade', 'Sec-WebSocket-Version': '13'}
CASES = [
    ('GET', '/echo'),
    ('GET', '/echo', {'Upgrade': 'websocket', 'Connection': 'Upgrade'}),
    ('GET', '/echo', {'Connection': 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=='}),
    ('GET', '/echo', {'Upgrade': 'h2c', 'Connection': 'Upgrade',
                      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=='}),
    ('GET', '/echo', {'Upgrade': 'websocket', 'Connection': 'keep-alive',
                      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=='}),
    ('POST', '/echo', UP, b'x'),
    ('GET', '/guarded'),
    ('GET', '/guarded?key=k'),
]


async def script(client, log):
    def talker(messages):
        def gen():
            got = []
            for m in messages:
                reply = yield m
                got.append(reply)
            log('replies', [r if isinstance(r, str) else list(r) for r in got])
        return gen

    res = await client.websocket('/echo', talker(['hello', b'\x00\x01bin', 'caf\u00e9',
                                                 'x' * 200, b'y' * 10000]))
    log('echo done', res.status_code, res.body)

    def one_way():
        reply = yield 'ping me'
        log('room says', reply)
        reply = yield 'loud'
        log('room answers', reply)
    res = await client.websocket('/room/lobby', lambda: one_way())
    log('room done', res.status_code)
    res = await client.websocket('/guarded?key=k', talker(['x']))
    log('guarded', res.status_code)
    res = await client.websocket('/guarded', talker(['x']))
    log('guarded refused', res.status_code, res.body)
    res = await client.websocket('/broken', talker(['x']))
    log('broken', res.status_code)
