"""SSE extension: with_sse, sse_response, SSE.send (str, bytes, dict, list, other types,
event names, ids, retry, comments), URL arguments, the response headers."""
from microdot import Microdot
from microdot.sse import sse_response, with_sse

app = Microdot()


@app.get('/events')
@with_sse
async def events(request, sse):
    await sse.send('hello')
    await sse.send(b'raw bytes')
    await sse.send({'a': 1, 'b': [1, 2]})
    await sse.send([1, 'two'])
    await sse.send(42)
    await sse.send(3.5, event='number')
    await sse.send('with id', event_id='7')
    await sse.send('all', event='full', event_id='8', retry=2.5)
    await sse.send('ignored options', event='x', comment=True)
    await sse.send('', event='empty')
    await sse.send('falsy', event='', event_id='', retry=0)


@app.get('/count/<int:n>')
@with_sse
async def count(request, sse, n):
    for i in range(n):
        await sse.send({'i': i}, event_id=str(i))


@app.get('/nothing')
@with_sse
async def nothing(request, sse):
    pass


@app.get('/low')
async def low(request):
    async def produce(request, sse, word):
        await sse.send(word * 2)
    return sse_response(request, produce, 'ab')


@app.get('/many')
@with_sse
async def many(request, sse):
    for i in range(40):
        await sse.send('event %d' % i)


@app.get('/broken')
@with_sse
async def broken(request, sse):
    await sse.send('before')
    raise ValueError('handler failed')


@app.get('/json')
@with_sse
async def json_types(request, sse):
    await sse.send({'nested': {'list': [1, None, True], 'text': 'caf\u00e9'}})
    await sse.send(None)
    await sse.send(b'\x00\xffbytes')
    await sse.send('retry only', retry=0.001)


# (/broken: upstream's MicroPython server leaves the connection open when a streamed
# body raises, so the client times out; not compared)
CASES = [('GET', '/json'),
('GET', '/events'), ('GET', '/count/3'), ('GET', '/count/0'), ('GET', '/nothing'),
         ('GET', '/low'), ('GET', '/many'), ('HEAD', '/count/2')]
