"""utemplate extension: Template.initialize, render, generate, render_async and
generate_async (a streamed body), template arguments and loops."""
import os
import sys

from microdot import Microdot
from microdot.utemplate import Template

app = Microdot()
PAGE = """{% args title, items %}
<h1>{{ title }}</h1>
<ul>
{% for item in items %}
  <li>{{ item }}</li>
{% endfor %}
</ul>
"""
HELLO = "{% args name='world' %}Hello, {{ name }}!\n"


def setup():
    # the driver runs in its own temporary directory: templates are written there
    if '' not in sys.path:
        sys.path.insert(0, '')
    try:
        os.mkdir('ptemplates')
    except OSError:
        pass
    for name, text in (('page.html', PAGE), ('hello.txt', HELLO)):
        with open('ptemplates/' + name, 'w') as f:
            f.write(text)
    Template.initialize('ptemplates')


@app.get('/page')
async def page(request):
    items = request.args.getlist('i') if request.args else ['none']  # (no query: a dict)
    return Template('page.html').render(request.args.get('t', 'List'), items), \
        {'Content-Type': 'text/html'}


@app.get('/hello')
async def hello(request):
    name = request.args.get('name')
    if name:
        return Template('hello.txt').render(name=name)
    return Template('hello.txt').render()


@app.get('/chunks')
async def chunks(request):
    return {'chunks': list(Template('hello.txt').generate(name='gen'))}


@app.get('/async')
async def render_async(request):
    return await Template('page.html').render_async('Async', ['a', 'b'])


@app.get('/stream')
async def stream(request):
    return Template('page.html').generate_async('Streamed', ['x', 'y', 'z'])


@app.get('/name')
async def name(request):
    return Template('hello.txt').name


CASES = [('GET', '/page'), ('GET', '/page?t=Fruit&i=apple&i=pear&i=%3Cb%3E'),
         ('GET', '/hello'), ('GET', '/hello?name=Susan'), ('GET', '/chunks'),
         ('GET', '/async'), ('GET', '/stream'), ('GET', '/name')]
