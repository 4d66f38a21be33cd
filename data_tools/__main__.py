"""``python -m data_tools <group> <command>``: body-model, mocap and synthetic-data preparation.

Each group is a sub-package with a ``commands`` module exposing ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Sub-packages of data_tools that add a command group, in help order.
COMMAND_GROUPS: tuple[str, ...] = ("body", "mocap", "synth")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_tools", description=__doc__.splitlines()[0])
    groups = parser.add_subparsers(dest="group", required=True)
    for name in COMMAND_GROUPS:
        importlib.import_module(f"data_tools.{name}.commands").register(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
