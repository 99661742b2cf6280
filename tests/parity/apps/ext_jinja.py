"""Jinja extension (CPython only): Template.initialize, render, generate, autoescaping,
enable_async with render_async and generate_async (a streamed body)."""
import os

from microdot import Microdot
from microdot.jinja import Template

RUNTIMES = ('cpython',)
app = Microdot()
PAGE = """<h1>{{ title }}</h1>
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>
"""


def setup():
    os.makedirs('jtemplates', exist_ok=True)
    with open('jtemplates/page.html', 'w') as f:
        f.write(PAGE)
    with open('jtemplates/plain.txt', 'w') as f:
        f.write('{{ text }} and {{ text|upper }}\n')
    Template.initialize('jtemplates', enable_async=True)


@app.get('/page')
async def page(request):
    items = request.args.getlist('i') if request.args else ['none']  # (no query: a dict)
    return Template('page.html').render(title=request.args.get('t', 'List'), items=items), \
        {'Content-Type': 'text/html'}


@app.get('/plain')
async def plain(request):
    return Template('plain.txt').render(text=request.args.get('x', '<tag>'))


@app.get('/gen')
async def gen(request):
    return {'chunks': list(Template('plain.txt').generate(text='a'))}


@app.get('/async')
async def render_async(request):
    return await Template('page.html').render_async(title='Async', items=['a', '<b>'])


@app.get('/stream')
async def stream(request):
    return Template('page.html').generate_async(title='Streamed', items=['x', 'y'])


@app.get('/globals')
async def with_globals(request):
    return Template('plain.txt', globals={'text': 'global'}).render()


CASES = [('GET', '/page'), ('GET', '/page?t=%3Cscript%3E&i=1&i=%26'), ('GET', '/plain'),
         ('GET', '/plain?x=fine'), ('GET', '/gen'), ('GET', '/async'), ('GET', '/stream'),
         ('GET', '/globals')]
