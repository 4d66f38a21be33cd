"""Shape fit (scale + betas from bone lengths) and position refinement on synthetic skeletons."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch

from data_tools.mocap.refine import ACTIVE_JOINTS, refine
from data_tools.mocap.retarget import MATCHED_JOINTS
from data_tools.mocap.shape import fit_shape
from data_tools.mocap.skeleton import TargetSkeleton
from tests.mocap.test_convert import _REST

BARE = TargetSkeleton(_REST, "test skeleton")


def _shaped_target(seed: int = 0) -> TargetSkeleton:
    """The test skeleton with 3 random joint shape directions of a few cm per unit."""
    dirs = np.random.default_rng(seed).normal(0.0, 0.04, (24, 3, 3))
    return TargetSkeleton(_REST, "test skeleton with shape space", dirs)


def test_scale_only_fit_recovers_the_unit():
    points = (_REST / 0.0254)[None].repeat(3, axis=0)  # the skeleton in inches, 3 identical frames
    fit = fit_shape(points, BARE)
    assert fit.scale == pytest.approx(0.0254, rel=1e-12)
    assert fit.betas.shape == (0,) and np.abs(fit.residual_m).max() < 1e-12


def test_shape_fit_recovers_scale_and_betas():
    target = _shaped_target()
    true_betas = np.array([1.0, -0.5, 0.8])
    points = target.shaped_joints(true_betas)[None] / 0.01  # centimetres
    fit = fit_shape(points, target)
    # the prior pulls betas slightly towards 0 (measured: 0.7 % off); lengths within 1.3 mm
    assert fit.scale == pytest.approx(0.01, rel=0.003)
    np.testing.assert_allclose(fit.betas, true_betas, atol=0.02)
    assert np.abs(fit.residual_m).max() < 2e-3
    assert np.abs(fit_shape(points, target, betas=False).betas).max() == 0.0


def test_shaped_target_validates_betas():
    with pytest.raises(ValueError, match=r"betas must have shape \(3,\)"):
        _shaped_target().shaped_joints(np.zeros(10))
    with pytest.raises(ValueError, match=r"joint shape directions must be a finite \(24, 3, B\) array"):
        TargetSkeleton(_REST, "bad", np.zeros((24, 3)))


def test_degenerate_rig_is_refused():
    points = np.zeros((2, 24, 3))
    with pytest.raises(ValueError, match="zero-length segments"):
        fit_shape(points, BARE)


def _random_pose(frames: int, sigma: float, seed: int) -> np.ndarray:
    aa = np.random.default_rng(seed).normal(0.0, sigma, (frames, 24, 3))
    return roma.rotvec_to_rotmat(torch.from_numpy(aa)).numpy()


def _matched_error(posed: np.ndarray, goal: np.ndarray) -> np.ndarray:
    return np.linalg.norm(posed[:, MATCHED_JOINTS] - goal[:, MATCHED_JOINTS], axis=-1)


def test_refine_keeps_an_exact_pose():
    rot = _random_pose(5, 0.4, 0)
    transl = np.random.default_rng(1).normal(0.0, 1.0, (5, 3))
    goal = BARE.forward_kinematics(rot, transl)
    local, shift = refine(rot, transl, goal, BARE)
    np.testing.assert_allclose(local, rot, atol=1e-9)
    np.testing.assert_allclose(shift, transl, atol=1e-9)


def test_refine_pulls_joints_onto_targets_with_small_corrections():
    truth = _random_pose(50, 0.4, 2)
    goal = BARE.forward_kinematics(truth, np.zeros((50, 3)))
    start = truth @ _random_pose(50, 0.08, 3)  # ~8° off at every joint
    transl = np.full((50, 3), 0.02)
    before = _matched_error(BARE.forward_kinematics(start, transl), goal)
    local, shift = refine(start, transl, goal, BARE)
    after = _matched_error(BARE.forward_kinematics(local, shift), goal)
    assert np.median(before) > 0.05 and np.median(after) < 0.2 * np.median(before)
    # only joints that move a matched joint change
    still = [j for j in range(24) if j not in ACTIVE_JOINTS]
    np.testing.assert_allclose(local[:, still], start[:, still], atol=1e-12)
    moved = np.degrees(roma.rotmat_geodesic_distance(torch.from_numpy(local), torch.from_numpy(start)).numpy())
    assert moved.max() < 30.0
