"""Runs one parity app under one implementation, in its own process (CPython or MicroPython).

Usage: <python|micropython> driver.py LIBDIR APPFILE MODE [PORT]

LIBDIR (src/ or the oracle's unpacked wheel) goes first on sys.path, so ``import microdot``
in the app module finds that implementation and no other. The driver prints one JSON record
per line, each prefixed with ``@@P `` (anything else on stdout is the app's own output):

  {"k": "impl", "file": microdot.__file__}           which package was imported
  {"k": "cases", "cases": [...]}                      the app's CASES, normalised
  {"k": "case", "i": n, "res": {...}}                 mode 'testclient': one case's response
  {"k": "log", "values": [...]}                       a script()'s log() call
  {"k": "error", "where": ..., "exc": "Type: msg"}    an exception outside a response
  {"k": "done"}                                       testclient mode finished

Mode 'http' prints impl and cases, then serves the app with app.run() on 127.0.0.1:PORT
until it is killed; the harness sends the requests. Mode 'testclient' runs every case
through that implementation's TestClient (a fresh client per case, built with the app's
TESTCLIENT_KWARGS), then the app's optional ``async def script(client, log)``.
Bytes travel as {"b64": ...}. Must run unchanged on MicroPython: no typing, no f-strings
with nested quotes, only modules both runtimes have.
"""
import sys

MARK = '@@P '


def _dirname(path):
    return path.rsplit('/', 1)[0] if '/' in path else '.'


def _b64(data):
    import binascii
    return binascii.b2a_base64(data).decode().strip()


def _exc_text(exc):
    return '%s: %s' % (type(exc).__name__, exc)


def jsonable(value):
    """``value`` as plain JSON types: bytes -> {"b64"}, tuples -> lists, a TestResponse-like
    object -> {"response": {...}}, any other object -> {"type": its class name}."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray)):
        return {'b64': _b64(bytes(value))}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for key in value:
            out[str(key)] = jsonable(value[key])
        return out
    if hasattr(value, 'status_code') and hasattr(value, 'headers'):
        return {'response': response_record(value)}
    if isinstance(value, BaseException):
        return {'exception': _exc_text(value)}
    return {'type': type(value).__name__}


def response_record(res):
    """A TestResponse as a record: status, reason, headers (as the dict holds them, in its
    order; a list value stays a list), body, and the decoded text/json/events."""
    headers = []
    hdrs = getattr(res, 'headers', None) or {}
    for name in hdrs:
        headers.append([name, jsonable(hdrs[name])])
    rec = {'status': res.status_code, 'reason': getattr(res, 'reason', None),
           'headers': headers, 'body': jsonable(getattr(res, 'body', None))}
    for attr in ('text', 'json', 'events'):
        rec[attr] = jsonable(getattr(res, attr, None))
    return rec


def emit(kind, **fields):
    import json
    fields['k'] = kind
    sys.stdout.write(MARK + json.dumps(fields) + '\n')
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def normalise_case(case):
    """(method, path[, headers[, body]]) or a dict -> a dict with every key present."""
    if isinstance(case, dict):
        out = {'method': case.get('method', 'GET'), 'path': case.get('path', '/'),
               'headers': case.get('headers') or {}, 'body': case.get('body', b''),
               'differs': case.get('differs'), 'raw': case.get('raw'),
               'name': case.get('name')}
    else:
        out = {'method': case[0], 'path': case[1],
               'headers': case[2] if len(case) > 2 else {},
               'body': case[3] if len(case) > 3 else b'', 'differs': None, 'raw': None,
               'name': None}
    if out['body'] is None:
        out['body'] = b''
    return out


def case_json(case):
    headers = case['headers']
    pairs = [[k, headers[k]] for k in headers] if isinstance(headers, dict) \
        else [[k, v] for k, v in headers]
    body = case['body']
    return {'method': case['method'], 'path': case['path'], 'headers': pairs,
            'body': jsonable(body.encode() if isinstance(body, str) else body),
            'differs': case['differs'], 'raw': jsonable(case['raw']), 'name': case['name']}


async def run_testclient(module, cases):
    from microdot.test_client import TestClient
    kwargs = getattr(module, 'TESTCLIENT_KWARGS', None) or {}
    for i, case in enumerate(cases):
        if case['raw'] is not None:
            emit('case', i=i, skipped='raw request (http mode only)')
            continue
        headers = case['headers']
        if not isinstance(headers, dict):
            headers = dict(headers)
        else:
            headers = dict(headers)  # the client may add to it; keep the case's own intact
        try:
            client = TestClient(module.app, **kwargs)
            res = await client.request(case['method'], case['path'], headers=headers,
                                       body=case['body'])
            emit('case', i=i, res=response_record(res))
        except Exception as exc:
            emit('case', i=i, exc=_exc_text(exc))
    script = getattr(module, 'script', None)
    if script is not None:
        def log(*values):
            emit('log', values=jsonable(values))
        try:
            client = TestClient(module.app, **kwargs)
            await script(client, log)
        except Exception as exc:
            emit('error', where='script', exc=_exc_text(exc))


def main(argv):
    libdir, appfile, mode = argv[0], argv[1], argv[2]
    appdir = _dirname(appfile)
    modname = appfile.rsplit('/', 1)[-1][:-3]
    root = _dirname(_dirname(_dirname(appdir)))  # apps -> parity -> tests -> repo
    sys.path.insert(0, appdir)
    sys.path.insert(0, libdir)
    sys.path.append(root + '/.cache/vendor')  # utemplate for MicroPython
    import microdot
    emit('impl', file=microdot.__file__)
    module = __import__(modname)
    cases = [normalise_case(c) for c in getattr(module, 'CASES', ())]
    emit('cases', cases=[case_json(c) for c in cases])
    setup = getattr(module, 'setup', None)
    if setup is not None:
        setup()
    if mode == 'http':
        module.app.run(host='127.0.0.1', port=int(argv[3]))
    elif mode == 'testclient':
        import asyncio
        asyncio.run(run_testclient(module, cases))
        emit('done')
    else:
        raise SystemExit('unknown mode ' + mode)


if __name__ == '__main__':
    main(sys.argv[1:])
