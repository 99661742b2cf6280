"""TestClient parity: websocket(path, client) - the generator gets each text or binary
message the server sends, its next message is the answer; frames the server sends before
it first reads are dropped, a second message overwrites the first; the request's result."""
from microdot import Microdot
from microdot.websocket import with_websocket

app = Microdot()
MODES = ('testclient',)


@app.route('/echo')
@with_websocket
async def echo(request, ws):
    while True:
        await ws.send(await ws.receive())  # each message straight back


@app.route('/greet')
@with_websocket
async def greet(request, ws):
    await ws.send('welcome')  # before the first receive
    msg = await ws.receive()
    await ws.send('got ' + msg)
    await ws.send('second')
    msg = await ws.receive()
    await ws.send(b'bye ' + (msg if isinstance(msg, bytes) else msg.encode()))


@app.route('/quiet')
@with_websocket
async def quiet(request, ws):
    return


@app.route('/headers')
@with_websocket
async def headers(request, ws):
    await ws.receive()
    await ws.send(','.join(sorted('%s=%s' % (k, v) for k, v in request.headers.items())))


async def script(client, log):
    for path in ('/echo', '/greet', '/quiet', '/headers', '/missing'):
        got = []

        def session():
            got.append((yield 'hello'))
            got.append((yield b'\x00bin'))
            got.append((yield 'three'))

        res = await client.websocket(path, session)
        log(path, res, got, [type(g).__name__ for g in got])
    got = []

    def one():
        got.append((yield 'only'))

    res = await client.websocket('/headers', one, headers={
        'X-Extra': '1', 'Sec-WebSocket-Key': 'eHh4eHh4eHh4eHh4eHh4eA=='})
    log('headers', res, got)
