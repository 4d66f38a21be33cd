"""hmr-flow: fit, sample and score SMPL bodies with normalizing flows (the ``hmr-flow`` command line).

Each sub-package that offers commands has a ``commands`` module with ``register(subparsers)``, which
adds its sub-commands, each parser setting ``run=<callable(args) -> exit code>``; this module only
wires them up. ``python -m data_tools`` is wired the same way (:func:`run_commands`).

Bad input (missing or corrupt files, wrong shapes, NaN, ...) ends the command with one line
``<prog>: error: <what and where>`` and exit status 2; set ``HMR_FLOW_DEBUG=1`` for the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

#: Sub-packages whose ``commands`` module adds sub-commands, in help order.
COMMAND_MODULES: tuple[str, ...] = ("prior", "fitting", "models", "detection")


def build_parser(prog: str, description: str, modules: list[str]) -> argparse.ArgumentParser:
    """A parser whose sub-commands are registered by each ``<module>.register(subparsers)``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


def run_commands(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse ``argv`` and run the chosen command; user errors become one clear line and exit 2."""
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, OSError, KeyError) as err:
        if os.environ.get("HMR_FLOW_DEBUG"):
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    modules = [f"hmr_flow.{name}.commands" for name in COMMAND_MODULES]
    return run_commands(build_parser("hmr-flow", __doc__.splitlines()[0], modules), argv)


if __name__ == "__main__":
    sys.exit(main())
