from microdot import NoCaseDict, MultiDict, urlencode, urldecode, urldecode_str, urldecode_bytes
from support import raises


def test_urldecode_handles_plus_and_escapes():
    assert urldecode_str('a+b%20c%2Fd') == 'a b c/d'
    assert urldecode_bytes(b'caf%C3%A9') == 'caf\u00e9'
    assert urldecode('plain') == 'plain'
    assert urldecode(b'x%3Dy') == 'x=y'


def test_urldecode_as_upstream():
    for bad in ('%zz', '%G0', '%-1'):
        with raises(ValueError):
            urldecode_str(bad)
    with raises(ValueError):
        urldecode_bytes(b'%ff%fe')  # not UTF-8
    # what upstream lets through: a lone %, a one-digit escape
    assert urldecode_str('100%') == '100%' and urldecode_str('%%') == '%%'
    assert urldecode_str('%4') == '\x04' and urldecode_str('a%2') == 'a\x02'
    assert urldecode_str('a+b%2B') == 'a b+'


def test_urlencode_round_trip():
    for text in ('hello world', 'a&b=c/d?e', 'caf\u00e9 \u2603', '~._-'):
        assert urldecode_str(urlencode(text)) == text
    assert urlencode('a b&c') == 'a+b%26c'


def test_nocasedict_lookups_ignore_case_and_keep_first_spelling():
    d = NoCaseDict({'Content-Type': 'text/html'})
    assert d['content-type'] == 'text/html'
    assert 'CONTENT-TYPE' in d
    assert d.get('Content-type') == 'text/html'
    d['CONTENT-TYPE'] = 'application/json'
    assert len(d) == 1
    assert list(d.keys()) == ['CONTENT-TYPE']
    assert d['content-type'] == 'application/json'
    del d['Content-Type']
    assert 'content-type' not in d
    assert d.get('content-type', 'x') == 'x'
    d.setdefault('X-A', '1')
    assert d.pop('x-a') == '1'
    assert len(d) == 0


def test_multidict_keeps_all_values():
    md = MultiDict()
    md['a'] = '1'
    md['a'] = '2'
    md['b'] = 'x'
    assert md['a'] == '1'
    assert md.getlist('a') == ['1', '2']
    assert md.get('a', type=int) == 1
    with raises(ValueError):  # as upstream: the conversion's error is not swallowed
        md.get('b', type=int)
    assert md.items() and sorted(md.items()) == [('a', ['1', '2']), ('b', ['x'])]
    assert md.get('missing', 'd') == 'd'
    assert md.getlist('missing') == []
    assert md.getlist('a', type=int) == [1, 2]
    assert sorted(md.keys()) == ['a', 'b']
