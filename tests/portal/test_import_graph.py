"""The layers of the code, read from its imports (with ast: nothing is imported or run).

lib < accounts < licensing < orders < bench < portal: a module imports only its own layer and the
layers below it, lib imports no app, and no two first-party modules need each other. Imports inside
functions count as much as those at the top of a module: a lazy import hides an arrow, it does not
remove it. Migrations are left out (Django writes their imports)."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("lib", "accounts", "licensing", "orders", "bench", "portal")
APPS = ("accounts", "licensing", "orders")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    where: str  # path:line

    def __str__(self) -> str:
        return f"{self.where}: {self.source} -> {self.target}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                found[_module_name(path)] = path
    return found


MODULES = _modules()


def _first_party(name: str) -> str | None:
    """The longest first-party module that `name` (a module, or a module.attribute) is in."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def _imports_of(module: str, path: Path) -> list[Edge]:
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    edges = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):  # every depth: functions too
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from accounts import services` names the module accounts.services, not accounts.
            names = [f"{origin}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _first_party(name)
            if target is not None and target != module:
                edges.append(Edge(module, target, where))
    return edges


# One edge per import statement and target (`from x import a, b` of one module is one arrow).
EDGES = list(dict.fromkeys(edge for module, path in MODULES.items() for edge in _imports_of(module, path)))


def _layer(module: str) -> str:
    return module.partition(".")[0]


def test_the_graph_holds_module_level_and_function_level_imports():
    # A reader that found nothing would pass every rule below.
    pairs = {(edge.source, edge.target) for edge in EDGES}
    assert ("orders.services.placing", "accounts.models") in pairs  # at the top of the module
    assert ("bench.run.targets", "orders.views") in pairs  # inside a function
    assert ("licensing.views.licenses", "licensing.forms") in pairs  # relative: `from ..forms import …`


def test_lib_imports_no_app_nor_the_wiring():
    upward = [str(edge) for edge in EDGES if _layer(edge.source) == "lib" and _layer(edge.target) != "lib"]
    assert upward == []


def test_no_app_imports_the_wiring_or_the_bench():
    upward = [
        str(edge) for edge in EDGES if _layer(edge.source) in APPS and _layer(edge.target) in ("portal", "bench")
    ]
    assert upward == []


def test_a_module_imports_only_its_own_layer_and_the_layers_below():
    upward = [str(edge) for edge in EDGES if LAYERS.index(_layer(edge.target)) > LAYERS.index(_layer(edge.source))]
    assert upward == []


def _circles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for edge in edges:
        graph[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_two_modules_import_each_other_even_through_others():
    # A package's __init__ re-exporting its submodules is its public face, not a circle with them.
    edges = [edge for edge in EDGES if not (MODULES[edge.source].name == "__init__.py"
                                            and edge.target.startswith(edge.source + "."))]
    circles = []
    for group in _circles(edges):
        members = set(group)
        circles.append([str(edge) for edge in edges if edge.source in members and edge.target in members])
    assert circles == []


def test_the_circle_finder_finds_a_circle_through_a_third_module():
    names = sorted(MODULES)[:3]
    edges = [Edge(names[0], names[1], "x"), Edge(names[1], names[2], "x"), Edge(names[2], names[0], "x")]
    assert _circles(edges) == [names]
