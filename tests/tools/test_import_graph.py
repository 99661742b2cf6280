"""No import circles among the kit's own modules: src/ (what runs on the board) and tools/.

Every ``import`` counts, at any depth: an import inside a function still ties two modules
together, and on a microcontroller a lazy import that comes back to the module doing it is
the start of a tangle. The graph is read with ``ast`` from the files; nothing is imported.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def module_names(base: Path, prefix: str = ""):
    """{dotted name: path} for every .py under ``base``; a folder without __init__.py holds
    top-level modules (the board runtime's kitnet, kitota, ... freeze that way)."""
    names = {}
    for path in sorted(base.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(base).with_suffix("").parts)
        # climb only through folders that are packages
        package = []
        for i in range(len(parts) - 1, 0, -1):
            if not (base.joinpath(*parts[:i]) / "__init__.py").is_file():
                package = parts[i:]
                break
        else:
            package = parts
        if package[-1] == "__init__":
            package = package[:-1]
        if package:
            names[prefix + ".".join(package)] = path
    return names


def imports_of(path: Path, name: str, known):
    """The known modules ``path`` imports, at any depth of its code."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        dotted = []
        if isinstance(node, ast.Import):
            dotted = [alias.name for alias in node.names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            dotted = [node.args[0].value]  # __import__('microdot.x') with a constant name
        for target in dotted:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target:
                out.add(target)
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".") if here else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = base + "." + alias.name if base else alias.name
                if full in known:
                    out.add(full)
                elif base in known:
                    out.add(base)
    out.discard(name)
    return out


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def graph_of(modules):
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def kit_modules():
    modules = module_names(ROOT / "src")
    modules.update(module_names(ROOT / "tools", "tools."))
    modules["tools"] = ROOT / "tools" / "__init__.py"
    return modules


def test_the_graph_reader_sees_imports_at_any_depth_and_relative_ones(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .a import x\n")
    (pkg / "a.py").write_text("x = 1\ndef f():\n    from pkg import b\n")
    (pkg / "b.py").write_text("import pkg.a\n")
    (pkg / "c.py").write_text("def h():\n    return __import__('pkg.b')\n")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "top.py").write_text("def g():\n    import other\n")
    (tmp_path / "flat" / "other.py").write_text("")
    modules = module_names(tmp_path)
    assert set(modules) == {"pkg", "pkg.a", "pkg.b", "pkg.c", "top", "other"}
    graph = graph_of(modules)
    assert graph["pkg"] == {"pkg.a"} and graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.a"}
    assert graph["top"] == {"other"} and graph["pkg.c"] == {"pkg.b"}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_the_kit_has_modules_on_both_sides():
    modules = kit_modules()
    assert "microdot.microdot" in modules and "kitnet" in modules
    assert "tools.selection.boards" in modules and "tools.manifest.frozen" in modules


@pytest.mark.parametrize("side", ["src", "tools"])
def test_no_import_circles(side):
    graph = graph_of(kit_modules())
    found = [c for c in cycles(graph) if any(m.startswith("tools") == (side == "tools") for m in c)]
    assert not found, "import circles (break each by moving what both need one layer down): " + "; ".join(
        " <-> ".join(c) for c in found)
