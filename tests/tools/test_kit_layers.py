"""The board runtime (src/kit/) is layered: no module imports one of a higher layer, none in a circle.

Layers, bottom to top: network and settings (kitnet; kitlog, the crash log; kitsafe, start-up
safety and app rollback), services (kitdns, kitportal, kitota),
start-up (kitstart and the frozen boot.py / main.py in kitboot/). A module may import its own
layer or lower ones; every import counts, also one inside a function (on a board a lazy import
is still a tie between two modules). Read with ``ast`` from the files; nothing is imported.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "src" / "kit"

BOTTOM, MIDDLE, TOP = 0, 1, 2
LAYER_NAMES = {BOTTOM: "network and settings", MIDDLE: "services", TOP: "start-up"}
#: Every module of src/kit/ and its layer; a new module must be given one here.
LAYERS = {
    "kitnet": BOTTOM,
    "kitlog": BOTTOM,
    "kitsafe": BOTTOM,
    "kitdns": MIDDLE,
    "kitportal": MIDDLE,
    "kitota": MIDDLE,
    "kitstart": TOP,
    "boot": TOP,  # kitboot/boot.py, frozen as boot.py
    "main": TOP,  # kitboot/main.py, frozen as main.py
}


def kit_sources(folder: Path = KIT):
    """{module name as frozen: source text} for every .py under ``folder``."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.py"))}


def kit_imports(name: str, text: str, known):
    """The modules of ``known`` that ``text`` imports, at any depth of its code."""
    out = set()
    for node in ast.walk(ast.parse(text, name)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        for target in names:
            top = target.split(".")[0]
            if top in known and top != name:
                out.add(top)
    return out


def circle(graph):
    """One import circle as [a, b, ..., a], or None when there is none."""
    done, path = set(), []

    def visit(node):
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt)
            if found:
                return found
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start)
        if found:
            return found
    return None


def layer_problems(sources, layers=LAYERS):
    """Sentences naming every module without a layer, every upward import and a circle."""
    problems = ["%s has no layer: add it to LAYERS in tests/tools/test_kit_layers.py" % n
                for n in sorted(sources) if n not in layers]
    graph = {n: kit_imports(n, text, sources) for n, text in sources.items()}
    for name in sorted(graph):
        for target in sorted(graph[name]):
            if name in layers and target in layers and layers[target] > layers[name]:
                problems.append("%s (%s) imports %s, a higher layer (%s)" % (
                    name, LAYER_NAMES[layers[name]], target, LAYER_NAMES[layers[target]]))
    found = circle(graph)
    if found:
        problems.append("import circle: " + " -> ".join(found))
    return problems


def test_the_board_runtime_is_layered_without_circles():
    sources = kit_sources()
    assert set(sources) == set(LAYERS)  # every module placed, none listed that is gone
    assert layer_problems(sources) == []


def test_the_layers_are_used_as_documented():
    graph = {n: kit_imports(n, t, LAYERS) for n, t in kit_sources().items()}
    assert graph["kitnet"] == set() and graph["kitlog"] == set()
    assert graph["kitsafe"] == {"kitnet", "kitlog"}
    assert graph["kitdns"] == set()
    assert graph["kitportal"] == {"kitnet", "kitdns"}
    assert graph["kitota"] == {"kitnet", "kitsafe", "kitlog"}
    assert graph["kitstart"] == {"kitnet", "kitsafe", "kitportal", "kitota"}
    assert graph["boot"] == {"kitnet", "kitstart"} and graph["main"] == {"kitstart"}


def test_an_upward_import_inside_a_function_and_a_circle_are_found():
    sources = {
        "kitnet": "import time\n\ndef start():\n    import kitportal\n    kitportal.run()\n",
        "kitportal": "def _join():\n    from kitnet import _status\n",
        "kitdns": "import socket\n",
        "kitfoo": "X = 1\n",
    }
    assert layer_problems(sources) == [
        "kitfoo has no layer: add it to LAYERS in tests/tools/test_kit_layers.py",
        "kitnet (network and settings) imports kitportal, a higher layer (services)",
        "import circle: kitnet -> kitportal -> kitnet",
    ]
    same_layer = {"kitota": "import kitportal\n", "kitportal": "import kitota.x\n"}
    assert layer_problems(same_layer) == ["import circle: kitota -> kitportal -> kitota"]
