"""Core parity: routing. Every URL segment type (string, int, path, re:, custom types from
URLPattern.register_type with and without a parser), the method decorators and route(methods=),
HEAD, automatic OPTIONS, 404 and 405, and which route wins when several match."""
from microdot import Microdot, URLPattern

app = Microdot()


def _hex(value):
    return int(value, 16)


def _even(value):
    n = int(value)
    return n if n % 2 == 0 else None  # a parser answering None: the route does not match


URLPattern.register_type('hex', '[0-9a-fA-F]+', _hex)
URLPattern.register_type('upper', '[A-Z]+')
URLPattern.register_type('even', parser=_even)
URLPattern.register_type('word')


@app.route('/')
async def index(request):
    return 'index'


@app.route('/users/<name>')
async def user(request, name):
    return 'user:' + name


@app.route('/users/<name>/posts/<int:post>')
async def post(request, name, post):
    return 'post:%s:%d:%s' % (name, post, type(post).__name__)


@app.route('/int/<int:n>')
async def int_arg(request, n):
    return {'n': n}


@app.route('/string/<string:s>')
async def string_arg(request, s):
    return s


@app.route('/files/<path:path>')
async def files(request, path):
    return 'path:' + path


@app.route('/files/<path:path>/meta')
async def files_meta(request, path):
    return 'meta:' + path


@app.route('/re/<re:[a-c]+:letters>')
async def regex(request, letters):
    return 'letters:' + letters


@app.route('/re/<re:[0-9]{2}:two>/x')
async def regex2(request, two):
    return 'two:' + two


@app.route('/hex/<hex:value>')
async def hexval(request, value):
    return {'value': value}


@app.route('/upper/<upper:word>')
async def upper(request, word):
    return 'upper:' + word


@app.route('/even/<even:n>')
async def even(request, n):
    return {'even': n}


@app.route('/word/<word:w>')
async def word(request, w):
    return 'word:' + w


@app.route('/trailing/')
async def trailing(request):
    return 'trailing'


@app.get('/m')
async def m_get(request):
    return 'get'


@app.post('/m')
async def m_post(request):
    return 'post'


@app.put('/m')
async def m_put(request):
    return 'put'


@app.patch('/m')
async def m_patch(request):
    return 'patch'


@app.delete('/m')
async def m_delete(request):
    return 'delete'


@app.route('/both', methods=['GET', 'POST'])
def both(request):  # a plain function: upstream runs it in a thread on CPython
    return request.method


@app.route('/lower', methods=['get', 'post'])
async def lower(request):
    return 'lower:' + request.method


@app.route('/onlypost', methods=['POST'])
async def onlypost(request):
    return 'onlypost'


@app.route('/explicit', methods=['OPTIONS', 'GET'])
async def explicit(request):
    return 'explicit:' + request.method


# a dynamic route added before a literal one it also matches: the first added wins
@app.route('/first/<name>')
async def first_dynamic(request, name):
    return 'dynamic:' + name


@app.route('/first/literal')
async def first_literal(request):
    return 'literal'


@app.route('/dup')
async def dup1(request):
    return 'dup1'


@app.route('/dup')
async def dup2(request):
    return 'dup2'


@app.route('/dup', methods=['POST'])
async def dup3(request):
    return 'dup3'


@app.route('/<name>')
async def catchall(request, name):
    return 'catch:' + name


@app.route('/about')
async def about(request):
    return 'about'  # never reached: /<name> was added first


CASES = [
    ('GET', '/'), ('HEAD', '/'), ('POST', '/'),
    ('GET', '/users/alice'), ('GET', '/users/a%20b'), ('GET', '/users/a+b'), ('GET', '/users/a%zz'),
    ('GET', '/users/'), ('GET', '/users/alice/'), ('GET', '/users/alice/posts/7'),
    ('GET', '/users/alice/posts/x'), ('GET', '/users/alice/posts/-7'),
    ('GET', '/int/42'), ('GET', '/int/-3'), ('GET', '/int/007'), ('GET', '/int/4.2'), ('GET', '/int/'),
    ('GET', '/string/x.y'),
    ('GET', '/files/a'), ('GET', '/files/a/b/c.txt'), ('GET', '/files/a/b/meta'), ('GET', '/files/'),
    ('GET', '/files/a%2Fb'),
    ('GET', '/re/abc'), ('GET', '/re/abd'), ('GET', '/re/42/x'), ('GET', '/re/4/x'),
    ('GET', '/hex/ff'), ('GET', '/hex/FFz'), ('GET', '/upper/ABC'), ('GET', '/upper/AbC'),
    ('GET', '/even/4'), ('GET', '/even/5'), ('GET', '/word/hello'),
    ('GET', '/trailing/'), ('GET', '/trailing'),
    ('GET', '/m'), ('POST', '/m'), ('PUT', '/m'), ('PATCH', '/m'), ('DELETE', '/m'), ('HEAD', '/m'),
    ('GET', '/both'), ('POST', '/both'), ('PUT', '/both'), ('HEAD', '/both'),
    ('GET', '/lower'), ('POST', '/lower'), ('DELETE', '/lower'),
    ('GET', '/onlypost'), ('HEAD', '/onlypost'), ('POST', '/onlypost'),
    ('GET', '/explicit'), ('OPTIONS', '/explicit'),
    ('OPTIONS', '/'), ('OPTIONS', '/m'), ('OPTIONS', '/both'), ('OPTIONS', '/onlypost'),
    ('OPTIONS', '/nowhere/at/all'), ('OPTIONS', '/users/x'), ('OPTIONS', '/dup'), ('OPTIONS', '*'),
    ('GET', '/first/literal'), ('GET', '/first/other'),
    ('GET', '/dup'), ('POST', '/dup'), ('PUT', '/dup'),
    ('GET', '/about'), ('GET', '/anything'), ('GET', '/a/b/c/d'), ('DELETE', '/a/b/c/d'),
    ('GET', '/x%20y'), ('GET', '/users/alice?x=1'),
    ('QUERY', '/m'), ('get', '/m'), ('Post', '/m'),
]
CASES += [('GET', '//users/x'), ('GET', '/users//x'), ('GET', '//')]
