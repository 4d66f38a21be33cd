"""The library does not depend on the data-preparation tools: no module of ``hmr_flow`` imports ``data_tools``."""

import ast
from pathlib import Path

import hmr_flow

LIBRARY = Path(hmr_flow.__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_hmr_flow_never_imports_data_tools():
    offenders = [f"{path.relative_to(LIBRARY.parent)}: {name}" for path in sorted(LIBRARY.rglob("*.py"))
                 for name in sorted(_imported_modules(path)) if name.split(".")[0] == "data_tools"]  # fmt: skip
    assert not offenders, offenders
