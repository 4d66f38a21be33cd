"""The prior kinds, one entry each: ``kind`` → its class, shipped weights and training.

Everything that offers a choice of prior reads :data:`PRIOR_KINDS`: :func:`~hmr_flow.prior.load_prior`,
``prior train --kind``, ``prior score/sample --prior`` and ``fit --prior`` (which adds the conditional
model's prior, :class:`hmr_flow.models.ConditionalPrior`, from the layer above). A new kind is one
module — its :class:`~hmr_flow.prior.PosePrior` subclass with ``kind``, ``fit_weight`` and
``load(path)``, and a trainer ``train(config: TrainConfig, resume: bool) -> summary`` — and one
:class:`PriorKind` in :data:`PRIOR_KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hmr_flow.prior.base import DensityPrior, NoPrior, PosePrior
from hmr_flow.prior.flow import FlowPrior
from hmr_flow.prior.gmm import GMMPrior
from hmr_flow.prior.train import TrainConfig, train_flow, train_gmm

ASSETS = Path(__file__).resolve().parents[1] / "assets"


@dataclass(frozen=True)
class PriorKind:
    """One kind of prior.

    Attributes:
        prior: its class (``kind``, ``fit_weight``; ``load(path)`` for a prior with a file).
        weights: the shipped file (``None``: none shipped, a file must be given, or the kind takes none).
        train: ``train(config, resume) -> summary`` (``None``: not trainable).
        resumable: whether its training continues from a saved state (``--resume``).
        help: a few words for the commands' ``--help``.
    """

    prior: type[PosePrior]
    weights: Path | None = None
    train: Callable[[TrainConfig, bool], dict] | None = None
    resumable: bool = False
    help: str = ""

    @property
    def kind(self) -> str:
        return self.prior.kind

    @property
    def density(self) -> bool:
        """Whether it has a density: scored, sampled and read from a file (``"none"`` has not)."""
        return issubclass(self.prior, DensityPrior)


#: Every prior kind by its name (the ``kind`` of its class). Shipped weights: trained on the shared CMU
#: mocap, see ``hmr_flow/assets/prior_README.md``.
PRIOR_KINDS: dict[str, PriorKind] = {entry.kind: entry for entry in (
    PriorKind(FlowPrior, ASSETS / "prior_flow.pt", train_flow, resumable=True, help="normalizing flow"),
    PriorKind(GMMPrior, ASSETS / "prior_gmm.npz", train_gmm, help="SMPLify-style GMM"),
    PriorKind(NoPrior, help="no prior"),
)}
#: Shipped weights by kind.
DEFAULT_PATHS: dict[str, Path] = {kind: e.weights for kind, e in PRIOR_KINDS.items() if e.weights is not None}
#: The priors with a density (scored and sampled).
DENSITY_KINDS: tuple[str, ...] = tuple(kind for kind, e in PRIOR_KINDS.items() if e.density)
#: The priors ``prior train`` trains.
TRAINABLE_KINDS: tuple[str, ...] = tuple(kind for kind, e in PRIOR_KINDS.items() if e.train is not None)
#: Every kind :func:`~hmr_flow.prior.load_prior` makes.
KINDS: tuple[str, ...] = tuple(PRIOR_KINDS)


def prior_kind(kind: str) -> PriorKind:
    """The entry of ``kind``, or a ``ValueError`` listing the kinds."""
    if kind not in PRIOR_KINDS:
        raise ValueError(f"prior kind must be one of {KINDS}, got {kind!r}")
    return PRIOR_KINDS[kind]
