"""``FlowPrior``: a Glow-style flow (:func:`hmr_flow.flows.vector_glow`) over the modelled body joints.

The flow models ``x (B, 3J)`` in the model coordinates of its :class:`~hmr_flow.prior.space.PoseSpace`;
``log_prob`` adds the exact log-Jacobian back to canonical axis-angle, so it is comparable with the GMM's.
``loss`` is the negative log-likelihood.

**Floor.** The density is the mixture ``(1 − ε)·flow + ε·uniform`` with ``ε = floor`` (0 = the flow
alone): the uniform part is independent uniform (Haar) rotations of the modelled joints. It costs
held-out poses at most ``−log(1 − ε)`` nats and bounds every pose's log-likelihood below by
``log ε + Σ_j log h(θ_j) − J log 8π²`` (about −110 nats for 19 joints and ε = 10⁻³), with the
uniform part's bounded gradient far from the data, where the flow's own score and gradient (scaled by
its steep couplings) would be huge. ``sample`` draws from the same mixture.

**Two roles.** A sharp density scores poses best but regularises fitting worse than a smoother one
(trained with more jitter): held-out fits lose 10–15 mm PA-MPJPE with the sharp one. A prior may
therefore carry a second flow, the ``regulariser`` (same space, mixed with the same floor), which ``loss`` uses;
``log_prob``, ``score`` and ``sample`` always use the density. ``hmr-flow prior combine`` attaches one. ``to_latent`` / ``from_latent`` expose the bijection between
body poses and the flow's ``(B, 3J)`` standard-normal latent (fitting may optimise ``z`` directly; the
prior in ``z`` is ``‖z‖²/2`` up to the flow's log |det|, which this affine flow makes pose-dependent).

Checkpoint (``torch.save`` dict, loadable with ``weights_only=True``): ``format``, ``config`` (flow sizes,
coords, joints), ``state_dict`` (flow, mean rotations, percentile table), ``info`` (provenance).
"""

from __future__ import annotations

import torch
from torch import Tensor

from hmr_flow.flows import vector_glow
from hmr_flow.prior.base import TorchDensityPrior, settings_with_defaults
from hmr_flow.prior.space import PoseSpace, floored_log_prob, floored_samples
from hmr_flow.validation import UserInputError
from hmr_flow.validation.file_kinds import FLOW_PRIOR

FORMAT = "hmr_flow.prior.flow/1"
#: Flow sizes of the shipped prior.
DEFAULT_FLOW = {"steps": 8, "hidden": 128, "blocks": 1, "coupling": "affine", "mixing": "lu", "bins": 8, "tails": None}
#: Values of settings added later, for checkpoints saved before them.
LEGACY_FLOW = {"bins": 8, "tails": None}


class FlowPrior(TorchDensityPrior):
    """A normalizing-flow pose prior.

    Args:
        joints: modelled body-joint indices (0–22).
        coords: model coordinates, see :data:`hmr_flow.prior.space.COORDS`.
        mean_rotations: ``(J, 3, 3)`` for ``coords="axis_angle_mean"``.
        flow: :func:`vector_glow` sizes (keys of :data:`DEFAULT_FLOW`).
        floor: weight ``ε`` of the uniform-rotation component, ``[0, 1)`` (module docstring).
        regulariser: :func:`vector_glow` sizes of the fitting regulariser flow, or ``None`` (module docstring).
        percentiles: held-out table or ``None``; info: provenance saved with the prior.
    """

    kind = "flow"
    fit_weight = 0.1
    checkpoint_format, label, model_key, file_kind = FORMAT, "flow", "flow", FLOW_PRIOR

    def __init__(self, joints: list[int], coords: str = "axis_angle_mean", mean_rotations: Tensor | None = None,
                 flow: dict | None = None, floor: float = 0.0, regulariser: dict | None = None, percentiles=None,
                 info: dict | None = None) -> None:
        super().__init__(PoseSpace(joints, coords, mean_rotations), floor, percentiles, info)
        self.flow_config = settings_with_defaults(flow, DEFAULT_FLOW, "flow")
        self.flow = vector_glow(self.space.features, **self.flow_config)
        if regulariser is not None:
            regulariser = settings_with_defaults(regulariser, DEFAULT_FLOW, "flow")
        self.regulariser_config = regulariser
        self.regulariser = None if regulariser is None else vector_glow(self.space.features, **regulariser)

    def _mixture_log_prob(self, flow, x: Tensor) -> Tensor:
        return floored_log_prob(flow.log_prob(x), x, self.floor)

    def _model_log_prob(self, x: Tensor) -> Tensor:
        return self._mixture_log_prob(self.flow, x)

    def loss(self, body_pose) -> Tensor:
        """Fitting cost ``(B,)``: the negative log-likelihood under the regulariser flow when the prior has
        one, else under the density (see the module docstring)."""
        x, log_jacobian = self.encode(body_pose, check_finite=False)  # see PosePrior.loss
        flow = self.flow if self.regulariser is None else self.regulariser
        return -(self._mixture_log_prob(flow, x) + log_jacobian)

    def attach_regulariser(self, other: FlowPrior) -> None:
        """Use ``other``'s density flow as this prior's fitting regulariser (same joints, coordinates and mean
        rotations required; its weights are copied; it is mixed with this prior's floor)."""
        same = (self.space.joints.tolist() == other.space.joints.tolist() and self.space.coords == other.space.coords
                and torch.allclose(self.space.mean_rotations, other.space.mean_rotations, atol=1e-6))
        if not same:
            raise UserInputError("the regulariser prior models another space (joints, coordinates or mean rotations "
                                 "differ): train both on the same data with the same --coords")
        self.regulariser_config = dict(other.flow_config)
        self.regulariser = vector_glow(self.space.features, **self.regulariser_config)
        self.regulariser.load_state_dict(other.flow.state_dict())
        self.regulariser.to(self.space.joints.device)

    def _sample_model(self, n: int, temperature: float) -> Tensor:
        return floored_samples(self.flow.sample(n, temperature=temperature), self.floor)

    def to_latent(self, body_pose) -> Tensor:
        """Body pose ``(B, 69)`` / ``(B, 23, 3, 3)`` → latent ``z (B, 3J)`` (differentiable)."""
        x, _ = self.encode(body_pose)
        return self.flow.to_latent(x)[0]

    def from_latent(self, z: Tensor) -> Tensor:
        """Latent ``z (B, 3J)`` → body pose ``(B, 69)`` canonical axis-angle (differentiable)."""
        x, _ = self.flow.from_latent(z)
        return self.space.decode(x).flatten(1)

    # ------------------------------------------------------------------ files
    def config(self) -> dict:
        return {"joints": self.space.joints.tolist(), "coords": self.space.coords, "flow": dict(self.flow_config),
                "floor": self.floor, "regulariser": self.regulariser_config}

    @classmethod
    def _from_config(cls, config: dict, mean_rotations: Tensor, info: dict | None) -> FlowPrior:
        return cls(config["joints"], config["coords"], mean_rotations, {**LEGACY_FLOW, **config["flow"]},
                   config.get("floor", 0.0), config.get("regulariser"), info=info)
