"""The layout of the package: layers import only downwards, no import circles, small files.

Every ``import findna...`` counts, lazy imports inside functions and ``TYPE_CHECKING`` blocks
included, so the drawing in docs/code-map.md cannot drift from the code unnoticed. The package
face (``findna/__init__.py``) counts too: it reaches the API (layer 7) through ``__getattr__``,
so it is the top layer, and a module below it that does ``import findna`` or
``from findna import X`` (X not a submodule) imports back up. ``findna.version`` (layer 0) is
where lower modules get ``__version__``.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "findna"

FACE = "findna"
"""The package itself: ``findna/__init__.py``, what ``import findna`` gives."""

LAYERS = {
    "config": 0,
    "provenance": 0,
    "figures": 0,
    "outputs": 0,
    "folders": 0,
    "devices": 0,
    "precision": 0,
    "logs": 0,
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
    "__init__": 8,  # the package face: its __getattr__ loads findna.api
}
"""Top-level part -> layer. A module may import its own part and lower layers only."""

MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_findna(name: str) -> bool:
    return name == FACE or name.startswith(FACE + ".")


def _relative_base(node: ast.ImportFrom, module: str | None, is_package: bool) -> str | None:
    """The absolute module a ``from .x import y`` starts from, or None when it cannot be told."""
    if not node.level:
        return node.module
    if module is None:
        return None
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts) or None


def _import_sites(path: Path, module: str | None = None) -> list[tuple[str, int]]:
    """Every findna module ``path`` imports, with the line: ``from findna.x import y`` ->
    ``findna.x.y`` when that is a module, else ``findna.x``; ``import findna`` and
    ``from findna import __version__`` -> ``findna`` (the package face). After
    ``import findna.x``, an attribute ``findna.NAME`` that is no submodule counts as the face too.
    """
    if module is None and path.is_relative_to(SRC):
        module = _module_name(path)
    tree = ast.parse(path.read_text())
    found: list[tuple[str, int]] = []
    binds_findna = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_findna(alias.name):
                    found.append((alias.name, node.lineno))
                    binds_findna |= alias.asname is None
        elif isinstance(node, ast.ImportFrom):
            base = _relative_base(node, module, path.name == "__init__.py")
            if base is None or not _is_findna(base):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in MODULES else base, node.lineno))
    if binds_findna:  # `import findna.config` binds `findna`; `findna.embed` then is the face
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == FACE
                and f"{FACE}.{node.attr}" not in MODULES
            ):
                found.append((FACE, node.lineno))
    return found


def _imports(path: Path) -> set[str]:
    """Every findna module ``path`` imports (see ``_import_sites``)."""
    return {dep for dep, _ in _import_sites(path)}


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}
SITES = {name: _import_sites(path, name) for name, path in MODULES.items()}
GRAPH = {name: {dep for dep, _ in sites} - {name} for name, sites in SITES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _shown(path: Path) -> str:
    return str(path.relative_to(SRC.parents[1]) if path.is_relative_to(SRC.parents[1]) else path)


def _upward_imports(module: str, path: Path, sites: list[tuple[str, int]]) -> list[str]:
    """``FILE:LINE: ...`` for each import of ``module`` (at ``path``) into a higher layer."""
    if _part(module) not in LAYERS:
        return []
    here = LAYERS[_part(module)]
    return [
        f"{_shown(path)}:{line}: {module} (layer {here}) imports {dep} "
        f"(layer {LAYERS[_part(dep)]})"
        + (
            "; take __version__ from findna.version, anything else from its own module"
            if dep == FACE
            else ""
        )
        for dep, line in sites
        if dep != module and _part(dep) in LAYERS and LAYERS[_part(dep)] > here
    ]


def test_every_part_has_a_layer():
    parts = {_part(m) for m in MODULES}
    assert parts <= set(LAYERS), f"give these parts a layer: {sorted(parts - set(LAYERS))}"


def test_the_package_face_is_the_top_layer():
    assert "findna.api" in GRAPH[FACE], "findna/__init__.py no longer reaches the API; re-layer it"
    assert LAYERS["__init__"] > max(v for k, v in LAYERS.items() if k != "__init__")


def test_imports_only_go_down_the_layers():
    upward = [
        message
        for name, sites in SITES.items()
        for message in _upward_imports(name, MODULES[name], sites)
    ]
    assert not upward, "imports that run up the layers:\n" + "\n".join(sorted(upward))


def test_no_import_circles():
    state: dict[str, int] = {}
    circles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(GRAPH.get(node, ())):
            if dep not in GRAPH:
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


def test_no_fmt_skip():
    """Files are split by purpose, never packed under the line limit with formatter escapes."""
    found = [
        f"{_shown(path)}:{number}: {line.strip()}"
        for path in sorted(MODULES.values())
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "fmt: skip" in line or "fmt: off" in line
    ]
    assert not found, (
        f"{len(found)} formatter escape(s) in src/; remove them, run ruff format and split a file "
        "that grows over the limit by purpose:\n" + "\n".join(found)
    )


def test_the_checker_sees_lazy_imports(tmp_path):
    code = "def f():\n    from findna.eval.report import SeedResult\n    import findna.cli\n"
    (tmp_path / "m.py").write_text(code)
    assert _imports(tmp_path / "m.py") == {"findna.eval.report", "findna.cli"}


def test_the_checker_catches_imports_of_the_package_face(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        "import findna\n"
        "from findna.version import __version__\n"
        "from findna import data, outputs\n"
        "def f():\n"
        "    from findna import __version__\n"
        "    import findna.config\n"
        "    return findna.config.dump_config, findna.embed\n"
    )
    sites = _import_sites(path, "findna.data.m")
    assert sorted(sites) == [
        ("findna", 1),
        ("findna", 5),
        ("findna", 7),  # findna.embed after `import findna.config`
        ("findna.config", 6),
        ("findna.data", 3),
        ("findna.outputs", 3),
        ("findna.version", 2),
    ]
    upward = _upward_imports("findna.data.m", path, sites)
    assert [m.split(": ", 1)[0] for m in upward] == [f"{path}:1", f"{path}:5", f"{path}:7"]
    assert all("imports findna (layer 8)" in m and "findna.version" in m for m in upward)


def test_the_checker_resolves_relative_imports(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from .. import __version__\nfrom ..model import network\nfrom . import x\n")
    sites = _import_sites(path, "findna.data.m")
    assert sorted(sites) == [("findna", 1), ("findna.data", 3), ("findna.model.network", 2)]
