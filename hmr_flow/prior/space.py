"""The space a prior's density lives in, and the coordinates its model works in.

**Reported density.** Every prior here reports ``log p`` in **nats per pose** with respect to the
Lebesgue measure on canonical axis-angle (angles in ``[0, π]``) of its *modelled joints*: ``R^{3J}``,
the same space as SMPLify's GMM. Two priors' log-likelihoods are comparable only on the same joint set
(``PoseSpace.joints``; the shipped priors share it) and over the same poses.

**Modelled joints.** Joints that the training data never rotates (the shared CMU mocap has no toe or
finger motion, so ``left_foot``, ``right_foot``, ``left_hand``, ``right_hand`` are always identity)
carry no density: they are left out of the model, ignored when scoring and set to identity in samples.

**Model coordinates** (``coords``):

- ``"axis_angle"``: the canonical axis-angle of the modelled joints, as is.
- ``"axis_angle_mean"``: per joint, the axis-angle of ``M_jᵀ R_j`` — the rotation relative to the joint's
  mean training rotation ``M_j``, so angles stay far from the ``π`` wrap-around for joints whose
  typical rotation is large. The density is carried back to plain axis-angle exactly: Haar measure in
  axis-angle coordinates has density ``h(θ) = 2(1 − cos θ)/θ²`` and is invariant under ``M_jᵀ·``, so
  ``log p_aa(ω) = log p_rel(ω') + Σ_j [log h(|ω_j|) − log h(|ω'_j|)]``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from hmr_flow.body.skeleton import JOINT_NAMES
from hmr_flow.geometry.rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    quaternion_to_axis_angle,
    special_procrustes,
)
from hmr_flow.prior.inputs import NUM_BODY_JOINTS

COORDS = ("axis_angle", "axis_angle_mean")
#: Names of the 23 body joints, in body-pose order.
BODY_JOINT_NAMES: tuple[str, ...] = JOINT_NAMES[1:]


def log_haar_density(angle: Tensor) -> Tensor:
    """``log(2(1 − cos θ)/θ²)`` elementwise (Haar density in axis-angle coordinates, ``0`` at ``θ = 0``)."""
    small = angle < 1e-3
    safe = torch.where(small, torch.ones_like(angle), angle)
    exact = torch.log(2.0 * (1.0 - torch.cos(safe))) - 2.0 * torch.log(safe)
    return torch.where(small, -angle.pow(2) / 12.0, exact)


def log_uniform_rotation_density(x: Tensor) -> Tensor:
    """log-density ``(B,)`` of independent uniformly distributed (Haar) rotations at axis-angle
    ``x (B, 3J)``: ``Σ_j log h(|ω_j|) − J·log(8π²)`` (``h`` integrates to ``8π²`` over the π-ball).
    The same in both model coordinates (Haar measure is invariant under ``M_jᵀ·``)."""
    angles = x.reshape(x.shape[0], -1, 3).norm(dim=-1)
    return log_haar_density(angles).sum(dim=1) - angles.shape[1] * math.log(8 * math.pi**2)


def uniform_rotations(n: int, joints: int, dtype=torch.float32, device=None) -> Tensor:
    """``(n, 3·joints)`` axis-angle of independent uniformly distributed rotations (normalised 4-D
    Gaussians are uniform unit quaternions)."""
    quaternions = torch.nn.functional.normalize(torch.randn(n, joints, 4, dtype=dtype, device=device), dim=-1)
    return quaternion_to_axis_angle(quaternions).reshape(n, 3 * joints)


def floored_log_prob(log_prob: Tensor, x: Tensor, floor: float) -> Tensor:
    """``log((1 − ε)·p(x) + ε·u(x))`` ``(B,)`` for a model's ``log p(x) (B,)`` at model coordinates ``x (B, 3J)``,
    ``u`` independent uniform rotations (:func:`log_uniform_rotation_density`) and ``ε = floor`` in
    ``[0, 1)`` (0: ``log_prob`` unchanged). The floor priors use it (:mod:`hmr_flow.prior.flow`)."""
    if floor == 0.0:
        return log_prob
    mixed = log_prob + math.log1p(-floor)
    return torch.logaddexp(mixed, log_uniform_rotation_density(x) + math.log(floor))


def floored_samples(x: Tensor, floor: float) -> Tensor:
    """Samples ``x (n, 3J)`` of a model, each replaced by uniform rotations with probability ``floor``: draws
    of the mixture of :func:`floored_log_prob`."""
    if floor == 0.0:
        return x
    uniform = torch.rand(x.shape[0], device=x.device) < floor
    return torch.where(uniform[:, None], uniform_rotations(x.shape[0], x.shape[1] // 3, x.dtype, x.device), x)


class PoseSpace(nn.Module):
    """Maps canonical axis-angle ``(B, 23, 3)`` to model coordinates ``(B, 3J)`` and back.

    Args:
        joints: indices (0–22, body-pose order) of the modelled joints, increasing.
        coords: one of :data:`COORDS`.
        mean_rotations: ``(J, 3, 3)`` per-joint mean rotations (``"axis_angle_mean"`` only).
    """

    def __init__(self, joints: list[int], coords: str = "axis_angle", mean_rotations: Tensor | None = None) -> None:
        super().__init__()
        if coords not in COORDS:
            raise ValueError(f"coords must be one of {COORDS}, got {coords!r}")
        joints = [int(j) for j in joints]
        if not joints or sorted(set(joints)) != joints or joints[0] < 0 or joints[-1] >= NUM_BODY_JOINTS:
            raise ValueError(f"joints must be increasing indices in [0, {NUM_BODY_JOINTS}), got {joints}")
        if coords == "axis_angle_mean":
            if mean_rotations is None or tuple(mean_rotations.shape) != (len(joints), 3, 3):
                got = None if mean_rotations is None else tuple(mean_rotations.shape)
                raise ValueError(f"coords 'axis_angle_mean' needs mean_rotations ({len(joints)}, 3, 3), got {got}")
        else:
            mean_rotations = torch.eye(3).expand(len(joints), 3, 3)
        self.coords = coords
        self.register_buffer("joints", torch.tensor(joints, dtype=torch.long))
        self.register_buffer("mean_rotations", mean_rotations.detach().clone().float())

    @property
    def features(self) -> int:
        """Model dimension ``3J``."""
        return 3 * self.joints.numel()

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(BODY_JOINT_NAMES[j] for j in self.joints.tolist())

    def encode(self, axis_angle: Tensor) -> tuple[Tensor, Tensor]:
        """Canonical axis-angle ``(B, 23, 3)`` → ``(x (B, 3J), log_jacobian (B,))`` with
        ``log p_axis_angle = log p_model(x) + log_jacobian``."""
        omega = axis_angle.index_select(1, self.joints)
        if self.coords == "axis_angle":
            return omega.flatten(1), omega.new_zeros(omega.shape[0])
        relative = self.mean_rotations.to(omega.dtype).transpose(-1, -2) @ axis_angle_to_matrix(omega)
        rel = matrix_to_axis_angle(relative)
        log_jac = (log_haar_density(omega.norm(dim=-1)) - log_haar_density(rel.norm(dim=-1))).sum(dim=1)
        return rel.flatten(1), log_jac

    def decode(self, x: Tensor) -> Tensor:
        """Model coordinates ``(B, 3J)`` → canonical axis-angle ``(B, 23, 3)`` (unmodelled joints: identity)."""
        omega = x.reshape(x.shape[0], -1, 3)
        if self.coords == "axis_angle_mean":
            omega = matrix_to_axis_angle(self.mean_rotations.to(x.dtype) @ axis_angle_to_matrix(omega))
        else:
            omega = matrix_to_axis_angle(axis_angle_to_matrix(omega))
        out = omega.new_zeros(x.shape[0], NUM_BODY_JOINTS, 3)
        return out.index_copy(1, self.joints, omega)

    def extra_repr(self) -> str:
        return f"coords={self.coords}, joints={len(self.joints)}"


def articulated_joints(axis_angle: Tensor, min_std: float = 1e-3) -> list[int]:
    """Indices of joints whose axis-angle varies in the data ``(N, 23, 3)`` (any component std > ``min_std``)."""
    return torch.nonzero(axis_angle.std(dim=0).amax(dim=1) > min_std).squeeze(1).tolist()


def mean_rotations(axis_angle: Tensor) -> Tensor:
    """Per-joint chordal mean rotation ``(J, 3, 3)`` of ``(N, J, 3)`` axis-angle (projected onto SO(3))."""
    return special_procrustes(axis_angle_to_matrix(axis_angle.double()).mean(dim=0)).float()
