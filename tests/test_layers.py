"""Imports only point down the layers (docs/design.md, "Layers"), and ``hmr_flow`` never imports ``data_tools``.

Layers, bottom to top: atomic file writes (files), the foundation (validation, rng, wheels, image_headers), then
images, video, flows, geometry and the training toolkit, then
body, render and metrics, then prior and detection, then fitting, then the training data, then models,
then the commands, then the CLI (which lists them), then ``python -m hmr_flow``. A module may import its own package and anything in a lower layer, nothing beside or
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
    ("validation", "rng", "wheels", "image_headers"),
    ("images", "flows", "geometry", "training"),
    ("body", "render", "metrics", "video"),
    ("prior", "detection"),
    ("fitting",),
    ("data",),
    ("models",),
    ("commands",),
    ("cli",),
    ("__main__",),
)
LAYER_OF = {part: index for index, parts in enumerate(LAYERS) for part in parts}


def imported_modules(source: str, filename: str = "<source>", package: str = "hmr_flow") -> set[str]:
    """Module names imported anywhere in ``source`` (also inside functions), relative imports resolved
    against ``package``, the dotted package the module belongs to (``from ..geometry import x`` in
    ``hmr_flow.flows`` is ``hmr_flow.geometry``)."""
    names = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            names.add(module)
            if module == "hmr_flow" or (node.level and not node.module):
                names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def layer_violations(part: str, source: str, package: str | None = None) -> list[str]:
    """Imports of ``source`` (a module of the top-level part ``part``, in the dotted ``package``; by default
    the part's own package) that point beside or up the layers."""
    own = LAYER_OF[part]
    found = []
    for name in sorted(imported_modules(source, package=package or f"hmr_flow.{part}")):
        pieces = name.split(".")
        if pieces[0] == "data_tools":
            found.append(f"{name} (hmr_flow never imports data_tools)")
        elif pieces[0] == "hmr_flow" and len(pieces) > 1 and pieces[1] != part and pieces[1] in LAYER_OF:
            if LAYER_OF[pieces[1]] >= own:
                found.append(f"{name} (layer {LAYER_OF[pieces[1]]} from layer {own})")
    return found


def _package(path: Path) -> str:
    """The dotted package a module file belongs to (a package's ``__init__`` belongs to itself)."""
    return ".".join(path.parent.relative_to(LIBRARY.parent).parts)


def _part(path: Path) -> str:
    relative = path.relative_to(LIBRARY)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def test_every_part_has_a_layer():
    parts = {_part(path) for path in LIBRARY.rglob("*.py")} - {"__init__"}
    assert parts <= set(LAYER_OF), f"give these a layer in LAYERS: {sorted(parts - set(LAYER_OF))}"


def test_imports_point_down_the_layers():
    offenders = [f"{path.relative_to(LIBRARY.parent)}: {bad}" for path in sorted(LIBRARY.rglob("*.py"))
                 if _part(path) in LAYER_OF
                 for bad in layer_violations(_part(path), path.read_text(encoding="utf-8"), _package(path))]
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
        ("flows", "from ..geometry import project_points", True),  # relative, beside
        ("flows", "from .. import geometry", True),  # relative, as a name of the package
        ("prior", "from ..fitting.fitter import fit_people", True),  # relative, up
        ("flows", "from .base import Flow", False),  # relative, own package
        ("models", "from ..fitting import Initialisation", False),  # relative, down
    ],
)
def test_the_checker_sees_a_broken_import(part, source, bad):
    assert bool(layer_violations(part, source)) == bad


def test_relative_imports_resolve_against_the_module_package():
    assert imported_modules("from ...geometry import x", package="hmr_flow.body.build") == {"hmr_flow.geometry"}
    assert imported_modules("from . import landmarks", package="hmr_flow.body.build") == {
        "hmr_flow.body.build", "hmr_flow.body.build.landmarks"}


def test_data_tools_is_not_installed_as_a_top_level_package():
    """``pip install`` carries the library only: ``data_tools`` (a name taken on PyPI) stays in the repository."""
    import fnmatch
    import tomllib

    pyproject = tomllib.loads((LIBRARY.parent / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert any(fnmatch.fnmatch("hmr_flow.commands", p) for p in patterns)
    assert not any(fnmatch.fnmatch(name, p) for p in patterns for name in ("data_tools", "data_tools.mocap"))
