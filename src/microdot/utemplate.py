"""HTML templates rendered with utemplate (CPython and MicroPython).

Templates live in a directory (``templates`` by default) relative to the current
directory, which must be importable (it is on MicroPython, where ``''`` is on
``sys.path``). The default loader compiles a template to a Python module the first
time it is used; switch to ``utemplate.compiled.Loader`` to import templates that
were compiled beforehand (``python -m tools.app.templates DIR``), e.g. frozen into the
firmware or copied to a read-only filesystem.
"""
from utemplate import recompile


class Template:
    """A template, loaded by name (a file name relative to the template directory)."""

    #: The utemplate loader in use (created by :meth:`initialize`).
    loader = None
    _cache = {}

    @classmethod
    def initialize(cls, template_dir='templates', loader_class=recompile.Loader):
        """Set where templates are found and how they are loaded.

        :param template_dir: directory (and importable package name) of the templates.
        :param loader_class: a utemplate loader class; ``recompile.Loader`` (default)
            compiles templates when needed, ``compiled.Loader`` only imports
            precompiled ones and never touches the filesystem.
        """
        Template.loader = loader_class(None, template_dir)
        Template._cache = {}

    def __init__(self, template):
        if Template.loader is None:
            Template.initialize()
        #: The template's name.
        self.name = template
        render = Template._cache.get(template)
        if render is None:
            render = _load(Template.loader, template)
            Template._cache[template] = render
        self.template = render

    def generate(self, *args, **kwargs):
        """Return a generator of the rendered text, in chunks."""
        return self.template(*args, **kwargs)

    def render(self, *args, **kwargs):
        """Return the rendered template as a string."""
        return ''.join(self.template(*args, **kwargs))

    def generate_async(self, *args, **kwargs):
        """Return an async iterator of the rendered text, in chunks (``async for``).

        It can be returned as a response body, which then streams to the client.
        """
        return _AsyncChunks(self.template(*args, **kwargs))

    async def render_async(self, *args, **kwargs):
        """Return the rendered template as a string (async)."""
        return ''.join(self.template(*args, **kwargs))


class _AsyncChunks:
    # MicroPython has no async generators: wrap the template's generator instead
    def __init__(self, gen):
        self.gen = gen

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return next(self.gen)
        except StopIteration:
            raise StopAsyncIteration

    def close(self):
        self.gen.close()


def _load(loader, name):
    try:
        return loader.load(name)
    except ImportError:
        # CPython caches directory listings: a module compiled a moment ago may be missed
        try:
            import importlib
        except ImportError:  # MicroPython
            raise
        importlib.invalidate_caches()
        return loader.load(name)
