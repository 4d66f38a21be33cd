"""``load_prior``: one entry point for every prior kind (:data:`~hmr_flow.prior.registry.PRIOR_KINDS`),
with the shipped weights as defaults."""

from __future__ import annotations

from pathlib import Path

import torch

from hmr_flow.prior.base import PosePrior
from hmr_flow.prior.registry import prior_kind
from hmr_flow.validation import UserInputError


def load_prior(kind: str = "flow", path: str | Path | None = None, device: str | torch.device = "cpu") -> PosePrior:
    """The pose prior ``kind`` (a key of :data:`~hmr_flow.prior.registry.PRIOR_KINDS`) from ``path`` (default: its shipped weights), in eval mode
    on ``device`` and frozen (its parameters need no gradient: fitting only differentiates through it;
    ``requires_grad_(True)`` to train it further). A prior without a density (``"none"``) takes no path."""
    entry = prior_kind(kind)
    if not entry.density:
        if path is not None:
            raise UserInputError(f"the '{kind}' prior takes no file, got path={path}")
        prior = entry.prior()
    else:
        path = path if path is not None else entry.weights
        if path is None:
            raise UserInputError(f"the {kind} prior ships no weights: give its file (--prior-weights)")
        prior = entry.prior.load(Path(path))
    return prior.to(device).eval().requires_grad_(False)
