"""Metrics against hand-computed values."""

from __future__ import annotations

import pytest
import torch

from hmr_flow.metrics import apd, mean_joint_distance, nearest_distance


def test_mean_joint_distance_hand_computed():
    a = torch.zeros(2, 3)
    b = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]])  # distances 5 and 1
    assert mean_joint_distance(a, b).item() == pytest.approx(3.0)


def test_apd_hand_computed():
    # three one-joint samples on a line at 0, 1, 3: pair distances 1, 3, 2 → mean 2
    samples = torch.tensor([[[0.0, 0, 0]], [[1.0, 0, 0]], [[3.0, 0, 0]]])
    assert apd(samples) == pytest.approx(2.0)
    # two-joint samples: joint 0 moves by 2, joint 1 by 0 → per-pair mean 1
    two = torch.tensor([[[0.0, 0, 0], [5.0, 5, 5]], [[0.0, 2, 0], [5.0, 5, 5]]])
    assert apd(two) == pytest.approx(1.0)
    assert apd(torch.ones(4, 2, 3)) == 0.0


def test_nearest_distance_hand_computed():
    reference = torch.tensor([[[0.0, 0, 0]], [[10.0, 0, 0]]])
    queries = torch.tensor([[[1.0, 0, 0]], [[7.0, 0, 0]], [[10.0, 0, 0]]])
    assert nearest_distance(queries, reference, chunk=2).tolist() == pytest.approx([1.0, 3.0, 0.0])


@pytest.mark.parametrize("bad", [torch.zeros(1, 2, 3), torch.zeros(3, 2), torch.full((2, 1, 3), float("nan"))])
def test_apd_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        apd(bad)


def test_nearest_distance_rejects_joint_mismatch():
    with pytest.raises(ValueError, match="joints"):
        nearest_distance(torch.zeros(2, 3, 3), torch.zeros(2, 4, 3))


def test_rotation_error_hand_computed():
    from hmr_flow.metrics import rotation_error_deg

    quarter = torch.pi / 2
    pred = torch.tensor([[0.0, 0.0, quarter], [0.0, torch.pi, 0.0], [0.3, -0.2, 0.1], [0.0, 0.0, 0.5]])
    target = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.3, -0.2, 0.1], [0.0, 0.0, -0.5]])
    # 90° about z; 180° about y; identical; 0.5 and −0.5 rad about the same axis differ by 1 rad
    assert rotation_error_deg(pred, target).tolist() == pytest.approx([90.0, 180.0, 0.0, 57.29578], abs=1e-3)
    with pytest.raises(ValueError, match="axis-angle"):
        rotation_error_deg(torch.zeros(2, 4), torch.zeros(2, 4))


def test_facing_error_ignores_twist_about_the_forward_axis():
    from hmr_flow.metrics import facing_error_deg

    quarter = torch.pi / 2
    # a twist about the forward axis z keeps the facing; 90° about y turns +z to +x; 60° about x tilts it by 60°
    pred = torch.tensor([[0.0, 0.0, 1.2], [0.0, quarter, 0.0], [torch.pi / 3, 0.0, 0.0], [0.0, torch.pi, 0.0]])
    target = torch.zeros(4, 3)
    assert facing_error_deg(pred, target).tolist() == pytest.approx([0.0, 90.0, 60.0, 180.0], abs=1e-3)
    with pytest.raises(ValueError, match="NaN"):
        facing_error_deg(torch.full((1, 3), float("nan")), torch.zeros(1, 3))


def test_yaw_from_frontal_hand_computed():
    from hmr_flow.metrics import yaw_from_frontal_deg

    # facing the camera (OpenCV frame): the body's +Z maps to −z, e.g. 180° about x (y up → y down, z → −z);
    # then a further 30° turn about the camera's vertical axis y turns −z towards −x or +x
    facing = torch.tensor([torch.pi, 0.0, 0.0])
    turn = lambda deg: torch.tensor([0.0, torch.deg2rad(torch.tensor(deg)).item(), 0.0])  # noqa: E731
    from hmr_flow.geometry import axis_angle_to_matrix, matrix_to_axis_angle

    def compose(a, b):
        return matrix_to_axis_angle(axis_angle_to_matrix(a[None]) @ axis_angle_to_matrix(b[None]))[0]

    orientations = torch.stack([facing, compose(turn(30.0), facing), compose(turn(-30.0), facing),
                                torch.zeros(3)])
    # R_y(+30°)·(−z) = (−sin 30°, 0, −cos 30°): facing the image's left (−x) → −30°; the identity faces away
    assert yaw_from_frontal_deg(orientations).tolist() == pytest.approx([0.0, -30.0, 30.0, 180.0], abs=1e-3)
