"""Mirroring SMPL poses (x → −x, left ↔ right): the posed skeleton of a mirrored pose is the mirror image
of the posed skeleton, for numpy and torch, with or without the global orientation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hmr_flow.body.skeleton import JOINT_FLIP_PERMUTATION, JOINT_NAMES, PARENTS, mirror_pose
from hmr_flow.geometry import axis_angle_to_matrix
from hmr_flow.geometry.kinematics import forward_kinematics

# A left/right symmetric rest skeleton (metres, facing +Z, left at x > 0).
_HALF = {"hip": (0.08, -0.1, 0.0), "knee": (0.1, -0.5, 0.0), "ankle": (0.1, -0.9, 0.0), "foot": (0.1, -0.95, 0.1),
         "collar": (0.07, 0.4, 0.0), "shoulder": (0.18, 0.45, 0.0), "elbow": (0.45, 0.45, 0.0),
         "wrist": (0.7, 0.45, 0.0), "hand": (0.78, 0.45, 0.0)}
_MIDDLE = {"pelvis": (0, 0, 0), "spine1": (0, 0.1, 0), "spine2": (0, 0.24, 0), "spine3": (0, 0.3, 0),
           "neck": (0, 0.5, 0), "head": (0, 0.6, 0)}


def _rest() -> torch.Tensor:
    rows = []
    for name in JOINT_NAMES:
        side, _, part = name.partition("_")
        if name in _MIDDLE:
            rows.append(_MIDDLE[name])
        else:
            x, y, z = _HALF[part]
            rows.append((x if side == "left" else -x, y, z))
    return torch.tensor(rows, dtype=torch.float64)


def _joints(pose: torch.Tensor) -> torch.Tensor:
    return forward_kinematics(axis_angle_to_matrix(pose), _rest(), PARENTS)[0]


def test_mirrored_pose_poses_the_mirrored_skeleton():
    pose = 0.6 * torch.randn(8, 24, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mirrored = _joints(mirror_pose(pose))
    expected = _joints(pose)[:, list(JOINT_FLIP_PERMUTATION)] * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(mirrored, expected, atol=1e-12, rtol=0)


def test_body_joints_only_numpy_and_involution():
    body = np.random.default_rng(1).normal(size=(5, 23, 3))
    once = mirror_pose(body)
    assert isinstance(once, np.ndarray) and once.shape == body.shape
    np.testing.assert_array_equal(mirror_pose(once), body)
    left_knee, right_knee = JOINT_NAMES.index("left_knee") - 1, JOINT_NAMES.index("right_knee") - 1
    np.testing.assert_array_equal(once[:, right_knee], body[:, left_knee] * [1, -1, -1])
    full = np.concatenate([np.zeros((5, 1, 3)), body], 1)
    np.testing.assert_array_equal(mirror_pose(full)[:, 1:], once)
    body.flags.writeable = False  # the input is never written
    mirror_pose(body)


def test_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 24, 3\) or \(\.\.\., 23, 3\)"):
        mirror_pose(np.zeros((5, 69)))
