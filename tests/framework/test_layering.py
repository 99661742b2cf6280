"""The modules of src/microdot/ are layered: no module imports (at module level or inside a
function) a module that imports it back, directly or through others. The primitives they
share live in microdot.base, below the core; the core imports its lazy modules in one
direction only. CPython only (it reads the sources with ``ast``)."""
from support import cpython_only


def _src_dir():
    import os
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'src', 'microdot')


def _module_name(filename):
    stem = filename[:-3]
    return 'microdot' if stem == '__init__' else 'microdot.' + stem


def import_graph(src_dir):
    """{module: {imported module: first line}} for every src_dir/*.py, counting imports
    at any depth: ``import microdot.x``, ``from microdot.x import ...``, ``from microdot
    import x`` (x a module; other names are taken from the package itself), the relative
    forms, and ``__import__('microdot.x')`` with a constant name. A submodule's implicit
    import of its package (which is loaded before it) is not an edge."""
    import ast
    import os
    modules = {}
    for filename in sorted(os.listdir(src_dir)):
        if filename.endswith('.py'):
            modules[_module_name(filename)] = os.path.join(src_dir, filename)

    def target(dotted):
        """The package's module that importing ``dotted`` runs, or None (outside it)."""
        parts = dotted.split('.')
        if parts[0] != 'microdot':
            return None
        if len(parts) > 1 and 'microdot.' + parts[1] in modules:
            return 'microdot.' + parts[1]
        return 'microdot'

    graph = {}
    for name, path in modules.items():
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        edges = graph[name] = {}

        def add(mod, line):
            if mod is not None and mod != name and mod not in edges:
                edges[mod] = line

        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(target(alias.name), node.lineno)
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative to the package (every module here is in it)
                    base = 'microdot'
                    if node.level > 1:
                        continue
                    dotted = base + '.' + node.module if node.module else base
                else:
                    dotted = node.module or ''
                if dotted == 'microdot':
                    for alias in node.names:
                        add(target('microdot.' + alias.name), node.lineno)
                else:
                    add(target(dotted), node.lineno)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id == '__import__' and node.args and \
                    isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                add(target(node.args[0].value), node.lineno)
    return graph


def find_cycles(graph):
    """One line per group of modules that import each other (directly or through
    others): its members, and one circle among them as 'module (importer line N)' steps
    that end where they started; [] when the graph is layered."""
    index = {}
    low = {}
    stack = []
    on_stack = set()
    groups = []

    def visit(v):  # Tarjan's algorithm (the graph is small: recursion is fine)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(set(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)

    cycles = []
    for group in groups:
        start = min(group)
        # shortest way back to start inside the group (breadth-first)
        came = {start: None}
        queue = [start]
        found = None
        while queue and found is None:
            v = queue.pop(0)
            for w in sorted(graph[v]):
                if w == start:
                    found = v
                    break
                if w in group and w not in came:
                    came[w] = v
                    queue.append(w)
        path = [start]
        v = found
        while v != start:
            path.insert(1, v)
            v = came[v]
        path.append(start)
        steps = [path[0]]
        for a, b in zip(path, path[1:]):
            steps.append('%s (%s line %d)' % (b, a, graph[a][b]))
        cycles.append('%s: %s' % (', '.join(sorted(group)), ' -> '.join(steps)))
    return sorted(cycles)


@cpython_only
def test_no_module_of_the_framework_imports_one_that_imports_it_back():
    cycles = find_cycles(import_graph(_src_dir()))
    assert not cycles, 'import circles in src/microdot:\n' + '\n'.join(cycles)


@cpython_only
def test_the_checker_sees_circles_at_any_depth():
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        files = {
            '__init__.py': 'from microdot.core import App\n',
            'core.py': 'def f():\n    from . import lazy\n',
            'lazy.py': 'if 1:\n    def g():\n        import microdot.helper\n',
            'helper.py': 'from microdot import core\n',
            'leaf.py': 'x = __import__("microdot.base")\n',
            'base.py': 'import os\n',
        }
        for name, text in files.items():
            with open(os.path.join(d, name), 'w') as f:
                f.write(text)
        graph = import_graph(d)
        assert graph['microdot.leaf'] == {'microdot.base': 1}
        assert find_cycles(graph) == [
            'microdot.core, microdot.helper, microdot.lazy: '
            'microdot.core -> microdot.lazy (microdot.core line 2) -> microdot.helper '
            '(microdot.lazy line 3) -> microdot.core (microdot.helper line 1)']
