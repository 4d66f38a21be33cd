"""Initial values of a fit: poses/orientations per person (pluggable) and the camera translation.

An initialisation is an :class:`Initialisation` holding, for ``P`` people and ``N`` hypotheses each,
``global_orient (P, N, 3)`` axis-angle **in the camera frame** (OpenCV: x right, y down, z forward),
``body_pose (P, N, 69)`` SMPL axis-angle and optionally ``betas (P, N, B)`` (default zeros). Any source can provide one (prior samples, a
regression network's hypotheses, a previous frame): pass it to :func:`hmr_flow.fitting.fit_people`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from hmr_flow.body.skeleton import JOINT_NAMES
from hmr_flow.geometry import matrix_to_axis_angle, smpl_to_camera_rotation

#: Facing the camera: SMPL's +Z-facing, Y-up body turned 180° about X (see geometry.camera).
FACING_CAMERA = matrix_to_axis_angle(smpl_to_camera_rotation())
#: Facing away from the camera: additionally turned 180° about the camera's vertical axis.
FACING_AWAY = matrix_to_axis_angle(torch.diag(torch.tensor([-1.0, 1.0, -1.0])) @ smpl_to_camera_rotation())


@dataclass
class Initialisation:
    """``global_orient (P, N, 3)`` camera-frame axis-angle, ``body_pose (P, N, 69)`` axis-angle and
    optional ``betas (P, N, B)`` (``None`` = the mean shape)."""

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    betas: torch.Tensor | None = None

    def __post_init__(self):
        if self.global_orient.dim() != 3 or self.global_orient.shape[-1] != 3:
            raise ValueError(f"global_orient: expected (P, N, 3), got {tuple(self.global_orient.shape)}")
        if tuple(self.body_pose.shape) != tuple(self.global_orient.shape[:2]) + (69,):
            raise ValueError(
                f"body_pose: expected {tuple(self.global_orient.shape[:2]) + (69,)}, got {tuple(self.body_pose.shape)}"
            )
        if self.betas is not None and tuple(self.betas.shape[:2]) != tuple(self.global_orient.shape[:2]):
            raise ValueError(f"betas: expected {tuple(self.global_orient.shape[:2])} + (B,), got {tuple(self.betas.shape)}")
        for name in ("global_orient", "body_pose", "betas"):
            if getattr(self, name) is not None and not torch.isfinite(getattr(self, name)).all():
                raise ValueError(f"{name}: contains NaN or infinite values")

    @property
    def num_people(self) -> int:
        return self.global_orient.shape[0]

    @property
    def num_hypotheses(self) -> int:
        return self.global_orient.shape[1]


def relaxed_pose(arm_drop: float = 1.0) -> torch.Tensor:
    """``(69,)`` a neutral starting pose: the T-pose with both arms lowered by ``arm_drop`` radians."""
    pose = torch.zeros(23, 3)
    pose[JOINT_NAMES.index("left_shoulder") - 1, 2] = -arm_drop
    pose[JOINT_NAMES.index("right_shoulder") - 1, 2] = arm_drop
    return pose.reshape(69)


def default_initialisation(
    num_people: int,
    num_hypotheses: int,
    sampler: Callable[[int], torch.Tensor] | None = None,
    generator: torch.Generator | None = None,
) -> Initialisation:
    """Hypotheses alternating facing the camera / facing away: first the relaxed pose, then pose
    samples (``sampler(n) -> (n, 69)``, e.g. a prior's ``sample`` at low temperature; without one,
    the relaxed pose plus N(0, 0.15²) rad noise).

    Returns:
        :class:`Initialisation` with ``P = num_people``, ``N = num_hypotheses``.
    """
    if num_hypotheses < 1:
        raise ValueError(f"num_hypotheses: expected ≥ 1, got {num_hypotheses}")
    orient = torch.stack([FACING_CAMERA if i % 2 == 0 else FACING_AWAY for i in range(num_hypotheses)])
    poses = relaxed_pose().expand(num_people, num_hypotheses, 69).clone()
    extra = num_hypotheses - 2
    if extra > 0:
        count = num_people * extra
        if sampler is not None:
            samples = sampler(count).detach().to(torch.float32).cpu()
        else:
            samples = relaxed_pose() + 0.15 * torch.randn(count, 69, generator=generator)
        poses[:, 2:] = samples.reshape(num_people, extra, 69)
    return Initialisation(orient.expand(num_people, -1, -1).clone(), poses)


def estimate_translation(
    model_points: torch.Tensor,
    keypoints: torch.Tensor,
    focal: torch.Tensor,
    principal_point: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """Camera translation that puts posed model points over the keypoints (similar triangles).

    Depth = ``f · spread3D / spread2D`` (spreads: RMS distance to the centroid of the points used),
    then x, y so that the centroids coincide.

    Args:
        model_points: ``(B, K, 3)`` camera-frame model keypoints without translation, metres.
        keypoints: ``(B, K, 3)`` observed ``(u, v, confidence)``.
        focal: ``(B,)`` pixels; principal_point: ``(B, 2)`` pixels.
        mask: ``(B, K)`` bool, the keypoints to use (at least two per body).

    Returns:
        ``(B, 3)`` metres.
    """
    weight = mask.to(model_points.dtype)[..., None]
    count = weight.sum(1).clamp(min=1.0)
    centre_2d = (keypoints[..., :2] * weight).sum(1) / count
    centre_3d = (model_points[..., :2] * weight).sum(1) / count
    spread_2d = (((keypoints[..., :2] - centre_2d[:, None]) ** 2).sum(-1, keepdim=True) * weight).sum(1) / count
    spread_3d = (((model_points[..., :2] - centre_3d[:, None]) ** 2).sum(-1, keepdim=True) * weight).sum(1) / count
    depth = focal * (spread_3d[:, 0].sqrt() / spread_2d[:, 0].clamp(min=1.0).sqrt())
    mean_z = (model_points[..., 2:] * weight).sum(1)[:, 0] / count[:, 0]
    xy = (centre_2d - principal_point) * depth[:, None] / focal[:, None] - centre_3d
    return torch.cat([xy, (depth - mean_z)[:, None]], dim=1)


__all__ = [
    "FACING_AWAY",
    "FACING_CAMERA",
    "Initialisation",
    "default_initialisation",
    "estimate_translation",
    "relaxed_pose",
]
