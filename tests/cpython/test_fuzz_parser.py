"""Fuzz the request parser and the connection handler with hypothesis.

Every input goes through the real connection handler (``TestClient.open``): request head
parsing, limits, chunked bodies, routing, URL/query/form/JSON/cookie decoding and
response framing. For every input:

- the handler finishes (no hang) and raises nothing, and nothing is logged as an
  unhandled exception (the app runs with ``debug=True``, which prints tracebacks);
- what it sends is a sequence of well-formed HTTP/1.1 responses with 2xx-5xx status codes
  and clean header lines - and never a 500.

The bound is ``FUZZ_EXAMPLES`` examples per strategy (default 1000 x 4 strategies + a
quarter of that with tiny limits: about 20 s); run longer with ``FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest
tests/cpython/test_fuzz_parser.py``. The ``@example`` inputs are crashes found earlier,
kept as regression tests.
"""
import asyncio
import contextlib
import io
import os
import sys

from hypothesis import HealthCheck, example, given, settings, strategies as st

from microdot import Microdot, Request, Response
from microdot.test_client import TestClient

EXAMPLES = int(os.environ.get('FUZZ_EXAMPLES', '1000'))
RUN = {'inputs': 0, 'responses': 0, 'failing': 0}
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def _report():
    return ('fuzz: %d inputs run, %d responses checked, %d failing inputs'
            % (RUN['inputs'], RUN['responses'], RUN['failing']))


SUMMARY_LINES = [_report]  # printed in pytest's terminal summary (tests/conftest.py)


def make_app():
    app = Microdot()
    app.debug = True  # unhandled exceptions print a traceback, which the fuzzer watches for

    # handlers return sizes and flags, never the raw input, so bodies cannot fake a response
    @app.route('/', methods=['GET', 'POST', 'PUT', 'DELETE', 'PATCH'])
    async def index(req):
        return 'n=%d' % len(req.body)

    @app.route('/all', methods=['GET', 'POST'])
    async def everything(req):
        out = [len(req.args), len(req.cookies), len(req.headers), req.content_length]
        # as upstream, a body that does not parse raises ValueError: the app answers it
        try:
            out.append(req.json is not None)
            out.append(req.form is not None and len(req.form))
        except (ValueError, RecursionError):
            return 'unparsable body', 400
        return str(out)

    @app.post('/stream')
    async def stream(req):
        total = 0
        while True:
            chunk = await req.stream.read(300)
            if not chunk:
                break
            total += len(chunk)
        return str(total)

    @app.get('/u/<int:id>/<name>')
    async def user(req, id, name):
        return str((id, len(name)))

    @app.get('/f/<path:path>')
    async def files(req, path):
        return str(len(path))

    @app.get('/r/<re:[a-z]+:word>')
    async def regex(req, word):
        return str(len(word))

    @app.get('/hdr')
    async def hdr(req):
        res = Response('h', headers={'X-Echo': req.args.get('v', '')})
        try:
            res.set_cookie('c', req.args.get('v', ''))
        except ValueError:  # ';' or CR/LF in the value: refused, as upstream
            return 'bad cookie value', 400
        return res

    return app


APP = make_app()


def check_output(out):
    """Parse every response in ``out``; fail on anything malformed or a 500."""
    pos = 0
    count = 0
    while pos < len(out):
        end = out.find(b'\r\n\r\n', pos)
        assert end >= 0, ('incomplete response head', out[pos:pos + 200])
        lines = out[pos:end].split(b'\r\n')
        status = lines[0]
        assert status.startswith(b'HTTP/1.1 ') and status[12:13] == b' ', status
        code = int(status[9:12])
        assert 200 <= code <= 599, status
        assert code != 500, ('500 for fuzz input', out[:300])
        headers = {}
        for line in lines[1:]:
            assert b'\r' not in line and b'\n' not in line, line
            name, sep, value = line.partition(b': ')
            assert sep and name and b' ' not in name and b':' not in name, line
            headers.setdefault(name.lower(), []).append(value)
        pos = end + 4
        count += 1
        if b'chunked' in headers.get(b'transfer-encoding', []):
            while True:
                eol = out.index(b'\r\n', pos)
                size = int(out[pos:eol], 16)
                pos = eol + 2 + size + 2
                if size == 0:
                    break
        elif b'content-length' in headers:
            length = int(headers[b'content-length'][0])
            nxt = pos + length
            if nxt != len(out) and not out.startswith(b'HTTP/1.1 ', nxt) and \
                    (pos == len(out) or out.startswith(b'HTTP/1.1 ', pos)):
                nxt = pos  # a response to HEAD: the length is announced, no body follows
            pos = nxt
        else:
            pos = len(out)  # until close
        assert pos <= len(out), 'body shorter than announced'
    return count


async def serve(raw):
    to_server, from_server, task = TestClient(APP).open(raw)
    to_server.feed_eof()
    await asyncio.wait_for(task, 10)  # a hang fails here
    assert task.exception() is None
    out = b''
    while True:
        chunk = await from_server.read()
        if not chunk:
            break
        out += chunk
    return out


_loop = asyncio.new_event_loop()


def run_one(raw):
    RUN['inputs'] += 1
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            out = _loop.run_until_complete(serve(raw))
        assert 'Traceback' not in err.getvalue(), (raw[:300], err.getvalue()[-2000:])
        RUN['responses'] += check_output(out)
    except BaseException:
        RUN['failing'] += 1  # hypothesis shrinks it and reports the smallest one
        raise


# -- strategies --------------------------------------------------------------------------

METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'DELETE', 'PATCH', 'get', 'G T', '',
           'GET\x00', 'QUERY', 'CONNECT']
ROUTES = ['/', '/all', '/all?', '/stream', '/u/', '/u/1/', '/f/', '/r/', '/hdr?v=', '', '*',
          'http://h/all']
PIECES = ['/', 'a', '1', '-1', '..', '.', '%', '%2', '%2e', '%2F', '%zz', '%ff', '%c0%af',
          '%e0%80%af', '%ed%a0%80', '%f4%90%80%80', '%00', '%0d%0a', '?', '&', '=', '+', '#',
          'v=', 'a=1', '//', ';', '"', '*', 'é', '\U0001f600', '\\',  # the last 8: rarer
          ' ', '\t', '\x00', 'http://h']
VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/2', 'http/1.1', '', 'HTTP/1.1 ',
            'HTTP/1.', 'HTTP/1.1\x00']
NAMES = ['Host', 'Content-Length', 'content-length', 'Transfer-Encoding', 'Content-Type',
         'Cookie', 'Connection', 'Accept-Encoding', 'X', '', ' X', 'X ', 'Bad Name', 'X\x00',
         'Ümlaut']
VALUES = ['', '0', '5', '-1', '+5', '0x5', '5, 5', '99999999999999999999', '\u00b2', '\u0663',
          'chunked', 'gzip, chunked', 'chunked, gzip', 'close', 'keep-alive', 'Upgrade',
          'application/json', 'application/x-www-form-urlencoded', 'multipart/form-data',
          'a=1; b=2', 'a="x"', '=;;=', ' \t ', '\r', '\n', '\x00', 'é', '\xff']
EOLS = ['\r\n', '\r\n', '\r\n', '\n', '\r']


def _encode(text, latin1):
    return text.encode('latin-1', 'replace') if latin1 else text.encode('utf-8', 'surrogatepass')


def _pick(draw, good, bad):
    """Mostly a plausible choice, sometimes (about 1 in 7) a hostile one."""
    if draw(st.integers(0, 6)) == 0:
        return draw(bad)
    return draw(good)


@st.composite
def requests_(draw):
    """Structured requests: mostly plausible, with hostile parts spliced in."""
    latin1 = draw(st.integers(0, 5)) == 0
    eol = _pick(draw, st.just('\r\n'), st.sampled_from(EOLS))
    method = _pick(draw, st.sampled_from(METHODS[:7]), st.sampled_from(METHODS) | st.text(max_size=6))
    target = draw(st.sampled_from(ROUTES)) + ''.join(draw(st.lists(_piece(), max_size=8)))
    version = _pick(draw, st.sampled_from(VERSIONS[:2]), st.sampled_from(VERSIONS))
    head = method + ' ' + target + ' ' + version + eol
    headers = draw(st.lists(st.tuples(
        _name(), st.sampled_from(VALUES) | st.text(max_size=12)), max_size=8))
    for name, value in headers:
        head += name + ':' + _pick(draw, st.just(' '), st.sampled_from(['', '  ', '\t'])) \
            + value + eol
    body = draw(st.binary(max_size=64))
    if draw(st.integers(0, 3)) == 0:  # a chunked body, well-formed or not
        chunks = draw(st.lists(st.binary(min_size=1, max_size=20), max_size=4))
        body = b''.join(b'%x\r\n%s\r\n' % (len(c), c) for c in chunks) + \
            draw(st.sampled_from([b'0\r\n\r\n', b'0\r\nX: 1\r\n\r\n', b'', b'zz\r\n', b'0\r\n']))
    raw = _encode(head + eol, latin1) + body
    if draw(st.booleans()):  # a second, pipelined request
        raw += b'GET /all?x=1 HTTP/1.1\r\nCookie: a=b\r\n\r\n'
    return raw


def _piece():
    return st.sampled_from(PIECES[:-8]) | st.sampled_from(PIECES) | st.text(max_size=3)


def _name():
    return st.sampled_from(NAMES[:8]) | st.sampled_from(NAMES) | st.text(max_size=8)


@st.composite
def mutated(draw):
    """A valid request with random bytes inserted, replaced or deleted."""
    base = bytearray(draw(st.sampled_from([
        b'POST /all?a=1&b=%41 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
        b'Content-Length: 8\r\nCookie: k=v\r\n\r\n{"a": 1}',
        b'POST /stream HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n',
        b'GET /u/12/bob?v=%0d%0a HTTP/1.1\r\nConnection: keep-alive\r\n\r\n',
        b'POST /all HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n'
        b'Content-Length: 9\r\n\r\nf=1&g=%20',
        b'GET /hdr?v=a%0d%0aX:%20y HTTP/1.0\r\n\r\n',
    ])))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 2))
        i = draw(st.integers(0, len(base)))
        data = draw(st.binary(min_size=1, max_size=4) | st.sampled_from(
            [b'\r\n', b'\n', b'\r', b'%', b' ', b':', b'\x00', b'\xff', b'9' * 6]))
        if op == 0:
            base[i:i] = data
        elif op == 1:
            base[i:i + len(data)] = data
        else:
            del base[i:i + len(data)]
    return bytes(base)


# -- the fuzz targets ------------------------------------------------------------------

@SETTINGS
@given(st.binary(max_size=300))
@example(b'\r\n' * 200)
@example(b'GET / HTTP/1.1\r\n' + b'X: y\r\n' * 40 + b'\r\n')
def test_random_bytes(raw):
    run_one(raw)


@SETTINGS
@given(requests_())
@example(b'POST / HTTP/1.1\r\nContent-Length: \xc2\xb2\r\n\r\nab')  # '²'.isdigit(): crashed
@example(b'POST / HTTP/1.1\r\nContent-Length: \xd9\xa3\r\n\r\nabc')
@example(b'POST /all HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n'
         + b'[' * 1000 + b']' * 1000)  # RecursionError gave a 500
@example(b'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' + b'1' * 5000)  # endless line
@example(b'GET / HTTP/1.1\r\nX: a\rY: b\r\n\r\n')  # bare CR accepted
@example(b'GET /hdr?v=%0d%0aSet-Cookie:x HTTP/1.1\r\n\r\n')
def test_structured_requests(raw):
    run_one(raw)


@SETTINGS
@given(mutated())
def test_mutated_requests(raw):
    run_one(raw)


@SETTINGS
@given(st.lists(requests_() | mutated(), min_size=2, max_size=4))
def test_pipelined_mixtures(raws):
    run_one(b''.join(raws))


def test_small_limits_hold_too():
    """The same targets with limits small enough that fuzz inputs cross them."""
    saved = (Request.max_content_length, Request.max_body_length, Request.max_readline,
             Request.max_headers)
    Request.max_content_length, Request.max_body_length = 40, 16
    Request.max_readline, Request.max_headers = 48, 4
    try:
        before = RUN['inputs']
        settings(SETTINGS, max_examples=max(50, EXAMPLES // 4))(
            given(requests_() | mutated())(run_one))()
        assert RUN['inputs'] > before
    finally:
        (Request.max_content_length, Request.max_body_length, Request.max_readline,
         Request.max_headers) = saved


def test_zz_inputs_were_run():
    assert RUN['inputs'] >= 4 * min(EXAMPLES, 50), RUN
    assert RUN['failing'] == 0, RUN
    print('fuzz: %d inputs run' % RUN['inputs'])
