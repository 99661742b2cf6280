"""Core parity: what a route may return. str, bytes, dict/list (JSON), None (204), a bare
status, tuples (body, status), (body, status, headers), (body, headers), (status,),
(status, headers), Response objects with reasons and list headers, redirects, and
streamed bodies (generators, async generators, async iterator objects, file-like)."""
from microdot import Microdot, Response, redirect

app = Microdot()


@app.route('/str')
async def r_str(request):
    return 'h\u00e9llo'


@app.route('/bytes')
async def r_bytes(request):
    return b'\x00\x01\xff'


@app.route('/empty')
async def r_empty(request):
    return ''


@app.route('/none')
async def r_none(request):
    return None


@app.route('/nothing')
async def r_nothing(request):
    pass


@app.route('/dict')
async def r_dict(request):
    return {'a': 1, 'b': [1, 2, {'c': None}], 'd': 'x\u00e9'}


@app.route('/list')
async def r_list(request):
    return [1, 'two', 3.5, True]


@app.route('/emptydict')
async def r_emptydict(request):
    return {}


@app.route('/status')
async def r_status(request):
    return 202


@app.route('/status404')
async def r_status404(request):
    return 404


@app.route('/t-body-status')
async def t1(request):
    return 'created', 201


@app.route('/t-body-status-headers')
async def t2(request):
    return 'created', 201, {'X-A': 'b', 'Content-Type': 'text/html'}


@app.route('/t-body-headers')
async def t3(request):
    return 'ok', {'X-A': 'b'}


@app.route('/t-status')
async def t4(request):
    return (203,)


@app.route('/t-status-headers')
async def t5(request):
    return 203, {'X-B': 'c'}


@app.route('/t-dict-status')
async def t6(request):
    return {'error': 'nope'}, 400


@app.route('/t-dict-headers')
async def t7(request):
    return {'a': 1}, 200, {'Content-Type': 'text/plain', 'X-J': '1'}


@app.route('/t-none-status')
async def t8(request):
    return None, 201


@app.route('/t-bytes-status')
async def t9(request):
    return b'raw', 206


@app.route('/resp')
async def resp(request):
    return Response('teapot', 418, {'X-C': 'd'}, reason='I Am A Teapot')


@app.route('/resp-default')
async def resp_default(request):
    return Response()


@app.route('/resp-none')
async def resp_none(request):
    return Response(None)


@app.route('/resp-none-201')
async def resp_none_201(request):
    return Response(None, 201)


@app.route('/resp-json')
async def resp_json(request):
    return Response({'x': 1}, headers={'Content-Type': 'text/html', 'X-K': 'v'})


@app.route('/resp-list-header')
async def resp_list_header(request):
    return Response('multi', headers={'X-Multi': ['a', 'b']})


@app.route('/resp-ct')
async def resp_ct(request):
    return Response('<p>x</p>', headers={'Content-Type': 'text/html'})


@app.route('/resp-reason-200')
async def resp_reason(request):
    return Response('x', reason='Fine')


@app.route('/redirect')
async def r_redirect(request):
    return redirect('/target')


@app.route('/redirect-301')
async def r_redirect301(request):
    return Response.redirect('/perm', status_code=301)


@app.route('/redirect-303')
async def r_redirect303(request):
    return redirect('https://example.com/elsewhere?x=1', 303)


@app.route('/gen')
async def r_gen(request):
    def g():
        yield 'one,'
        yield b'two,'
        yield 'three'
    return g()


@app.route('/agen')
async def r_agen(request):
    async def g():
        for i in range(3):
            yield 'chunk%d;' % i
    return g()


class Counter:
    """An async iterator object (not a generator)."""
    def __init__(self, n):
        self.i = 0
        self.n = n

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.i >= self.n:
            raise StopAsyncIteration
        self.i += 1
        return b'n%d.' % self.i


@app.route('/aiter')
async def r_aiter(request):
    return Counter(3)


@app.route('/agen-status')
async def r_agen_status(request):
    async def g():
        yield 'partial'
    return g(), 206, {'X-S': '1'}


class FileLike:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def read(self, n=-1):
        out = self.data[self.pos:self.pos + n] if n >= 0 else self.data[self.pos:]
        self.pos += len(out)
        return out

    def close(self):
        pass


@app.route('/filelike')
async def r_filelike(request):
    return Response(FileLike(b'0123456789' * 300), headers={'Content-Type': 'text/x'})


@app.route('/sync')
def r_sync(request):
    return 'sync'


@app.route('/unicode-json')
async def r_unicode_json(request):
    return {'snowman': '\u2603'}


CASES = [(m, p) for p in [
    '/str', '/bytes', '/empty', '/none', '/nothing', '/dict', '/list', '/emptydict',
    '/status', '/status404', '/t-body-status', '/t-body-status-headers', '/t-body-headers',
    '/t-status', '/t-status-headers', '/t-dict-status', '/t-dict-headers', '/t-none-status',
    '/t-bytes-status', '/resp', '/resp-default', '/resp-none', '/resp-none-201', '/resp-json',
    '/resp-list-header', '/resp-ct', '/resp-reason-200', '/redirect', '/redirect-301',
    '/redirect-303', '/gen', '/agen', '/aiter', '/agen-status', '/filelike',
    '/sync', '/unicode-json'] for m in ('GET', 'HEAD')]
