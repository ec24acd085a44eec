"""The import graph of src/neuralab: no import cycle between modules, no import up the layers.

Every ``import`` and ``from ... import`` of every module counts, at module level and inside
functions alike: a lazy import still makes one module depend on another, and only hides a
cycle until the day it runs first. Imports under ``if TYPE_CHECKING:`` count for the layers
(a type from a higher layer is still a dependency on it) but not for cycles: they never run,
and annotating a mixin with the class it is mixed into is how Python spells that.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "neuralab"

# The layers, bottom first: a module may import modules of its own package and of packages
# on LOWER layers. Packages on one layer are independent (neither imports the other).
# Names are the parts after ``neuralab.``; "neuralab" is the package root (__version__).
# Packages that do not exist yet (studies, reproduce, playground: see DESIGN.md) have their
# place already, so their first import shows up where it belongs.
LAYERS: list[tuple[str, ...]] = [
    ("neuralab",),
    ("exceptions", "_checks", "_atomic", "_malloc", "_jupyter", "rng"),  # small utilities
    ("io", "_lock"),  # model files (.npz + JSON header), bounded reading; folder locks
    ("_metrics_csv",),  # the metrics.csv format (reads its lines through io)
    ("nn", "data"),  # the layers; the datasets (data needs no network code)
    ("optim", "gradcheck"),
    ("train",),  # the loop, callbacks, metrics, history
    ("models", "viz"),  # estimators; figures (viz draws estimators without importing them)
    ("experiments",),  # configs and runs
    ("studies",),  # grid x seeds
    ("reproduce",),  # the seed reports' findings
    ("report", "playground"),
    ("cli",),
    ("__main__",),  # python -m neuralab
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}

# Known violations, each (importing module, imported module) with a comment saying why and
# who fixes it; none today. The test fails when one disappears, so an exemption goes with
# its problem.
KNOWN_EDGES: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module ``name`` refers to: itself, else its closest enclosing known module."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_imports(tree: ast.AST) -> set[ast.AST]:
    """The import statements inside ``if TYPE_CHECKING:`` blocks."""
    found: set[ast.AST] = set()
    for node in ast.walk(tree):
        test = node.test if isinstance(node, ast.If) else None
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            found.update(n for stmt in node.body for n in ast.walk(stmt)
                         if isinstance(n, (ast.Import, ast.ImportFrom)))
    return found


def imports(mod: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported neuralab module, line, only under TYPE_CHECKING) for every import statement
    of ``mod``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    typing_only = _type_checking_imports(tree)
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, up level - 1
                base = mod.split(".") if is_package else mod.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            # ``from pkg import sub`` imports the submodule pkg.sub when there is one
            names = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in known else origin
                     for a in node.names]
        else:
            continue
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                target = _resolve(name, known)
                if target is not None and target != mod:
                    out.append((target, node.lineno, node in typing_only))
    return out


def graph(*, typing: bool = True) -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first such import}; ``typing=False`` leaves
    out the imports made only under ``if TYPE_CHECKING:``."""
    known = modules()
    edges: dict[str, dict[str, int]] = {}
    for mod, path in known.items():
        edges[mod] = {}
        for target, line, typing_only in imports(mod, path, known):
            if typing or not typing_only:
                edges[mod].setdefault(target, line)
    return edges


def layer_of(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle through each strongly connected component of more than one module
    (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, {}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(set(component))
    return [_cycle_in(c, edges) for c in components]


def _cycle_in(component: set[str], edges: dict[str, dict[str, int]]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first search)."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in edges[node]:
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child in component and child not in parents:
                    parents[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle found in {component}")  # pragma: no cover


def _known(src: str, dst: str) -> bool:
    return (src, dst) in KNOWN_EDGES


def test_every_package_has_a_layer():
    missing = sorted({layer_of(m) for m in modules()} - set(LAYER))
    assert not missing, (f"add {missing} to LAYERS in tests/test_import_graph.py, on the layer "
                         "it belongs to (docs/architecture.md)")


def upward_imports(edges: dict[str, dict[str, int]]) -> list[str]:
    """A message for each import of a package on the same or a higher layer."""
    problems = []
    for src, targets in edges.items():
        for dst, line in targets.items():
            a, b = layer_of(src), layer_of(dst)
            if a == b or a not in LAYER or b not in LAYER or _known(src, dst):
                continue
            if LAYER[b] >= LAYER[a]:
                how = "is on the same layer as" if LAYER[b] == LAYER[a] else "is above"
                problems.append(f"{src} (line {line}) imports {dst}: {b} {how} {a}")
    return problems


def test_no_upward_import():
    problems = upward_imports(graph())
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_no_import_cycle():
    edges = graph(typing=False)
    for src, dst in KNOWN_EDGES:  # a known cycle's exemption: one edge of it leaves the graph
        edges.get(src, {}).pop(dst, None)
    found = [" -> ".join(c) for c in cycles(edges)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_known_edges_still_exist():
    edges = graph()
    gone = sorted(e for e in KNOWN_EDGES if e[1] not in edges.get(e[0], {}))
    assert not gone, f"{gone} no longer imported: remove them from KNOWN_EDGES"


@pytest.mark.parametrize(("source", "expected"), [
    ("import neuralab.nn.linear\n", {"neuralab.nn.linear"}),
    ("from neuralab.nn import linear, Linear\n", {"neuralab.nn.linear", "neuralab.nn"}),
    ("def f():\n    from neuralab.experiments.run import Run\n", {"neuralab.experiments.run"}),
    ("from . import linear\nfrom .module import Module\n",
     {"neuralab.nn.linear", "neuralab.nn.module"}),
    ("from neuralab.nn.linear import Linear as L\nimport numpy\n", {"neuralab.nn.linear"}),
])
def test_imports_are_read_everywhere(source, expected, tmp_path):
    path = tmp_path / "probe.py"
    path.write_text(source)
    found = {t for t, _, _ in imports("neuralab.nn.probe", path, modules())}
    assert found == expected


def test_type_checking_imports_are_marked(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                    "    from neuralab.nn.module import Module\nimport neuralab.nn.linear\n")
    found = imports("neuralab.nn.probe", path, modules())
    assert sorted(found) == [("neuralab.nn.linear", 4, False), ("neuralab.nn.module", 3, True)]


def test_a_cycle_and_an_upward_edge_are_caught():
    edges = {"neuralab.nn.a": {"neuralab.nn.b": 1, "neuralab.io": 4},
             "neuralab.nn.b": {"neuralab.nn.c": 2}, "neuralab.nn.c": {"neuralab.nn.a": 3},
             "neuralab.io": {}}
    assert cycles(edges) == [["neuralab.nn.a", "neuralab.nn.b", "neuralab.nn.c", "neuralab.nn.a"]]
    assert upward_imports(edges) == []
    del edges["neuralab.nn.c"]["neuralab.nn.a"]
    assert cycles(edges) == []
    edges["neuralab.viz.curves"] = {"neuralab.experiments.run": 21, "neuralab.models": 5}
    assert upward_imports(edges) == [
        "neuralab.viz.curves (line 21) imports neuralab.experiments.run: experiments is above "
        "viz",
        "neuralab.viz.curves (line 5) imports neuralab.models: models is on the same layer as "
        "viz"]
