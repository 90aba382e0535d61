"""The layering rules, read from the source: no import cycle inside `parity`, lower layers
never import their importers, and the twins' and the shared layer's framework rule."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path):
    """[(line, dotted module)] of every import in a file, function bodies included; `from
    X import y` gives X.y as well as X (y may be a module)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def package_graph(package):
    """{module: {module of the same package it imports}}."""
    files = {module_name(p): p for p in (ROOT / package).rglob("*.py")}
    return {name: {m for _, m in imported_modules(path) if m in files and m != name}
            for name, path in files.items()}


def cycles(graph):
    """The import cycles of a graph, each as a list of modules."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for other in sorted(graph[node]):
            if state.get(other) == "open":
                found.append(stack[stack.index(other):] + [other])
            elif other not in state:
                visit(other, stack + [other])
        state[node] = "done"
    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_parity_has_no_import_cycle():
    graph = package_graph("parity")
    # parity/__init__ is imported on the way to every submodule, not a dependency edge
    graph = {m: {o for o in targets if o != "parity"} for m, targets in graph.items()}
    assert cycles(graph) == []
    assert "parity.twins" in graph["parity.check"] and "parity.check" not in graph["parity.layers"]


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_function_level_and_relative_imports_are_seen():
    check = dict((m, line) for line, m in imported_modules(ROOT / "parity" / "check.py"))
    assert check["parity.common.files"] > check["parity.twins"]    # inside main(), below the top
    training = [m for _, m in imported_modules(ROOT / "parity" / "common" / "training.py")]
    assert "parity.common.arguments" in training and "parity.common.datasets" in training   # `from . import`, lazy
