"""The layout of the package: layers import only downwards, no import circles, small files.

Every ``import findna...`` counts, lazy imports inside functions and ``TYPE_CHECKING`` blocks
included, so the drawing in docs/code-map.md cannot drift from the code unnoticed.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "findna"

LAYERS = {
    "config": 0,
    "provenance": 0,
    "figures": 0,
    "outputs": 0,
    "devices": 0,
    "version": 0,
    "data": 1,
    "model": 2,
    "ssl": 3,
    "train": 4,
    "eval": 5,
    "perf": 6,
    "workflows": 6,
    "cli": 7,
    "api": 7,
}
"""Top-level part -> layer. A module may import its own part and lower layers only."""

MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every findna module ``path`` imports (``from findna.x import y`` -> ``findna.x.y`` when
    that is a module, else ``findna.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("findna.")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("findna"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}
GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_part_has_a_layer():
    parts = {_part(m) for m in MODULES} - {"__init__"}
    assert parts <= set(LAYERS), f"give these parts a layer: {sorted(parts - set(LAYERS))}"


def test_imports_only_go_down_the_layers():
    upward = [
        f"{mod} -> {dep}"
        for mod, deps in GRAPH.items()
        for dep in deps
        if _part(mod) in LAYERS and _part(dep) in LAYERS and LAYERS[_part(dep)] > LAYERS[_part(mod)]
    ]
    assert not upward, "imports that run up the layers:\n" + "\n".join(sorted(upward))


def test_no_import_circles():
    state: dict[str, int] = {}
    circles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(GRAPH.get(node, ())):
            if dep not in GRAPH or dep == "findna":
                continue
            if state.get(dep) == 1:
                circles.append(" -> ".join([*stack[stack.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert not circles, "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_source_files_stay_small(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines; split it by purpose"


def test_the_checker_sees_lazy_imports(tmp_path):
    code = "def f():\n    from findna.eval.report import SeedResult\n    import findna.cli\n"
    (tmp_path / "m.py").write_text(code)
    assert _imports(tmp_path / "m.py") == {"findna.eval.report", "findna.cli"}
