"""The documentation: the README stays short and its links land, the site builds with ``mkdocs build
--strict`` (broken links, bad anchors, pages missing from the nav all fail), and the command-line page
is generated from the parsers, so it lists every command."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Markdown links ``[text](target)``, without images' ``!`` mattering (both must resolve).
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _hook():
    spec = importlib.util.spec_from_file_location("generated_pages", ROOT / "docs" / "hooks" / "generated_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _slug(heading: str) -> str:
    """The anchor of a heading as GitHub and mkdocs' ``toc`` both make it for plain words."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in page.read_text(encoding="utf-8").splitlines() if line.startswith("#")}


def test_readme_is_short():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250


def test_readme_links_land():
    """Every relative link of the README names a file of the repository (or a generated page) and, with
    ``#anchor``, one of its headings."""
    generated = {"docs/cli.md"}
    for target in LINK.findall(README.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        assert path in generated or (ROOT / path).exists(), f"README links to missing {path}"
        if anchor and path not in generated:
            assert anchor in _anchors(ROOT / path), f"README links to {path}#{anchor}: no such heading"


def test_readme_figures_link_to_where_they_are_measured():
    """Each row of the "How good is it" table links to a docs page and names a command whose script (or
    module) that page describes."""
    text = README.read_text(encoding="utf-8").split("## How good is it", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in text.splitlines() if line.startswith("| [")]
    assert len(rows) >= 5
    for row in rows:
        page = LINK.search(row).group(1).partition("#")[0]
        assert page.startswith("docs/") and (ROOT / page).is_file(), row
        command = row.split("|")[-2]
        script = re.search(r"bench/\w+\.py|-m [\w.]+(?: \w+)*", command)
        assert script is not None and "`" in command, row
        assert script.group(0) in (ROOT / page).read_text(encoding="utf-8"), f"{page} does not describe {script.group(0)}"


def test_command_page_lists_every_command():
    from tests.test_cli import LEAVES

    page = _hook().command_page()
    for words in LEAVES:
        assert f"`hmr-flow {' '.join(words)}`" in page, f"hmr-flow {' '.join(words)} missing from the command page"
    assert "`python -m data_tools mocap build`" in page and "--prior-weights" in page


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason="mkdocs is not installed: pip install -e .[docs] (make test installs it)")
def test_docs_build_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "cli" / "index.html").is_file() and (tmp_path / "site" / "api" / "index.html").is_file()


def test_design_house_map_matches_the_tree():
    """docs/design.md's map names every package and module at the top of ``hmr_flow/`` and no file that is
    not there (the ``*.py`` it names in ``hmr_flow/`` exist)."""
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    library = block.split("\ndata_tools/", 1)[0]
    top = re.findall(r"^  (\S+)", library, re.M)
    package = ROOT / "hmr_flow"
    parts = {p.name + "/" for p in package.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    parts |= {p.name for p in package.glob("*.py")} - {"__main__.py"}  # named beside __init__.py
    parts.add("assets/")
    assert sorted(parts - set(top)) == [], "missing from the design map"
    assert sorted(set(top) - parts) == [], "in the design map but not in hmr_flow/"
    modules = {p.name for p in package.rglob("*.py")}
    named = set(re.findall(r"\b(\w+\.py)\b", library))
    assert sorted(named - modules) == [], "modules named in the design map that do not exist"
