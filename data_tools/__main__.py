"""``python -m data_tools <group> <command>``: body-model, mocap and synthetic-data preparation.

Each group is a sub-package with a ``commands`` module exposing ``register(subparsers)``.
"""

from __future__ import annotations

import sys

from hmr_flow.cli import build_parser, run_commands

#: Sub-packages of data_tools that add a command group, in help order.
COMMAND_GROUPS: tuple[str, ...] = ("body", "mocap", "synth")


def main(argv: list[str] | None = None) -> int:
    modules = [f"data_tools.{name}.commands" for name in COMMAND_GROUPS]
    return run_commands(build_parser("python -m data_tools", __doc__.splitlines()[0], modules), argv)


if __name__ == "__main__":
    sys.exit(main())
