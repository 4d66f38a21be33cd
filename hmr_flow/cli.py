"""hmr-flow: fit, sample and score SMPL bodies with normalizing flows (the ``hmr-flow`` command line).

Each sub-package that offers commands has a ``commands`` module with
``register(subparsers)``, which adds its sub-commands; this module only wires them up.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Sub-packages whose ``commands`` module adds sub-commands, in help order.
COMMAND_MODULES: tuple[str, ...] = ("prior", "fitting", "models")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hmr-flow", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"hmr_flow.{name}.commands").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
