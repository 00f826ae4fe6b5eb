"""Imports point one way: no module-level import cycle in the package, no deferred import in
the engine, and nothing in `engine/` imports from the layers above it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "microgradvg"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(name: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The package's modules that one import statement of module `name` loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in MODULES]
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    if node.level:
        base = package.split(".")
        base = base[: len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = [target] if target in MODULES else []
    found += [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES]
    return found


def run_time_nodes(tree: ast.Module) -> list[ast.AST]:
    """Every node of the module but those under `if TYPE_CHECKING:`, which never run."""
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for statement in node.body
        for inner in ast.walk(statement)
    }
    return [node for node in ast.walk(tree) if id(node) not in skipped]


def import_graph(top_level_only: bool) -> dict[str, set[str]]:
    """Module → the package's modules it imports (at its top level only, or anywhere)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        nodes = tree.body if top_level_only else run_time_nodes(tree)
        graph[name] = {
            target
            for node in nodes
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for target in imported(name, node)
            # A package is set up before its modules, so importing it from inside is no edge.
            if not name.startswith(target + ".") and target != name
        }
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle in `graph`, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_package_has_no_import_cycle() -> None:
    assert len(MODULES) > 30
    cycle = find_cycle(import_graph(top_level_only=False))
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_the_engine_imports_only_at_the_top_and_only_from_itself() -> None:
    everywhere = import_graph(top_level_only=False)
    at_the_top = import_graph(top_level_only=True)
    for module in MODULES:
        if module.startswith("microgradvg.engine"):
            assert everywhere[module] == at_the_top[module], f"{module} imports inside a function"
            outside = {m for m in everywhere[module] if not m.startswith("microgradvg.engine")}
            assert not outside, f"{module} imports from above the engine: {sorted(outside)}"
