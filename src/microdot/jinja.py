"""HTML templates rendered with Jinja2 (CPython only)."""
from jinja2 import Environment, FileSystemLoader, select_autoescape


class Template:
    """A Jinja template, loaded by name (a path relative to the template directory)."""

    #: The ``jinja2.Environment`` shared by all templates (see :meth:`initialize`).
    jinja_env = None

    @classmethod
    def initialize(cls, template_dir='templates', enable_async=False, **kwargs):
        """Create the Jinja environment.

        :param template_dir: directory the templates are loaded from.
        :param enable_async: render with :meth:`render_async` / :meth:`generate_async`
            (needed when templates await coroutines).
        :param kwargs: more ``jinja2.Environment`` options (autoescaping of HTML and
            XML templates is on unless ``autoescape`` is given).
        """
        kwargs.setdefault('autoescape', select_autoescape())
        cls.jinja_env = Environment(loader=FileSystemLoader(template_dir),
                                    enable_async=enable_async, **kwargs)

    def __init__(self, template, **kwargs):
        if self.jinja_env is None:
            self.initialize()
        #: The template's name.
        self.name = template
        #: The ``jinja2.Template`` object (``kwargs`` go to ``get_template()``).
        self.template = self.jinja_env.get_template(template, **kwargs)

    def generate(self, *args, **kwargs):
        """Return a generator of the rendered text, in chunks."""
        return self.template.generate(*args, **kwargs)

    def render(self, *args, **kwargs):
        """Return the rendered template as a string."""
        return self.template.render(*args, **kwargs)

    def generate_async(self, *args, **kwargs):
        """Return an async generator of the rendered text (needs ``enable_async=True``)."""
        return self.template.generate_async(*args, **kwargs)

    async def render_async(self, *args, **kwargs):
        """Return the rendered template as a string (needs ``enable_async=True``)."""
        return await self.template.render_async(*args, **kwargs)
