"""Fitting metrics (MPJPE, PA-MPJPE, PCK, acceleration error) against hand-computed cases."""

import math

import pytest
import torch

from hmr_flow.metrics import acceleration_error, mpjpe, pa_mpjpe, pck, procrustes_align


def test_mpjpe_root_aligned_hand_case():
    target = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    pred = target + torch.tensor([5.0, 5.0, 5.0])  # pure translation: 0 after root alignment
    pred[0, 2] += torch.tensor([0.0, 0.0, 0.3])
    assert mpjpe(pred, target).item() == pytest.approx(0.1)  # (0 + 0 + 0.3) / 3
    assert mpjpe(pred, target, root_index=None).item() == pytest.approx((2 * math.sqrt(75) + math.sqrt(25 + 25 + 5.3**2)) / 3)


def test_pa_mpjpe_removes_similarity_but_not_shape():
    torch.manual_seed(0)
    target = torch.randn(2, 24, 3)
    angle = torch.tensor(0.7)
    rot = torch.tensor([[torch.cos(angle), -torch.sin(angle), 0.0], [torch.sin(angle), torch.cos(angle), 0.0], [0, 0, 1.0]])
    pred = 3.0 * target @ rot.T + torch.tensor([1.0, -2.0, 0.5])
    assert pa_mpjpe(pred, target).max().item() < 1e-5
    assert torch.allclose(procrustes_align(pred, target), target, atol=1e-5)
    # A mirror image is not a rotation: PA-MPJPE stays large.
    assert pa_mpjpe(target * torch.tensor([-1.0, 1.0, 1.0]), target).min().item() > 0.1


def test_pa_mpjpe_hand_case_two_points():
    # Two points: any segment can be rotated/scaled onto any other exactly.
    target = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])
    pred = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    assert pa_mpjpe(pred, target).item() == pytest.approx(0.0, abs=1e-6)


def test_pck_hand_case():
    target = torch.tensor([[[0.0, 0.0], [100.0, 0.0], [0.0, 200.0], [50.0, 50.0]]])  # box 100 × 200
    pred = target + torch.tensor([[[5.0, 0.0], [0.0, 25.0], [30.0, 0.0], [0.0, 19.0]]])
    visible = torch.tensor([[True, True, True, False]])
    # α = 0.1 → threshold 20 px: hits are point 0 (5 px); point 1 (25) and 2 (30) miss; point 3 hidden.
    assert pck(pred, target, visible, alpha=0.1).item() == pytest.approx(1 / 3)
    assert pck(pred, target, visible, alpha=0.13).item() == pytest.approx(2 / 3)  # 26 px


def test_acceleration_error_hand_case():
    # Two joints over four frames: the root (joint 0) moves at constant speed, joint 1 jumps in frame 2.
    target = torch.zeros(4, 2, 3)
    target[:, 0, 0] = torch.arange(4.0)  # constant velocity: no acceleration
    target[:, 1, 0] = torch.arange(4.0)  # joint 1 moves with the root
    pred = target.clone()
    pred[2, 1, 1] += 0.3  # jump of joint 1 at frame 2 (y)
    # root-relative: a of joint 1 at frame 1 = x2 - 2 x1 + x0 = (0, 0.3, 0); at frame 2 = x3 - 2 x2 + x1 = (0, -0.6, 0)
    # per frame, mean over the 2 joints (the root's is 0): 0.15 and 0.3
    assert acceleration_error(pred, target).tolist() == pytest.approx([0.15, 0.3])
    # a moving root does not count after alignment; without it, a root jump does
    moved = pred.clone()
    moved[2] += torch.tensor([0.0, 0.0, 1.0])
    assert acceleration_error(moved, target).tolist() == pytest.approx([0.15, 0.3])
    assert acceleration_error(moved, target, root_index=None)[0].item() == pytest.approx((1.0 + math.hypot(0.3, 1.0)) / 2)
    with pytest.raises(ValueError, match="at least 3 frames"):
        acceleration_error(pred[:2], target[:2])


def test_metric_errors():
    with pytest.raises(ValueError, match="shapes differ"):
        mpjpe(torch.zeros(1, 24, 3), torch.zeros(1, 17, 3))
    with pytest.raises(ValueError, match="NaN"):
        pa_mpjpe(torch.full((1, 3, 3), float("nan")), torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match="at least one visible"):
        pck(torch.zeros(1, 2, 2), torch.zeros(1, 2, 2), torch.zeros(1, 2, dtype=torch.bool))
