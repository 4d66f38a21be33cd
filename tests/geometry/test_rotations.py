"""Rotation conversions round-trip and produce proper rotations."""

from __future__ import annotations

import math

import pytest
import torch

from hmr_flow.geometry import (
    axis_angle_to_matrix,
    axis_angle_to_rot6d,
    matrix_to_axis_angle,
    matrix_to_rot6d,
    rot6d_to_axis_angle,
    rot6d_to_matrix,
)


def _axis_angles(n: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    axis = torch.nn.functional.normalize(torch.randn(n, 3, generator=g, dtype=torch.float64), dim=-1)
    angle = torch.rand(n, 1, generator=g, dtype=torch.float64) * (math.pi - 1e-3)
    return axis * angle


def test_axis_angle_matrix_round_trip_and_known_value():
    aa = _axis_angles(200).view(10, 20, 3)
    assert torch.allclose(matrix_to_axis_angle(axis_angle_to_matrix(aa)), aa, atol=1e-9)
    quarter = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    assert torch.allclose(quarter @ torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
                          torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), atol=1e-12)  # fmt: skip


def test_rot6d_round_trips_and_gram_schmidt_projects_noise():
    mats = axis_angle_to_matrix(_axis_angles(100))
    assert torch.allclose(rot6d_to_matrix(matrix_to_rot6d(mats)), mats, atol=1e-12)
    assert torch.allclose(matrix_to_rot6d(mats), torch.cat([mats[:, :, 0], mats[:, :, 1]], dim=-1))
    noisy = rot6d_to_matrix(matrix_to_rot6d(mats) * 3.0 + 0.01 * torch.randn(100, 6, dtype=torch.float64))
    eye = torch.eye(3, dtype=torch.float64).expand(100, 3, 3)
    assert torch.allclose(noisy @ noisy.transpose(1, 2), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(noisy), torch.ones(100, dtype=torch.float64))
    aa = _axis_angles(50)
    assert torch.allclose(rot6d_to_axis_angle(axis_angle_to_rot6d(aa)), aa, atol=1e-9)


def test_conversions_are_differentiable_at_zero():
    aa = torch.zeros(4, 3, requires_grad=True)
    axis_angle_to_rot6d(aa).sum().backward()
    assert torch.isfinite(aa.grad).all()


def test_wrong_shapes_raise():
    with pytest.raises(ValueError, match="rot6d"):
        rot6d_to_matrix(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="axis_angle"):
        axis_angle_to_matrix(torch.zeros(3, 4))
