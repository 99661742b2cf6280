"""Jinja templates (microdot.jinja), in routes through the test client."""
import asyncio

import jinja2
import pytest

from microdot import Microdot
from microdot.jinja import Template
from microdot.test_client import TestClient

BASE = '<html><title>{% block title %}{% endblock %}</title><body>{% block body %}{% endblock %}</body></html>'
PAGE = ('{% extends "base.html" %}{% block title %}{{ title }}{% endblock %}'
        '{% block body %}{% for i in items %}<i>{{ i }}</i>{% endfor %}{% endblock %}')


@pytest.fixture
def tdir(tmp_path):
    (tmp_path / "base.html").write_text(BASE)
    (tmp_path / "page.html").write_text(PAGE)
    (tmp_path / "note.txt").write_text("note: {{ text }}")
    yield tmp_path
    Template.jinja_env = None


def test_render_generate_and_autoescape(tdir):
    Template.initialize(str(tdir))
    tpl = Template("page.html")
    assert tpl.name == "page.html"
    assert isinstance(tpl.template, jinja2.Template)
    expected = "<html><title>a &amp; b</title><body><i>1</i><i>&lt;b&gt;</i></body></html>"
    assert tpl.render(title="a & b", items=[1, "<b>"]) == expected
    assert tpl.render({"title": "a & b", "items": [1, "<b>"]}) == expected
    chunks = list(tpl.generate(title="a & b", items=[1, "<b>"]))
    assert len(chunks) > 1 and "".join(chunks) == expected
    # plain-text templates are not escaped
    assert Template("note.txt").render(text="<x>") == "note: <x>"


def test_default_directory_and_environment_options(tmp_path, monkeypatch):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "t.html").write_text("{{ name|shout }}\n")
    monkeypatch.chdir(tmp_path)
    Template.jinja_env = None
    try:
        Template.initialize(keep_trailing_newline=True, autoescape=False)
        Template.jinja_env.filters["shout"] = lambda s: s.upper() + "!"
        assert isinstance(Template.jinja_env, jinja2.Environment)
        assert Template("t.html").render(name="<hi>") == "<HI>!\n"
        Template.jinja_env = None
        # first use without initialize(): the defaults ('templates', autoescape for .html)
        Template.initialize()
        Template.jinja_env.filters["shout"] = lambda s: s.upper()
        assert Template("t.html").render(name="<hi>") == "&lt;HI&gt;"
    finally:
        Template.jinja_env = None


def test_lazy_initialize(tmp_path, monkeypatch):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "x.txt").write_text("x={{ x }}")
    monkeypatch.chdir(tmp_path)
    Template.jinja_env = None
    try:
        assert Template("x.txt").render(x=1) == "x=1"
        assert Template.jinja_env is not None
    finally:
        Template.jinja_env = None


def test_missing_template(tdir):
    Template.initialize(str(tdir))
    with pytest.raises(jinja2.TemplateNotFound):
        Template("nope.html")


async def test_routes_sync_environment(tdir):
    Template.initialize(str(tdir))
    app = Microdot()

    @app.get("/page/<title>")
    async def page(req, title):
        return Template("page.html").render(title=title, items=req.args.getlist("i")), \
            {"Content-Type": "text/html"}

    @app.get("/gen")
    def gen(req):
        return Template("page.html").generate(title="g", items=[1]), {"Content-Type": "text/html"}

    client = TestClient(app)
    res = await client.get("/page/Hi?i=1&i=2")
    assert res.status_code == 200 and res.headers["Content-Type"] == "text/html"
    assert res.text == "<html><title>Hi</title><body><i>1</i><i>2</i></body></html>"
    res = await client.get("/gen")  # a generator body is streamed
    assert res.text == "<html><title>g</title><body><i>1</i></body></html>"


async def test_async_environment(tdir):
    (tdir / "async.html").write_text("{% for v in values() %}[{{ v }}]{% endfor %} {{ later() }}")
    Template.initialize(str(tdir), enable_async=True)
    assert Template.jinja_env.is_async

    async def later():
        await asyncio.sleep(0)
        return "<done>"

    async def values():
        for i in range(3):
            await asyncio.sleep(0)
            yield i

    app = Microdot()

    @app.get("/render")
    async def render(req):
        return await Template("async.html").render_async(values=values, later=later), \
            {"Content-Type": "text/html"}

    @app.get("/stream")
    async def stream(req):
        return Template("async.html").generate_async(values=values, later=later), \
            {"Content-Type": "text/html"}

    client = TestClient(app)
    res = await client.get("/render")
    assert res.text == "[0][1][2] &lt;done&gt;"
    res = await client.get("/stream")  # an async generator body is streamed
    assert res.text == "[0][1][2] &lt;done&gt;"
    chunks = [c async for c in Template("async.html").generate_async(values=values, later=later)]
    assert len(chunks) > 1 and "".join(chunks) == "[0][1][2] &lt;done&gt;"
