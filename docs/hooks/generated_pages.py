"""mkdocs hook: pages generated at build time, so that they never drift from what they describe.

- ``cli.md``: every command of ``hmr-flow`` and ``python -m data_tools``, its ``--help`` text as the
  installed parsers print it (:func:`command_reference`);
- ``changelog.md``: the repository's ``CHANGELOG.md``.

``mkdocs.yml`` names this file under ``hooks:``; ``tests/test_docs.py`` checks the command page.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

#: Width of the ``--help`` text on the page (argparse reads it from ``$COLUMNS``).
HELP_WIDTH = 100

INTRO = """# Command line

`hmr-flow` is the installed command (also `python -m hmr_flow`); `python -m data_tools` prepares the
datasets and is run from the repository (it is not installed).

Every command with every option and its default, exactly as `--help` prints it: this page is generated
from the command's own parsers each time the documentation is built (`docs/hooks/generated_pages.py`).
Bad input ends any command with one line `hmr-flow: error: <file or option>: <problem>` and exit status 2
([Bad input and your files](bad-input.md)).
"""


def subcommands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """``(command words, parser)`` of ``parser`` and, depth first in help order, of every sub-command."""
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from subcommands(child, (*words, name))


def command_reference(parser: argparse.ArgumentParser) -> str:
    """Markdown with one section per (sub-)command of ``parser``: a heading ``prog words`` (level 2 for
    the program, one more per word, at most 4) and its help text in a code block."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH)
    try:
        sections = []
        for words, child in subcommands(parser):
            heading = "#" * min(2 + len(words), 4)
            sections.append(f"{heading} `{' '.join((parser.prog, *words))}`\n\n```text\n{child.format_help().rstrip()}\n```\n")
        return "\n".join(sections)
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def command_page() -> str:
    """The whole command-line page: ``hmr-flow`` (installed) and ``python -m data_tools`` (repository)."""
    import data_tools.__main__ as data_tools_main
    from hmr_flow import __version__, cli

    hmr = cli.build_parser("hmr-flow", cli.__doc__.splitlines()[0], [f"hmr_flow.commands.{name}" for name in cli.COMMAND_MODULES])
    hmr.add_argument("--version", action="version", version=f"hmr-flow {__version__}")
    tools = cli.build_parser("python -m data_tools", data_tools_main.__doc__.splitlines()[0],
                             [f"data_tools.{name}.commands" for name in data_tools_main.COMMAND_GROUPS])
    return "\n".join([
        INTRO,
        command_reference(hmr),
        command_reference(tools),
    ])


def on_files(files, config):
    """Add the generated pages to the site's files (before the navigation is built from them)."""
    from mkdocs.structure.files import File

    root = Path(config.config_file_path).resolve().parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # data_tools/ is run from the repository, not installed
    files.append(File.generated(config, "cli.md", content=command_page()))
    changelog = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    files.append(File.generated(config, "changelog.md", content=changelog))
    return files
