"""Imports only point down the layers (docs/design.md, "Layers"), and ``hmr_flow`` never imports ``data_tools``.

Layers, bottom to top: atomic file writes (files), the foundation (validation, rng, wheels), then images, flows, geometry and the training toolkit, then
body, render and metrics, then prior and detection, then fitting, then the training data, then models,
then the commands and the CLI, then ``python -m hmr_flow``. A module may import its own package and anything in a lower layer, nothing beside or
above it.
"""

import ast
from pathlib import Path

import pytest

import hmr_flow

LIBRARY = Path(hmr_flow.__file__).resolve().parent

#: Top-level parts of ``hmr_flow`` (packages or modules), bottom layer first.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("files",),
    ("validation", "rng", "wheels"),
    ("images", "flows", "geometry", "training"),
    ("body", "render", "metrics"),
    ("prior", "detection"),
    ("fitting",),
    ("data",),
    ("models",),
    ("commands", "cli"),
    ("__main__",),
)
LAYER_OF = {part: index for index, parts in enumerate(LAYERS) for part in parts}


def imported_modules(source: str, filename: str = "<source>") -> set[str]:
    """Absolute module names imported anywhere in ``source`` (also inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "hmr_flow")
    return names


def layer_violations(part: str, source: str) -> list[str]:
    """Imports of ``source`` (a module of the top-level part ``part``) that point beside or up the layers."""
    own = LAYER_OF[part]
    found = []
    for name in sorted(imported_modules(source)):
        pieces = name.split(".")
        if pieces[0] == "data_tools":
            found.append(f"{name} (hmr_flow never imports data_tools)")
        elif pieces[0] == "hmr_flow" and len(pieces) > 1 and pieces[1] != part and pieces[1] in LAYER_OF:
            if LAYER_OF[pieces[1]] >= own:
                found.append(f"{name} (layer {LAYER_OF[pieces[1]]} from layer {own})")
    return found


def _part(path: Path) -> str:
    relative = path.relative_to(LIBRARY)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def test_every_part_has_a_layer():
    parts = {_part(path) for path in LIBRARY.rglob("*.py")} - {"__init__"}
    assert parts <= set(LAYER_OF), f"give these a layer in LAYERS: {sorted(parts - set(LAYER_OF))}"


def test_imports_point_down_the_layers():
    offenders = [f"{path.relative_to(LIBRARY.parent)}: {bad}" for path in sorted(LIBRARY.rglob("*.py"))
                 if _part(path) in LAYER_OF
                 for bad in layer_violations(_part(path), path.read_text(encoding="utf-8"))]  # fmt: skip
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize(
    ("part", "source", "bad"),
    [
        ("fitting", "from hmr_flow.models import load_model", True),  # up
        ("fitting", "def f():\n    import hmr_flow.commands.fit", True),  # up, inside a function
        ("flows", "from hmr_flow.geometry import project_points", True),  # beside
        ("prior", "from hmr_flow import fitting", True),  # up, as a name of the package
        ("body", "from data_tools.mocap import bvh", True),
        ("models", "from hmr_flow.fitting import Initialisation", False),  # down
        ("fitting", "from hmr_flow.fitting.fitter import fit_people", False),  # own package
    ],
)
def test_the_checker_sees_a_broken_import(part, source, bad):
    assert bool(layer_violations(part, source)) == bad


def test_data_tools_is_not_installed_as_a_top_level_package():
    """``pip install`` carries the library only: ``data_tools`` (a name taken on PyPI) stays in the repository."""
    import fnmatch
    import tomllib

    pyproject = tomllib.loads((LIBRARY.parent / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert any(fnmatch.fnmatch("hmr_flow.commands", p) for p in patterns)
    assert not any(fnmatch.fnmatch(name, p) for p in patterns for name in ("data_tools", "data_tools.mocap"))
