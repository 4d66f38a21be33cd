"""Evaluation metrics shared by the project (each tested against hand-computed cases in tests/test_metrics.py).

Points are ``(..., J, 3)`` in metres unless stated; results are in the input units.
"""

from __future__ import annotations

import torch

from hmr_flow.geometry import axis_angle_to_matrix


def _check_points(points: torch.Tensor, name: str) -> None:
    if not isinstance(points, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(points).__name__}")
    if points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(f"{name}: expected (N, J, 3) points, got {tuple(points.shape)}")
    if not torch.isfinite(points).all():
        raise ValueError(f"{name}: contains NaN or infinite values")


def mean_joint_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over joints of the Euclidean distance between ``a (..., J, 3)`` and ``b (..., J, 3)`` → ``(...)``."""
    return (a - b).norm(dim=-1).mean(dim=-1)


def apd(samples: torch.Tensor) -> float:
    """Average pairwise distance (diversity) of ``S ≥ 2`` samples ``(S, J, 3)``: the mean over ordered pairs
    ``i ≠ j`` of :func:`mean_joint_distance`."""
    _check_points(samples, "samples")
    count = samples.shape[0]
    if count < 2:
        raise ValueError(f"samples: APD needs at least 2 samples, got {count}")
    pairwise = mean_joint_distance(samples[:, None], samples[None])
    return float(pairwise.sum() / (count * (count - 1)))


def nearest_distance(queries: torch.Tensor, reference: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """For every query ``(Q, J, 3)``, the smallest :func:`mean_joint_distance` to any reference pose
    ``(R, J, 3)`` → ``(Q,)`` (a memorisation check: samples copied from the reference score 0)."""
    _check_points(queries, "queries")
    _check_points(reference, "reference")
    if queries.shape[1] != reference.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} joints, reference {reference.shape[1]}")
    parts = [mean_joint_distance(q[:, None], reference[None]).amin(dim=1) for q in queries.split(chunk)]
    return torch.cat(parts)


# --- Fitting metrics: MPJPE, PA-MPJPE (3D joints) and PCK (2D keypoints) ------------------------


def _check_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    _check_points(pred, "pred")
    _check_points(target, "target")
    if pred.shape != target.shape:
        raise ValueError(f"pred/target: shapes differ, {tuple(pred.shape)} vs {tuple(target.shape)}")


def mpjpe(pred: torch.Tensor, target: torch.Tensor, root_index: int | None = 0) -> torch.Tensor:
    """Mean per-joint position error ``(N,)`` of ``pred``/``target (N, J, 3)`` after subtracting each
    one's joint ``root_index`` (0 = SMPL pelvis; ``None`` = no alignment). Input units (×1000 → mm)."""
    _check_pair(pred, target)
    if root_index is not None:
        pred = pred - pred[:, root_index : root_index + 1]
        target = target - target[:, root_index : root_index + 1]
    return mean_joint_distance(pred, target)


def procrustes_align(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``pred (N, J, 3)`` moved by the similarity transform (scale, proper rotation, translation)
    that best fits it to ``target`` in least squares (Umeyama; computed in float64)."""
    _check_pair(pred, target)
    source, goal = pred.double(), target.double()
    mu_source, mu_goal = source.mean(1, keepdim=True), goal.mean(1, keepdim=True)
    x, y = source - mu_source, goal - mu_goal
    u, s, vh = torch.linalg.svd(x.transpose(1, 2) @ y)
    signs = torch.ones_like(s)
    signs[:, -1] = torch.sign(torch.linalg.det(u @ vh))
    rotation = u @ torch.diag_embed(signs) @ vh  # row vectors: x @ rotation ≈ y
    scale = (s * signs).sum(-1) / x.square().sum((1, 2)).clamp(min=1e-12)
    return (scale[:, None, None] * x @ rotation + mu_goal).to(pred.dtype)


def pa_mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MPJPE ``(N,)`` after similarity Procrustes alignment of ``pred`` to ``target`` (input units)."""
    return mpjpe(procrustes_align(pred, target), target, root_index=None)


def acceleration(points: torch.Tensor) -> torch.Tensor:
    """``(T − 2, …)`` second differences ``x[t+1] − 2 x[t] + x[t−1]`` of ``points (T, …)`` along time."""
    return points[2:] - 2.0 * points[1:-1] + points[:-2]


def acceleration_error(pred: torch.Tensor, target: torch.Tensor, root_index: int | None = 0) -> torch.Tensor:
    """Acceleration error ``(T − 2,)`` of a sequence of ``T ≥ 3`` frames ``pred``/``target (T, J, 3)``: per
    middle frame ``t``, the mean over joints of ‖``a_pred − a_target``‖ with ``a = x[t+1] − 2 x[t] + x[t−1]``,
    after subtracting each frame's joint ``root_index`` (0 = SMPL pelvis; ``None`` = no alignment), as the
    video literature reports it (input units per frame²: ×1000 → mm/frame² at the clip's frame rate)."""
    _check_pair(pred, target)
    if pred.shape[0] < 3:
        raise ValueError(f"pred/target: acceleration needs at least 3 frames, got {pred.shape[0]}")
    if root_index is not None:
        pred = pred - pred[:, root_index : root_index + 1]
        target = target - target[:, root_index : root_index + 1]
    return mean_joint_distance(acceleration(pred), acceleration(target))


def pck(pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor, alpha: float = 0.1) -> torch.Tensor:
    """2D PCK@α ``(N,)``: share of visible keypoints within ``α · max(w, h)`` of the target, where
    ``w × h`` is the bounding box of that person's visible target keypoints.

    Args:
        pred, target: ``(N, K, 2)`` pixels. visible: ``(N, K)`` bool, at least one per person.
    """
    if pred.shape != target.shape or pred.dim() != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred/target: expected two (N, K, 2) tensors, got {tuple(pred.shape)} and {tuple(target.shape)}")
    if tuple(visible.shape) != tuple(pred.shape[:2]):
        raise ValueError(f"visible: expected shape {tuple(pred.shape[:2])}, got {tuple(visible.shape)}")
    visible = visible.bool()
    count = visible.sum(1)
    if (count == 0).any():
        raise ValueError("visible: every person needs at least one visible keypoint")
    big = torch.finfo(target.dtype).max
    low = torch.where(visible[..., None], target, big).amin(1)
    high = torch.where(visible[..., None], target, -big).amax(1)
    threshold = alpha * (high - low).amax(-1)
    hits = ((pred - target).norm(dim=-1) <= threshold[:, None]) & visible
    return hits.sum(1).to(pred.dtype) / count.to(pred.dtype)


def rotation_error_deg(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Angle ``(N,)`` in degrees of the rotation taking ``target`` to ``pred``, both ``(N, 3)``
    axis-angle (e.g. global orientations; > 90° = the body faces the wrong way)."""
    if pred.shape != target.shape or pred.dim() != 2 or pred.shape[-1] != 3:
        raise ValueError(f"pred/target: expected two (N, 3) axis-angle tensors, got {tuple(pred.shape)} and {tuple(target.shape)}")
    if not (torch.isfinite(pred).all() and torch.isfinite(target).all()):
        raise ValueError("pred/target: contains NaN or infinite values")
    relative = axis_angle_to_matrix(pred.double()).transpose(1, 2) @ axis_angle_to_matrix(target.double())
    cosine = ((relative.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1)
    return torch.rad2deg(torch.arccos(cosine)).to(pred.dtype)


def _forward_axes(global_orient: torch.Tensor, name: str) -> torch.Tensor:
    """``(N, 3)`` unit forward axes (the body's +Z, SMPL's facing direction) of ``(N, 3)`` axis-angle
    orientations, in the frame the orientations are given in."""
    if global_orient.dim() != 2 or global_orient.shape[-1] != 3:
        raise ValueError(f"{name}: expected (N, 3) axis-angle, got {tuple(global_orient.shape)}")
    if not torch.isfinite(global_orient).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return axis_angle_to_matrix(global_orient.double())[..., 2]


def facing_error_deg(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Angle ``(N,)`` in degrees between the body's forward axes (+Z of the root) of two ``(N, 3)``
    axis-angle global orientations: which way the body faces, whatever its twist about that axis."""
    if pred.shape != target.shape:
        raise ValueError(f"pred/target: expected equal shapes, got {tuple(pred.shape)} and {tuple(target.shape)}")
    cosine = (_forward_axes(pred, "pred") * _forward_axes(target, "target")).sum(-1).clamp(-1, 1)
    return torch.rad2deg(torch.arccos(cosine)).to(pred.dtype)


def yaw_from_frontal_deg(global_orient: torch.Tensor) -> torch.Tensor:
    """Signed yaw ``(N,)`` in degrees of the body's forward axis from facing the camera, for ``(N, 3)``
    axis-angle orientations in the OpenCV camera frame (x right, y down, z away from the camera): the
    angle about the camera's vertical axis between the forward axis (projected on the x–z plane) and
    −z. 0 = facing the camera, +90 = facing the image's right, ±180 = facing away."""
    forward = _forward_axes(global_orient, "global_orient")
    return torch.rad2deg(torch.atan2(forward[:, 0], -forward[:, 2])).to(global_orient.dtype)
