"""utemplate extension: runs under pytest and on MicroPython (tools.dev.mptest test_utemplate.py)."""
import os
import random
import sys

from microdot import Microdot
from microdot.test_client import TestClient
from microdot.utemplate import Template
from utemplate import compiled, recompile, source

from support import raises

_DIR_MODE = 0x4000

HELLO = ('{% args name, items %}\n'
         '<h1>Hello {{ name }}!</h1>\n'
         '{% for i in items %}<li>{{ i }}</li>{% endfor %}\n'
         '{% include "footer.html" %}')
FOOTER = '<footer>"quoted" {{ 6 * 7 }}</footer>\n'
HELLO_OUT = '<h1>Hello Susan!</h1>\n<li>1</li><li>two</li><footer>"quoted" 42</footer>\n'


def _rmtree(path):
    for name in os.listdir(path):
        full = path + '/' + name
        if os.stat(full)[0] & _DIR_MODE:
            _rmtree(full)
        else:
            os.remove(full)
    os.rmdir(path)


class TemplateDir:
    """A temporary directory holding a template package; it becomes the cwd and is importable.

    ``with TemplateDir({'a.html': '...'}) as t:`` - ``t.package`` is the template directory
    name (unique, so CPython's and MicroPython's module caches never mix tests up).
    """
    def __init__(self, templates=None, package=None):
        tag = '%d_%d' % (random.getrandbits(24), random.getrandbits(24))
        self.root = '/tmp/mdtpl_' + tag
        self.package = package or 'tpl_' + tag
        self.templates = templates or {}

    def path(self, name=''):
        return self.root + '/' + self.package + ('/' + name if name else '')

    def write(self, name, text):
        with open(self.path(name), 'w') as f:
            f.write(text)

    def listing(self):
        return sorted(n for n in os.listdir(self.path()) if n != '__pycache__')

    def __enter__(self):
        os.mkdir(self.root)
        os.mkdir(self.path())
        for name, text in self.templates.items():
            self.write(name, text)
        self.cwd = os.getcwd()
        os.chdir(self.root)
        sys.path.insert(0, self.root)
        return self

    def __exit__(self, *exc):
        os.chdir(self.cwd)
        sys.path.remove(self.root)
        for mod in list(sys.modules):
            if mod == self.package or mod.startswith(self.package + '.'):
                del sys.modules[mod]
        Template.loader = None
        _rmtree(self.root)
        return False


def precompile(src_dir, out_dir):
    """Compile every template of src_dir into <name>_<ext>.py modules in out_dir (like tools.app.templates)."""
    loader = source.Loader(None, src_dir)
    for name in os.listdir(src_dir):
        if name.endswith('.py'):
            continue
        out = open(out_dir + '/' + name.replace('.', '_') + '.py', 'w')
        with loader.input_open(name) as f_in:
            source.Compiler(f_in, out, loader=loader).compile()
        out.close()


class read_only_files:
    """Make every attempt to open a file for writing fail, as on a read-only filesystem."""
    def __enter__(self):
        import builtins
        self.builtins = builtins
        self.open = builtins.open
        real_open = self.open

        def guarded_open(file, mode='r', *args, **kwargs):
            if 'w' in mode or 'a' in mode or '+' in mode or 'x' in mode:
                raise OSError(30, 'Read-only file system')
            return real_open(file, mode, *args, **kwargs)
        builtins.open = guarded_open
        return self

    def __exit__(self, *exc):
        self.builtins.open = self.open
        return False


def test_render_and_generate():
    with TemplateDir({'hello.html': HELLO, 'footer.html': FOOTER}) as t:
        Template.initialize(t.package)
        tpl = Template('hello.html')
        assert tpl.name == 'hello.html'
        assert tpl.render('Susan', [1, 'two']) == HELLO_OUT
        assert tpl.render(name='Susan', items=[1, 'two']) == HELLO_OUT
        chunks = list(tpl.generate('Susan', [1, 'two']))
        assert len(chunks) > 3
        assert all(isinstance(c, str) for c in chunks)
        assert ''.join(chunks) == HELLO_OUT
        # the default (recompile) loader wrote the compiled module next to the source
        assert 'hello_html.py' in t.listing()
        assert Template('hello.html').render('Ann', []) == \
            '<h1>Hello Ann!</h1>\n<footer>"quoted" 42</footer>\n'


async def test_async_render_and_generate():
    with TemplateDir({'hello.html': HELLO, 'footer.html': FOOTER}) as t:
        Template.initialize(t.package)
        tpl = Template('hello.html')
        assert await tpl.render_async('Susan', [1, 'two']) == HELLO_OUT
        chunks = []
        async for chunk in tpl.generate_async('Susan', [1, 'two']):
            chunks.append(chunk)
        assert len(chunks) > 3 and ''.join(chunks) == HELLO_OUT


async def test_templates_in_routes():
    with TemplateDir({'hello.html': HELLO, 'footer.html': FOOTER}) as t:
        Template.initialize(t.package)
        app = Microdot()

        @app.get('/sync/<name>')
        def sync_page(req, name):
            return Template('hello.html').render(name, req.args.getlist('i')), \
                {'Content-Type': 'text/html'}

        @app.get('/async')
        async def async_page(req):
            return await Template('hello.html').render_async('Susan', [1, 'two']), \
                {'Content-Type': 'text/html'}

        @app.get('/stream')
        async def stream_page(req):
            return Template('hello.html').generate_async('Susan', [1, 'two']), \
                {'Content-Type': 'text/html'}

        @app.get('/gen')
        async def gen_page(req):
            return Template('hello.html').generate('Susan', [1, 'two'])

        client = TestClient(app)
        res = await client.get('/sync/Susan?i=1&i=two')
        assert res.status_code == 200
        assert res.headers['Content-Type'] == 'text/html'
        assert res.text == HELLO_OUT
        res = await client.get('/async')
        assert res.text == HELLO_OUT and res.headers['Content-Length'] == str(len(HELLO_OUT))
        for path in ('/stream', '/gen'):
            res = await client.get(path)
            assert res.status_code == 200
            assert 'Content-Length' not in res.headers  # a streamed body
            assert res.text == HELLO_OUT


def test_default_template_directory():
    with TemplateDir({'index.txt': '{% args n %}n={{ n }}'}, package='templates'):
        Template.loader = None
        assert Template('index.txt').render(3) == 'n=3'
        assert isinstance(Template.loader, recompile.Loader)


def test_initialize_switches_directory():
    with TemplateDir({'page.txt': 'first'}) as t1:
        Template.initialize(t1.package)
        assert Template('page.txt').render() == 'first'
        with TemplateDir({'page.txt': 'second'}) as t2:
            Template.initialize(t2.package)
            assert Template('page.txt').render() == 'second'


def test_missing_template():
    with TemplateDir({'a.txt': 'a'}) as t:
        Template.initialize(t.package)
        with raises(OSError):
            Template('nope.txt')
        Template.initialize(t.package, loader_class=compiled.Loader)
        with raises(ImportError):
            Template('nope.txt')


def test_compiled_loader_on_read_only_app():
    """Templates compiled beforehand load with compiled.Loader with no source and no writes."""
    with TemplateDir({'hello.html': HELLO, 'footer.html': FOOTER}) as src:
        with TemplateDir() as app_dir:
            # the app's template package holds compiled modules only, no template sources
            precompile(src.path(), app_dir.path())
            os.chdir(src.cwd)  # the cwd is somewhere else entirely; only sys.path finds them
            before = app_dir.listing()
            assert before == ['footer_html.py', 'hello_html.py']
            with read_only_files():
                Template.initialize(app_dir.package, loader_class=compiled.Loader)
                assert Template('hello.html').render('Susan', [1, 'two']) == HELLO_OUT
                assert ''.join(Template('hello.html').generate('Susan', [1, 'two'])) == HELLO_OUT
            assert app_dir.listing() == before
            assert isinstance(Template.loader, compiled.Loader)
            # the recompiling loader, in the same situation, needs to write: it fails
            os.chdir(src.root)
            with read_only_files():
                Template.initialize(src.package)
                with raises(OSError):
                    Template('hello.html')
