"""``load_prior``: one entry point for every prior kind, with the shipped weights as defaults."""

from __future__ import annotations

from pathlib import Path

import torch

from hmr_flow.prior.base import NoPrior, PosePrior
from hmr_flow.prior.cnf import CNFPrior
from hmr_flow.prior.flow import FlowPrior
from hmr_flow.prior.gmm import GMMPrior

ASSETS = Path(__file__).resolve().parents[1] / "assets"
#: Shipped weights (trained on the shared CMU mocap, see ``hmr_flow/assets/prior_README.md``).
DEFAULT_PATHS = {"flow": ASSETS / "prior_flow.pt", "cnf": ASSETS / "prior_cnf.pt", "gmm": ASSETS / "prior_gmm.npz"}
#: The priors with a density (trained, scored and sampled): the keys of :data:`DEFAULT_PATHS`.
DENSITY_KINDS: tuple[str, ...] = tuple(DEFAULT_PATHS)
#: Every kind :func:`load_prior` makes: the densities and the flat ``"none"``.
KINDS = (*DENSITY_KINDS, "none")


def load_prior(kind: str = "flow", path: str | Path | None = None, device: str | torch.device = "cpu") -> PosePrior:
    """The pose prior ``kind`` (``"flow"``, ``"cnf"``, ``"gmm"`` or ``"none"``) from ``path`` (default: shipped
    weights), in eval mode on ``device`` and frozen (its parameters need no gradient: fitting only
    differentiates through it; ``requires_grad_(True)`` to train it further). ``"none"`` takes no path."""
    if kind not in KINDS:
        raise ValueError(f"prior kind must be one of {KINDS}, got {kind!r}")
    if kind == "none":
        if path is not None:
            raise ValueError("the 'none' prior takes no file, got path=" + str(path))
        prior: PosePrior = NoPrior()
    else:
        path = Path(path) if path is not None else DEFAULT_PATHS[kind]
        prior = {"flow": FlowPrior, "cnf": CNFPrior, "gmm": GMMPrior}[kind].load(path)
    return prior.to(device).eval().requires_grad_(False)
