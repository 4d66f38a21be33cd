"""Pose priors over SMPL body pose (23 joints, global orientation excluded).

``load_prior(kind, path=None, device="cpu") -> PosePrior`` for a kind of :data:`PRIOR_KINDS` (``"flow"``,
``"gmm"``, ``"none"``; :mod:`hmr_flow.prior.registry`: a new kind is one module and one entry) with, for a body pose given
as axis-angle ``(B, 69)`` or rotation matrices ``(B, 23, 3, 3)``:

- ``log_prob(body_pose) -> (B,)`` nats per pose over canonical axis-angle of the modelled joints
  (:mod:`hmr_flow.prior.space`: which density exactly and how to compare priors fairly);
- ``loss(body_pose) -> (B,)`` differentiable: NLL (flow), SMPLify max-component cost (GMM), zeros (none);
- ``score(body_pose) -> (log_prob (B,), percentile (B,))`` against held-out real poses;
- ``sample(n, temperature=1.0) -> (n, 69)`` axis-angle;
- flow only: ``to_latent(body_pose) -> z (B, 3J)``, ``from_latent(z) -> (B, 69)``.
"""

from hmr_flow.prior.base import DensityPrior, FittingPrior, NoPrior, PosePrior
from hmr_flow.prior.flow import FlowPrior
from hmr_flow.prior.gmm import GMMPrior, fit_gmm
from hmr_flow.prior.inputs import canonical_axis_angle, load_pose_batch, load_pose_file
from hmr_flow.prior.loading import load_prior
from hmr_flow.prior.registry import DEFAULT_PATHS, DENSITY_KINDS, KINDS, PRIOR_KINDS, TRAINABLE_KINDS, PriorKind
from hmr_flow.prior.space import PoseSpace

__all__ = [
    "DEFAULT_PATHS",
    "DENSITY_KINDS",
    "KINDS",
    "PRIOR_KINDS",
    "TRAINABLE_KINDS",
    "DensityPrior",
    "FittingPrior",
    "FlowPrior",
    "GMMPrior",
    "NoPrior",
    "PosePrior",
    "PriorKind",
    "PoseSpace",
    "canonical_axis_angle",
    "fit_gmm",
    "load_pose_batch",
    "load_pose_file",
    "load_prior",
]
