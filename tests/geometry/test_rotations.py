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
from hmr_flow.geometry.rotations import matrix_to_quaternion, quaternion_to_axis_angle, special_procrustes


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
                          torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), atol=1e-12)


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


def _hard_cases() -> torch.Tensor:
    """Axis-angles at 0, tiny, ordinary, near π and at π (about each axis and a skew one)."""
    axes = torch.nn.functional.normalize(torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, -2.0, 0.5]],
                                                      dtype=torch.float64), dim=-1)
    angles = torch.tensor([0.0, 1e-9, 1e-5, 3e-4, 0.3, 2.0, math.pi - 1e-6, math.pi], dtype=torch.float64)
    return (axes[:, None, :] * angles[None, :, None]).reshape(-1, 3)


def test_conversions_match_scipy_on_hard_cases():
    from scipy.spatial.transform import Rotation

    aa = torch.cat([_hard_cases(), _axis_angles(300)])
    want = torch.from_numpy(Rotation.from_rotvec(aa.numpy()).as_matrix())
    assert torch.allclose(axis_angle_to_matrix(aa), want, atol=1e-12)
    back = matrix_to_axis_angle(want)
    assert torch.allclose(axis_angle_to_matrix(back), want, atol=1e-9)  # same rotation (±π axes may flip)
    ordinary = aa.norm(dim=-1) < math.pi - 1e-3
    assert torch.allclose(back[ordinary], aa[ordinary], atol=1e-9)
    quaternion = matrix_to_quaternion(want)
    scipy_quaternion = torch.from_numpy(Rotation.from_matrix(want.numpy()).as_quat())  # (x, y, z, w)
    assert torch.allclose(quaternion.abs(), scipy_quaternion.abs(), atol=1e-9) and (quaternion[:, 3] >= 0).all()


def test_quaternion_to_axis_angle_either_sign_and_float32():
    g = torch.Generator().manual_seed(3)
    quaternion = torch.nn.functional.normalize(torch.randn(500, 4, generator=g, dtype=torch.float64), dim=-1)
    aa = quaternion_to_axis_angle(quaternion)
    assert torch.allclose(quaternion_to_axis_angle(-quaternion), aa, atol=1e-12)
    assert (aa.norm(dim=-1) <= math.pi + 1e-12).all()
    assert torch.allclose(matrix_to_quaternion(axis_angle_to_matrix(aa)), torch.where(quaternion[:, 3:] < 0, -quaternion, quaternion), atol=1e-9)
    single = quaternion_to_axis_angle(quaternion.float())
    assert single.dtype == torch.float32 and torch.allclose(single.double(), aa, atol=1e-5)


def test_inverse_conversion_is_differentiable_at_the_identity():
    matrix = torch.eye(3, dtype=torch.float64).repeat(2, 1, 1).requires_grad_()
    matrix_to_axis_angle(matrix).sum().backward()
    assert torch.isfinite(matrix.grad).all()


def test_special_procrustes_gives_the_nearest_rotation():
    rotations = axis_angle_to_matrix(_axis_angles(50))
    noisy = rotations + 1e-3 * torch.randn(50, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    projected = special_procrustes(noisy)
    assert torch.allclose(projected @ projected.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(50, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(projected), torch.ones(50, dtype=torch.float64))
    # nearest: no closer than the rotation the noise was added to, nor than random rotations
    assert ((projected - noisy).norm(dim=(1, 2)) <= (rotations - noisy).norm(dim=(1, 2)) + 1e-12).all()
    others = axis_angle_to_matrix(_axis_angles(50).flip(0))
    assert ((projected - noisy).norm(dim=(1, 2)) <= (others - noisy).norm(dim=(1, 2)) + 1e-12).all()
    reflection = torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    assert torch.linalg.det(special_procrustes(reflection)) > 0  # a reflection is never returned


def test_same_values_as_roma_half_turns_included():
    """The library dropped roma (its import costs ~1 s); its conversions agree with roma's, also on the
    representative of half turns (±π), which decides where a fit starting facing away moves from."""
    roma = pytest.importorskip("roma")
    aa = torch.cat([_hard_cases(), _axis_angles(300)])
    matrices = roma.rotvec_to_rotmat(aa)
    assert torch.allclose(axis_angle_to_matrix(aa), matrices, atol=1e-12)
    assert torch.allclose(matrix_to_axis_angle(matrices), roma.rotmat_to_rotvec(matrices), atol=1e-9)
    flips = torch.diag_embed(torch.tensor([[1.0, -1.0, -1.0], [-1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]]))
    assert torch.equal(matrix_to_axis_angle(flips), roma.rotmat_to_rotvec(flips))
