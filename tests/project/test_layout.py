"""The layering rules, read from the source: no import cycle inside `parity`, lower layers
never import their importers, and the twins' and the shared layer's framework rule."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path, root=ROOT):
    """[(line, module)] of every import anywhere in the file, function bodies included;
    relative imports made absolute, and `from a import b` also as `a.b` (b may be a module)."""
    package = path.relative_to(root).parent.parts
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            parts = list(package[:len(package) - node.level + 1]) if node.level else []
            base = ".".join(parts + ([node.module] if node.module else []))
            found += [(node.lineno, base)] + [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
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


# ---------------------------------------------------------------- the import rule

# package folder -> the top-level modules none of its files may import. A `parity` module
# outside parity.common imports both frameworks, so each is banned everywhere here too.
BANNED = {"ms_gan": {"torch", "torchvision", "torch_gan"},
          "torch_gan": {"mindspore", "ms_gan"},
          "parity/common": {"mindspore", "torch", "torchvision", "ms_gan", "torch_gan"}}


def _banned(module, banned):
    top = module.split(".")[0]
    # `parity` itself imports neither framework (its __init__ says so); parity.common neither.
    allowed = module in ("parity", "parity.common") or module.startswith("parity.common.")
    return top in banned or (top == "parity" and not allowed)


def _violations(root, folder, banned):
    """"file:line: imports module" of each import statement under `folder` that imports a banned module."""
    found = {}
    for path in sorted((root / folder).rglob("*.py")):
        for line, module in sorted(imported_modules(path, root)):
            if _banned(module, banned):
                found.setdefault((path, line), f"{path.relative_to(root)}:{line}: imports {module}")
    return list(found.values())


@pytest.mark.parametrize("folder", sorted(BANNED))
def test_no_module_imports_the_other_framework(folder):
    found = _violations(ROOT, folder, BANNED[folder])
    assert not found, "\n".join(found)


def test_the_import_rule_sees_imports_in_function_bodies_and_through_parity(tmp_path):
    (tmp_path / "ms_gan" / "models").mkdir(parents=True)
    (tmp_path / "ms_gan" / "models" / "x.py").write_text(
        "import numpy\nfrom . import layers\n\ndef f():\n    import torch.nn\n\n"
        "from parity import convert\nfrom parity.common import names\nfrom parity.check import Twins\n")
    assert _violations(tmp_path, "ms_gan", BANNED["ms_gan"]) == [
        "ms_gan/models/x.py:5: imports torch.nn", "ms_gan/models/x.py:7: imports parity.convert",
        "ms_gan/models/x.py:9: imports parity.check"]
