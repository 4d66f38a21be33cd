"""Rotation conversions shared by the whole project (batched, differentiable, torch only).

Conventions: rotation matrices act on column vectors (``x' = R @ x``); axis-angle vectors are
``angle * unit_axis`` in radians; the 6D representation is the first two **columns** of the matrix,
flattened column-wise as ``(c0x, c0y, c0z, c1x, c1y, c1z)``. Every function accepts any number of
leading batch dimensions ``(...)`` and is differentiable.
"""

from __future__ import annotations

import torch

__all__ = [
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
    "matrix_to_quaternion",
    "quaternion_to_axis_angle",
    "special_procrustes",
    "rot6d_to_matrix",
    "matrix_to_rot6d",
    "axis_angle_to_rot6d",
    "rot6d_to_axis_angle",
]


def _check_last_dims(x: torch.Tensor, dims: tuple[int, ...], name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if tuple(x.shape[-len(dims):]) != dims:
        raise ValueError(f"{name}: expected shape (..., {', '.join(map(str, dims))}), got {tuple(x.shape)}")


#: Below this angle (radians) the Taylor series replace ``sin θ/θ``-type ratios.
_SMALL_ANGLE = 1e-4


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """``(..., 3)`` axis-angle (radians) → ``(..., 3, 3)`` rotation matrices.

    Rodrigues: ``R = I + (sin θ/θ) K + ((1 − cos θ)/θ²) K²`` with ``K`` the cross-product matrix of the
    vector and ``θ`` its norm; both ratios switch to their Taylor series near ``θ = 0`` (exact values and
    finite gradients there)."""
    _check_last_dims(axis_angle, (3,), "axis_angle")
    squared = (axis_angle * axis_angle).sum(-1)
    small = squared < _SMALL_ANGLE**2
    angle = torch.where(small, torch.ones_like(squared), squared).sqrt()
    sinc = torch.where(small, 1.0 - squared / 6.0, torch.sin(angle) / angle)
    cosc = torch.where(small, 0.5 - squared / 24.0, (1.0 - torch.cos(angle)) / (angle * angle))
    x, y, z = axis_angle.unbind(-1)
    zero = torch.zeros_like(x)
    cross = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*axis_angle.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + sinc[..., None, None] * cross + cosc[..., None, None] * (cross @ cross)


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` rotation matrices → ``(..., 4)`` unit quaternions ``(x, y, z, w)`` with ``w ≥ 0``.

    Each matrix uses the best conditioned of the four closed forms (the largest of ``w², x², y², z²``), so
    the result is accurate for every rotation, 180° turns included."""
    m = matrix
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    diagonal = torch.stack([m[..., 0, 0], m[..., 1, 1], m[..., 2, 2], trace], dim=-1)
    choice = diagonal.argmax(dim=-1, keepdim=True)  # 0, 1, 2: x, y or z largest; 3: w largest
    # 4·(largest component)·q for each choice, as rows (x, y, z, w).
    s01, d01 = m[..., 0, 1] + m[..., 1, 0], m[..., 2, 1] - m[..., 1, 2]
    s02, d02 = m[..., 0, 2] + m[..., 2, 0], m[..., 0, 2] - m[..., 2, 0]
    s12, d12 = m[..., 1, 2] + m[..., 2, 1], m[..., 1, 0] - m[..., 0, 1]
    one = torch.ones_like(trace)
    candidates = torch.stack([
        torch.stack([1 + 2 * m[..., 0, 0] - trace, s01, s02, d01], dim=-1),
        torch.stack([s01, 1 + 2 * m[..., 1, 1] - trace, s12, d02], dim=-1),
        torch.stack([s02, s12, 1 + 2 * m[..., 2, 2] - trace, d12], dim=-1),
        torch.stack([d01, d02, d12, one + trace], dim=-1),
    ], dim=-2)
    picked = torch.take_along_dim(candidates, choice[..., None], dim=-2).squeeze(-2)
    quaternion = torch.nn.functional.normalize(picked, dim=-1)
    return torch.where(quaternion[..., 3:] < 0, -quaternion, quaternion)


def quaternion_to_axis_angle(quaternion: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` unit quaternions ``(x, y, z, w)`` → ``(..., 3)`` axis-angle with angle in ``[0, π]``."""
    _check_last_dims(quaternion, (4,), "quaternion")
    # w > 0 gives the angle in [0, π); w = 0 (a half turn) takes the sign flip too, as SciPy and roma do
    quaternion = torch.where(quaternion[..., 3:] > 0, quaternion, -quaternion)
    vector, w = quaternion[..., :3], quaternion[..., 3]
    sine = vector.norm(dim=-1)
    small = sine < _SMALL_ANGLE
    angle = 2.0 * torch.atan2(sine, w)
    # angle / sin(angle / 2); near 0 its series 2/w · (1 − sine²/(3w²)) (w ≈ 1 there). The series is built
    # from a w kept away from 0 outside its branch, so a half turn (w = 0) gets no inf and no NaN gradient.
    w_near_one = torch.where(small, w, torch.ones_like(w))
    series = 2.0 / w_near_one * (1.0 - sine.pow(2) / (3.0 * w_near_one.pow(2)))
    ratio = torch.where(small, series, angle / torch.where(small, torch.ones_like(sine), sine))
    return vector * ratio[..., None]


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` rotation matrices → ``(..., 3)`` axis-angle with angle in ``[0, π]`` (through the
    quaternion, accurate at every angle)."""
    _check_last_dims(matrix, (3, 3), "matrix")
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def special_procrustes(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` → the nearest rotation (Frobenius norm): ``U·diag(1, 1, det(U·Vᵀ))·Vᵀ`` from the SVD."""
    _check_last_dims(matrix, (3, 3), "matrix")
    u, _, vh = torch.linalg.svd(matrix)
    sign = torch.det(u @ vh)
    u = torch.cat([u[..., :2], u[..., 2:] * sign[..., None, None]], dim=-1)
    return u @ vh


def rot6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """``(..., 6)`` → ``(..., 3, 3)`` by Gram–Schmidt on the two columns (Zhou et al. 2019).

    ``b1 = normalize(a1)``, ``b2 = normalize(a2 - (b1·a2) b1)``, ``b3 = b1 × b2``; the result is
    a proper rotation for any input whose two columns are not parallel.
    """
    _check_last_dims(rot6d, (6,), "rot6d")
    a1, a2 = rot6d[..., :3], rot6d[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def matrix_to_rot6d(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` → ``(..., 6)``: the first two columns, column after column."""
    _check_last_dims(matrix, (3, 3), "matrix")
    return torch.cat([matrix[..., :, 0], matrix[..., :, 1]], dim=-1)


def axis_angle_to_rot6d(axis_angle: torch.Tensor) -> torch.Tensor:
    """``(..., 3)`` axis-angle → ``(..., 6)``."""
    return matrix_to_rot6d(axis_angle_to_matrix(axis_angle))


def rot6d_to_axis_angle(rot6d: torch.Tensor) -> torch.Tensor:
    """``(..., 6)`` → ``(..., 3)`` axis-angle (through Gram–Schmidt)."""
    return matrix_to_axis_angle(rot6d_to_matrix(rot6d))
