"""The sample losses (seen keypoints only, best of M) and the calibration figures of the evaluation,
against hand-computed cases."""

from __future__ import annotations

import pytest
import torch

from hmr_flow.models.evaluate import _calibration_sums, _mode_error_sums, _true_keypoints
from hmr_flow.models.losses import HMRLoss, LossWeights
from hmr_flow.models.model import PoseSamples


class _StubBody:
    """Projection stand-in: the losses only need ``project_samples``'s three outputs."""


def _calibration(joints, coco, normalised, truth, keypoints, confidence, size=100, true_coco=None):
    true_coco = torch.zeros(truth.shape[0], 17, 3) if true_coco is None else true_coco
    return _calibration_sums(confidence > 0, keypoints, joints, coco, normalised, truth, size, true_coco)


def test_spread_seen_vs_hidden_and_coverage_by_hand():
    """Two random hypotheses at ±d along x around the truth: spread d on every keypoint; every true
    joint sits at their mean, inside the 90 % radius (coverage 1); a truth moved 2d away is outside."""
    d = 0.05
    joints = torch.zeros(1, 2, 24, 3)
    joints[:, 0, 1:, 0], joints[:, 1, 1:, 0] = d, -d
    coco = torch.zeros(1, 2, 17, 3)
    coco[:, 0, :, 0], coco[:, 1, :, 0] = d, -d
    confidence = torch.zeros(1, 17)
    confidence[:, :5] = 1.0
    keypoints = torch.full((1, 17, 2), 50.0)
    normalised = torch.zeros(1, 2, 17, 2)
    sums = _calibration(joints, coco, normalised, torch.zeros(1, 24, 3), keypoints, confidence)
    assert sums["diversity_visible_mm"] / sums["diversity_visible_count"] == pytest.approx(1000 * d)
    assert sums["diversity_hidden_mm"] / sums["diversity_hidden_count"] == pytest.approx(1000 * d)
    assert sums["diversity_visible_count"] == 5 and sums["diversity_hidden_count"] == 12
    assert sums["coverage90"] == pytest.approx(1.0)
    far = torch.zeros(1, 24, 3)
    far[:, 1:, 1] = 2 * d
    assert _calibration(joints, coco, normalised, far, keypoints, confidence)["coverage90"] == pytest.approx(0.0)


class _RestBody:
    """Body stand-in that poses every point at ``transl`` whatever the rotations; keypoint k is the
    first source point (any selection gives the same place)."""

    def __call__(self, rotmats, betas, transl):
        return transl[:, None].expand(-1, 35, 3).clone()

    def keypoint_matrix(self, keypoint_format):
        return torch.eye(35)[:1].expand(17, 35)


def test_mode_error_seen_vs_hidden_by_hand():
    """The truth poses every point at the pelvis (the stand-in body); the mode's pelvis-centred keypoints
    are d off on the 5 seen keypoints and 3d off on the 12 hidden ones: errors d and 3d per keypoint."""
    d = 0.04
    joints = torch.zeros(1, 24, 3)
    coco = torch.zeros(1, 17, 3)
    coco[:, :5, 0] = d
    coco[:, 5:, 2] = -3 * d
    confidence = torch.zeros(1, 17)
    confidence[:, :5] = 0.8
    batch = {"global_orient": torch.zeros(1, 3), "body_pose": torch.zeros(1, 69), "betas": torch.zeros(1, 10),
             "transl": torch.tensor([[0.1, -0.2, 4.0]])}
    true_coco = _true_keypoints(_RestBody(), batch, joints)
    assert true_coco.abs().max() == 0  # every true point at the pelvis
    sums = _mode_error_sums(confidence > 0, joints, coco, true_coco)
    assert sums["error_visible_mm"] / 5 == pytest.approx(1000 * d)
    assert sums["error_hidden_mm"] / 12 == pytest.approx(3000 * d)


def test_coverage_of_seen_and_hidden_keypoints_by_hand():
    """Ten random hypotheses of every keypoint at x = ±r (half each): mean 0, every distance r, 90 % radius r. The
    truth of the 5 seen keypoints sits at 0.5 r (covered), of 12 hidden ones: 4 at 0.9 r (covered) and 8 at
    1.5 r (not): coverage 1.0 on seen and 4/12 on hidden keypoints."""
    r = 0.1
    coco = torch.zeros(1, 10, 17, 3)
    coco[:, ::2, :, 0], coco[:, 1::2, :, 0] = r, -r
    truth = torch.zeros(1, 17, 3)
    truth[:, :5, 1] = 0.5 * r
    truth[:, 5:9, 2] = 0.9 * r
    truth[:, 9:, 0] = 1.5 * r
    confidence = torch.zeros(1, 17)
    confidence[:, :5] = 1.0
    sums = _calibration(torch.zeros(1, 10, 24, 3), coco, torch.zeros(1, 10, 17, 2), torch.zeros(1, 24, 3),
                        torch.full((1, 17, 2), 50.0), confidence, true_coco=truth)
    assert sums["coverage90_visible"] / sums["diversity_visible_count"] == pytest.approx(1.0)
    assert sums["coverage90_hidden"] / sums["diversity_hidden_count"] == pytest.approx(4 / 12)


def test_sample_pck_counts_only_seen_keypoints():
    """Crop of 100 px; seen input keypoints spread over a 40 px box → threshold 4 px. Hypothesis 1
    projects exactly onto them, hypothesis 2 misses two of the four by 10 px: PCK 1 and 0.5, mean 0.75.
    Hidden keypoints (confidence 0) are ignored however far off they are."""
    keypoints = torch.full((1, 17, 2), 50.0)
    keypoints[0, :4] = torch.tensor([[30.0, 30.0], [70.0, 30.0], [30.0, 70.0], [70.0, 70.0]])
    confidence = torch.zeros(1, 17)
    confidence[0, :4] = 0.7
    pixels = keypoints[:, None].repeat(1, 2, 1, 1)
    pixels[0, :, 10:] = 0.0  # hidden keypoints far away
    pixels[0, 1, :2, 0] += 10.0
    normalised = (pixels - 50.0) / 50.0
    sums = _calibration(torch.zeros(1, 2, 24, 3), torch.zeros(1, 2, 17, 3), normalised, torch.zeros(1, 24, 3),
                        keypoints, confidence)
    assert sums["sample_pck_seen"] / sums["sample_pck_count"] == pytest.approx(0.75)


def test_sample_losses_by_hand(monkeypatch):
    """``sample_keypoints2d`` sums |error| over the seen keypoints of the random samples only, averaged
    over them; ``best_keypoints3d`` is the smallest pelvis-centred L1 error among the random samples."""
    size, batch, n = 64, 1, 3
    keypoints = torch.zeros(batch, n, 17, 2)
    keypoints[0, 1, 0] = torch.tensor([0.5, 0.0])  # seen keypoint 0 off by 0.5 in sample 1
    keypoints[0, 2, 16] = torch.tensor([9.0, 9.0])  # hidden keypoint 16 off by 18 in sample 2: ignored
    joints = torch.zeros(batch, n, 24, 3)
    joints[0, 1, 5, 0] = 0.2  # sample 1's 3D error 0.2
    joints[0, 2, 5, 0] = 0.3
    joints[0, 2, 6, 1] = -0.1  # sample 2's 3D error 0.4
    monkeypatch.setattr("hmr_flow.models.losses.project_samples",
                        lambda body, samples, focal, image_size: (joints, None, keypoints))
    samples = PoseSamples(torch.zeros(batch, n, 144), torch.zeros(batch, n, 10),
                          torch.tensor([[[1.0, 0.0, 0.0]] * n]), torch.zeros(batch, n))
    confidence = torch.ones(batch, 17)
    confidence[0, 16] = 0.0
    data = {"keypoints2d": torch.full((batch, 17, 2), size / 2.0), "visibility": torch.full((batch, 17), 2),
            "input_confidence": confidence, "joints3d": torch.zeros(batch, 24, 3),
            "global_orient": torch.zeros(batch, 3), "body_pose": torch.zeros(batch, 69), "betas": torch.zeros(batch, 10),
            "transl": torch.tensor([[0.0, 0.0, 5.0]]), "focal": torch.tensor([100.0])}
    weights = LossWeights(best_keypoints3d=1.0)
    _, terms = HMRLoss(_StubBody(), size, weights)(samples, None, data)
    assert terms["sample_keypoints2d"].item() == pytest.approx(0.5 / 2)
    assert terms["best_keypoints3d"].item() == pytest.approx(0.2)
    assert terms["keypoints2d"].item() == pytest.approx(0.0)
    _, unweighted = HMRLoss(_StubBody(), size, LossWeights())(samples, None, data)
    assert "best_keypoints3d" not in unweighted  # computed only when it weighs
