"""The one forward-kinematics function against a hand-computed chain, smplx's and the three loops it replaced."""

from __future__ import annotations

import math

import numpy as np
import pytest
import roma
import torch
from smplx.lbs import batch_rigid_transform

from hmr_flow.body.skeleton import PARENTS
from hmr_flow.geometry.kinematics import forward_kinematics


def _pose(batch=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    rotations = roma.rotvec_to_rotmat(0.6 * torch.randn(batch, 24, 3, generator=generator, dtype=torch.float64))
    rest = torch.randn(batch, 24, 3, generator=generator, dtype=torch.float64) * 0.3
    return rotations, rest


def test_hand_computed_chain():
    # root at (1, 0, 0); child 1 m above it; grandchild 1 m further along x. Root turns 90° about z.
    rest = torch.tensor([[1.0, 0, 0], [1, 1, 0], [2, 1, 0]], dtype=torch.float64)
    quarter = torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]], dtype=torch.float64)
    rotations = torch.stack([quarter, quarter, torch.eye(3, dtype=torch.float64)])[None]
    joints, world = forward_kinematics(rotations, rest, (-1, 0, 1))
    # bone 0→1 (0, 1, 0) turned by 90° → (-1, 0, 0); bone 1→2 (1, 0, 0) turned by 180° → (-1, 0, 0)
    assert torch.allclose(joints[0], torch.tensor([[1.0, 0, 0], [0, 0, 0], [-1, 0, 0]], dtype=torch.float64))
    assert torch.allclose(world[0, 2], quarter @ quarter)
    assert math.isclose(float(torch.linalg.det(world[0, 2])), 1.0)


def test_equals_smplx_kinematics():
    rotations, rest = _pose()
    joints, world = forward_kinematics(rotations, rest, PARENTS)
    posed, transforms = batch_rigid_transform(rotations, rest, torch.tensor(PARENTS), dtype=torch.float64)
    assert torch.allclose(joints, posed, atol=1e-12)
    assert torch.allclose(world, transforms[..., :3, :3], atol=1e-12)


def _numpy_loop(local_rot, rest_joints):
    """The loop of ``data_tools.mocap.skeleton.TargetSkeleton.forward_kinematics`` before it used the function."""
    parents = np.asarray(PARENTS)
    offsets = rest_joints.copy()
    offsets[1:] -= rest_joints[parents[1:]]
    grot, pos = np.empty_like(local_rot), np.empty((local_rot.shape[0], 24, 3))
    grot[:, 0], pos[:, 0] = local_rot[:, 0], rest_joints[0]
    for j in range(1, 24):
        grot[:, j] = grot[:, parents[j]] @ local_rot[:, j]
        pos[:, j] = pos[:, parents[j]] + grot[:, parents[j]] @ offsets[j]
    return pos, grot


def _keypoint_body_loop(rotmats, joints):
    """The loop of ``KeypointBody._forward_kinematics`` (also ``data_tools.mocap.refine._forward``) before."""
    local, rest = rotmats.unbind(1), joints.unbind(1)
    rots, positions = [], []
    for j, parent in enumerate(PARENTS):
        if parent < 0:
            rots.append(local[j])
            positions.append(rest[j])
            continue
        rots.append(rots[parent] @ local[j])
        positions.append(positions[parent] + (rots[parent] @ (rest[j] - rest[parent])[..., None])[..., 0])
    return torch.stack(positions, dim=1), torch.stack(rots, dim=1)


def test_equals_the_loops_it_replaced():
    rotations, rest = _pose()
    joints, world = forward_kinematics(rotations, rest[0], PARENTS)  # (24, 3) rest joints broadcast
    pos, grot = _numpy_loop(rotations.numpy(), rest[0].numpy())
    assert np.allclose(joints.numpy(), pos, atol=1e-12) and np.allclose(world.numpy(), grot, atol=1e-12)
    joints32, world32 = forward_kinematics(rotations.float(), rest.float(), PARENTS)
    old_joints, old_world = _keypoint_body_loop(rotations.float(), rest.float())
    assert torch.equal(joints32, old_joints) and torch.equal(world32, old_world)  # same operations: bit-equal


def test_mocap_target_uses_it():
    from data_tools.mocap.skeleton import TargetSkeleton

    rotations, rest = _pose(3)
    target = TargetSkeleton(rest[0].numpy(), "test")
    transl = np.array([[0.0, 1.0, 2.0]] * 3)
    expected = _numpy_loop(rotations.numpy(), rest[0].numpy())[0] + transl[:, None]
    assert np.allclose(target.forward_kinematics(rotations.numpy(), transl), expected, atol=1e-12)


def test_gradients_and_shape_checks():
    rotations, rest = _pose(2)
    rotations.requires_grad_(True)
    rest.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda r, j: forward_kinematics(r, j, PARENTS), (rotations, rest))
    with pytest.raises(ValueError, match=r"rotations: expected \(B, 24, 3, 3\)"):
        forward_kinematics(torch.zeros(2, 23, 3, 3), torch.zeros(2, 24, 3), PARENTS)
    with pytest.raises(ValueError, match="rest_joints: expected"):
        forward_kinematics(torch.zeros(2, 24, 3, 3), torch.zeros(2, 24, 2), PARENTS)
