"""Rotation conversions shared by the whole project (thin, batched wrappers over ``roma``).

Conventions: rotation matrices act on column vectors (``x' = R @ x``); axis-angle vectors are
``angle * unit_axis`` in radians; the 6D representation is the first two **columns** of the matrix,
flattened column-wise as ``(c0x, c0y, c0z, c1x, c1y, c1z)``. Every function accepts any number of
leading batch dimensions ``(...)`` and is differentiable.
"""

from __future__ import annotations

import roma
import torch

__all__ = [
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
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


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """``(..., 3)`` axis-angle (radians) → ``(..., 3, 3)`` rotation matrices (Rodrigues, stable at 0)."""
    _check_last_dims(axis_angle, (3,), "axis_angle")
    return roma.rotvec_to_rotmat(axis_angle)


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` rotation matrices → ``(..., 3)`` axis-angle with angle in ``[0, π]``."""
    _check_last_dims(matrix, (3, 3), "matrix")
    return roma.rotmat_to_rotvec(matrix)


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
