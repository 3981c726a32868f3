"""The import graph of colorbench/: no cycle between modules, and no import from a higher layer.

LAYERS is the one declaration of the layer order (docs/architecture.md describes it).
A module may import modules of its own layer and of the layers below; within a layer, the module
graph must still be acyclic. Deferred imports inside functions count: they are imports too; imports under `if TYPE_CHECKING:`
(annotations only) do not.
Top-level modules and packages are named by their dotted name under colorbench (e.g. "pipeline").
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "colorbench"

LAYERS: list[set[str]] = [
    # foundations: no knowledge of images, models or runs beyond the file formats they define
    {"", "errors", "files", "hashing", "paths", "registry", "typed", "labels", "distributed", "lock", "stats",
     "provenance", "color", "imageio", "results", "document", "runfolder", "contracts"},
    # inputs: weights, datasets, the config and its settings, plug-in loading
    {"weights", "data", "config", "fingerprint", "settings", "plugins", "families"},
    {"metrics"},
    {"protocols"},
    {"scoring"},
    {"training", "human"},
    {"study"},
    {"report"},
    {"plan"},
    {"pipeline", "restore"},
    # the public surfaces and the command line
    {"portable", "compare", "api", "python_api", "run_result"},
    {"commands", "cli", "__main__"},
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(dotted: str) -> str | None:
    """The colorbench module a dotted import path lands in ('' for the package itself)."""
    name = dotted.removeprefix("colorbench").removeprefix(".")
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _runtime_nodes(tree: ast.AST):
    """Every node but those under `if TYPE_CHECKING:` (annotations only: never imported at run time)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text())
    targets = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "colorbench":
            targets |= {_resolve(f"{node.module}.{a.name}") for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level > 0:  # relative: from its package up
            package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            targets |= {_resolve(f"colorbench.{base}.{a.name}".rstrip(".")) for a in node.names}
        elif isinstance(node, ast.Import):
            targets |= {_resolve(a.name) for a in node.names if a.name.split(".")[0] == "colorbench"}
    return {t for t in targets if t is not None and t != module}


def _unit(module: str) -> str:
    """The layer unit of a module: its top-level package or module under colorbench."""
    return module.split(".")[0]


def _layer(module: str) -> int:
    unit = _unit(module)
    for i, units in enumerate(LAYERS):
        if unit in units:
            return i
    raise AssertionError(f"colorbench.{unit} is in no layer: add it to LAYERS in {__file__}")


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_from_a_higher_layer(module):
    upward = sorted(t for t in GRAPH[module] if _layer(t) > _layer(module))
    assert not upward, f"colorbench.{module} (layer {_layer(module)}) imports higher layers: {upward}"


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(GRAPH[m]):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state and (found := visit(t)):
                return found
        state[m] = 2
        stack.pop()
        return None

    for m in sorted(GRAPH):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycle_between_modules():
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " -> ".join(f"colorbench.{m}" for m in cycle)


def test_the_checker_sees_deferred_and_relative_imports():
    # the check is only as good as its parser: imports inside functions and relative imports count
    assert "pipeline.harness" in GRAPH["python_api"]  # deferred, inside run()
    assert "human.folder" in GRAPH["human.sets"]  # `from .folder import ...`
