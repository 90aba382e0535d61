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
    settings = [m for _, m in imported_modules(ROOT / "parity" / "common" / "run_settings.py")]
    assert "parity.common.configs" in settings and "parity.common.datasets" in settings   # `from .`, lazy


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


# ---------------------------------------------------------------- subprocesses

# A command of this project (`python -m ms_gan|torch_gan|parity|data_scripts ...`) runs in a
# subprocess through parity/common/subcommands.py's run_module alone, which parses its error
# one way. A module of the packages below that starts any process or names the interpreter
# is declared here, with its reason.
PACKAGES = ("ms_gan", "torch_gan", "parity")
PROJECT_MODULES = {"ms_gan", "torch_gan", "parity", "data_scripts"}
PROCESS_STARTERS = {
    "parity/common/subcommands.py": "run_module: the one way to run a project command in a subprocess",
    "ms_gan/native/__init__.py": "compiles the native kernels with g++, no project command",
    "parity/bench_workers.py": "starts the console scripts ms-gan/torch-gan under msrun/torchrun "
                               "(distributed.launch_command), as the README's data-parallel commands do",
    "parity/common/distributed.py": "finds the console scripts and launchers beside sys.executable; "
                                    "builds their command line, starts nothing",
    "parity/common/environment.py": "execs ms_gan's own command line again with MindSpore's jemalloc "
                                    "preloaded: the same process, no new command",
}
PROCESS_CALLS = {"system", "popen", "posix_spawn", "posix_spawnp", "fork", "forkpty"}    # of os, besides exec*/spawn*


def _process_uses(tree):
    """[(line, what)] of the ways a module starts a process or names the interpreter."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"imports {a.name}") for a in node.names if a.name.split(".")[0] == "subprocess"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "subprocess":
            found.append((node.lineno, "imports subprocess"))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "sys" and node.attr == "executable":
                found.append((node.lineno, "names sys.executable"))
            elif node.value.id == "os" and (node.attr in PROCESS_CALLS or node.attr.startswith(("exec", "spawn"))):
                found.append((node.lineno, f"calls os.{node.attr}"))
    return found


def _project_module_commands(tree):
    """[line] of each list or tuple that holds "-m" followed by a project package, or by a
    name whose value the source does not show (it may be one)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)):
            items = node.elts
            for item, following in zip(items, items[1:]):
                if isinstance(item, ast.Constant) and item.value == "-m":
                    named = following.value.split(".")[0] if isinstance(following, ast.Constant) and \
                        isinstance(following.value, str) else None
                    if named is None or named in PROJECT_MODULES:
                        lines.append(node.lineno)
    return lines


def _process_violations(root):
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(), str(path))
            if name != "parity/common/subcommands.py":
                found += [f"{name}:{line}: runs `python -m` of a project package; use "
                          f"parity.common.subcommands.run_module" for line in _project_module_commands(tree)]
            if name not in PROCESS_STARTERS:
                found += [f"{name}:{line}: {what}; a project command runs through "
                          f"parity.common.subcommands.run_module, anything else is declared in PROCESS_STARTERS"
                          for line, what in _process_uses(tree)]
    return sorted(found)


def test_project_commands_run_through_run_module_only():
    found = _process_violations(ROOT)
    assert not found, "\n".join(found)
    for name in PROCESS_STARTERS:     # no stale entry
        assert _process_uses(ast.parse((ROOT / name).read_text())), name


def test_the_process_rule_finds_planted_violations(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "parity" / "study.py").write_text(
        "import subprocess\nimport sys\n\ndef run(framework):\n"
        "    subprocess.run([sys.executable, '-m', framework, 'train'])\n")
    (tmp_path / "ms_gan" / "native").mkdir()
    (tmp_path / "ms_gan" / "native" / "__init__.py").write_text(     # declared, but not for this
        "import subprocess\nsubprocess.run(['python', '-m', 'parity.fid', 'a', 'b'])\n")
    (tmp_path / "torch_gan" / "x.py").write_text("import os\nos.system('python -m torch_gan train')\n")
    (tmp_path / "parity" / "fine.py").write_text("command = ['msrun', '-m', 'pytest']\n")   # not a project package
    found = _process_violations(tmp_path)
    assert [line.split(": ")[0] for line in found] == [
        "ms_gan/native/__init__.py:2", "parity/study.py:1", "parity/study.py:5", "parity/study.py:5",
        "torch_gan/x.py:2"]
    assert "parity/study.py:5: runs `python -m` of a project package" in "\n".join(found)
