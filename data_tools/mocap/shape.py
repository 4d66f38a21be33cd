"""Per-clip body size and shape: a global scale (rig units → metres) and the target's ``betas`` fitted
to the rig's bone lengths.

The lengths are those of :data:`FIT_SEGMENTS` (pairs of matched SMPL joints: leg and arm bones, hip
and shoulder width, hip → shoulder on each side, pelvis → neck, neck → head), measured on the rig's
SMPL-joint points (:meth:`~data_tools.mocap.rigs.RigSpec.point_positions`) as the median over frames.
The fit minimises

    sum_k (scale * l_k - L_k(betas))^2 + PRIOR_M2 * |betas|^2

where ``l_k`` are rig lengths (rig units) and ``L_k`` the target's rest lengths (metres) at ``betas``
(rest joints are linear in ``betas``; the lengths are not, hence a few Gauss–Newton steps). The prior
keeps ``betas`` within the population the shape space was learned from (unit variance per coefficient):
one standard deviation costs as much as a ``sqrt(PRIOR_M2)`` = 2 cm length mismatch (weaker priors
push the small-variance components to 5 standard deviations for a few mm of length). A target without
shape space (a bare skeleton) fits the scale alone (closed form).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_tools.mocap.skeleton import TargetSkeleton
from hmr_flow.body.skeleton import JOINT_NAMES

_IDX = {n: i for i, n in enumerate(JOINT_NAMES)}
#: Joint pairs whose lengths are fitted (all between joints of the error measure).
FIT_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("left_hip", "left_knee"), ("right_hip", "right_knee"), ("left_knee", "left_ankle"),
    ("right_knee", "right_ankle"), ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"), ("left_hip", "right_hip"),
    ("left_shoulder", "right_shoulder"), ("left_hip", "left_shoulder"), ("right_hip", "right_shoulder"),
    ("pelvis", "neck"), ("neck", "head"),
)
_A = np.array([_IDX[a] for a, _ in FIT_SEGMENTS])
_B = np.array([_IDX[b] for _, b in FIT_SEGMENTS])
#: Prior weight (m²) per unit of betas², see the module docstring.
PRIOR_M2 = 4e-4
_STEPS = 10


@dataclass(frozen=True)
class ShapeFit:
    """Result of :func:`fit_shape`.

    Attributes:
        scale: rig units → metres on the shaped target.
        betas: ``(B,)`` shape coefficients (``B = 0`` for a bare skeleton).
        residual_m: ``(K,)`` length mismatch ``scale * l_k - L_k(betas)`` per segment of
            :data:`FIT_SEGMENTS`, metres.
    """

    scale: float
    betas: np.ndarray
    residual_m: np.ndarray


def rig_lengths(points: np.ndarray) -> np.ndarray:
    """``(K,)`` median over frames of the :data:`FIT_SEGMENTS` lengths of rig points ``(F, 24, 3)``."""
    return np.median(np.linalg.norm(points[:, _A] - points[:, _B], axis=-1), axis=0)


def target_lengths(joints: np.ndarray) -> np.ndarray:
    """``(K,)`` :data:`FIT_SEGMENTS` lengths of rest joints ``(24, 3)``."""
    return np.linalg.norm(joints[_A] - joints[_B], axis=-1)


def fit_shape(points: np.ndarray, target: TargetSkeleton, betas: bool = True) -> ShapeFit:
    """Fit scale (and ``betas`` when ``betas`` is true and the target has a shape space) to rig points.

    Args:
        points: ``(F, 24, 3)`` the rig's SMPL-joint points, rig units.
        target: SMPL skeleton (with ``joint_shapedirs`` for a shape fit).
        betas: fit the shape too; ``False`` fits the scale alone with ``betas = 0``.
    """
    rig = rig_lengths(points)
    if not (rig > 0).all():
        bad = [f"{a}-{b}" for (a, b), v in zip(FIT_SEGMENTS, rig) if not v > 0]
        raise ValueError(f"degenerate rig: zero-length segments {bad}")
    coeffs = np.zeros(target.num_betas)
    scale = float(rig @ target_lengths(target.rest_joints) / (rig @ rig))
    if betas and target.num_betas:
        dirs = target.joint_shapedirs
        prior = np.sqrt(PRIOR_M2) * np.eye(target.num_betas)
        for _ in range(_STEPS):
            joints = target.shaped_joints(coeffs)
            diff = joints[_A] - joints[_B]
            length = np.linalg.norm(diff, axis=-1)
            unit = diff / length[:, None]
            d_length = np.einsum("kc,kcb->kb", unit, dirs[_A] - dirs[_B])  # (K, B)
            jac = np.block([[rig[:, None], -d_length], [np.zeros((target.num_betas, 1)), prior]])
            res = np.concatenate([scale * rig - length, prior @ coeffs])
            step = np.linalg.lstsq(jac, -res, rcond=None)[0]
            scale += float(step[0])
            coeffs = coeffs + step[1:]
    residual = scale * rig - target_lengths(target.shaped_joints(coeffs))
    return ShapeFit(scale, coeffs, residual)
