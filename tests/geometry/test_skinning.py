"""Linear blend skinning as pure functions: a hand-computed bend, and smplx's ``lbs`` on a random model."""

from __future__ import annotations

import math

import roma
import torch
from smplx.lbs import lbs, vertices2joints

from hmr_flow.body.skeleton import PARENTS
from hmr_flow.geometry.skinning import linear_blend_skinning, pose_blend, shape_blend, skin_points


def test_hand_computed_bend():
    """Two joints 1 m apart on y; the child turns 90° about z. A point on the child bone with weight 1 on the
    child swings with it; one weighted half and half lands midway between its two skinned positions."""
    rest = torch.tensor([[[0.0, 0, 0], [0, 1, 0]]], dtype=torch.float64)
    quarter = torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]], dtype=torch.float64)
    rotations = torch.stack([torch.eye(3, dtype=torch.float64), quarter])[None]
    world = rotations.clone()  # the root does not turn: world = local
    points = torch.tensor([[[0.0, 2, 0], [0, 2, 0]]], dtype=torch.float64)
    weights = torch.tensor([[0.0, 1.0], [0.5, 0.5]], dtype=torch.float64)
    posed = skin_points(points, weights, world, rest, rest)
    # child: (0, 1, 0) + R (0, 1, 0) = (-1, 1, 0); root: unchanged (0, 2, 0); the half-half point averages them
    assert torch.allclose(posed[0], torch.tensor([[-1.0, 1, 0], [-0.5, 1.5, 0]], dtype=torch.float64))


def test_blend_shapes_hand_computed():
    template = torch.tensor([[1.0, 0, 0]])
    shapedirs = torch.tensor([[[1.0, 0], [0, 2], [0, 0]]])  # (S=1, 3, K=2)
    assert torch.allclose(shape_blend(template, shapedirs, torch.tensor([[0.5, 1.0]])), torch.tensor([[[1.5, 2, 0]]]))
    rotations = torch.eye(3).expand(1, 2, 3, 3).clone()
    rotations[0, 1, 0, 1] = 0.25  # (R_1 − I) has one non-zero entry: feature 1
    posedirs = torch.zeros(9, 3)
    posedirs[1] = torch.tensor([0.0, 4.0, 0.0])
    assert torch.allclose(pose_blend(rotations, posedirs), torch.tensor([[[0.0, 1.0, 0.0]]]))


def test_equals_smplx_lbs_on_a_random_model():
    generator = torch.Generator().manual_seed(0)
    vertices, joints, shapes, batch = 40, len(PARENTS), 4, 3
    template = torch.randn(vertices, 3, generator=generator, dtype=torch.float64)
    shapedirs = 0.1 * torch.randn(vertices, 3, shapes, generator=generator, dtype=torch.float64)
    posedirs = 0.05 * torch.randn(9 * (joints - 1), 3 * vertices, generator=generator, dtype=torch.float64)
    regressor = torch.rand(joints, vertices, generator=generator, dtype=torch.float64)
    regressor /= regressor.sum(1, keepdim=True)
    weights = torch.rand(vertices, joints, generator=generator, dtype=torch.float64) ** 4
    weights /= weights.sum(1, keepdim=True)
    betas = torch.randn(batch, shapes, generator=generator, dtype=torch.float64)
    rotations = roma.rotvec_to_rotmat(0.5 * torch.randn(batch, joints, 3, generator=generator, dtype=torch.float64))
    want_vertices, want_joints = lbs(betas, rotations, template, shapedirs, posedirs, regressor,
                                     torch.tensor(PARENTS), weights, pose2rot=False)
    joint_template = vertices2joints(regressor, template[None])[0]
    joint_shapedirs = torch.einsum("jv,vcb->jcb", regressor, shapedirs)
    got_joints, got_vertices = linear_blend_skinning(betas, rotations, template, shapedirs, posedirs, joint_template,
                                                     joint_shapedirs, weights, PARENTS)
    assert torch.allclose(got_joints, want_joints, atol=1e-10)
    assert torch.allclose(got_vertices, want_vertices, atol=1e-10)
    assert not math.isclose(float((got_vertices - template).abs().max()), 0.0)  # the pose did move the mesh
