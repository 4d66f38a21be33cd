"""Pinhole projection by hand-computed cases."""

from __future__ import annotations

import pytest
import torch

from hmr_flow.geometry import default_focal, project_points, smpl_to_camera_rotation


def test_projection_matches_hand_computation():
    points = torch.tensor([[[0.0, 0.0, 2.0], [1.0, -0.5, 4.0]]])
    uv = project_points(points, 100.0, (50.0, 40.0))
    assert torch.allclose(uv, torch.tensor([[[50.0, 40.0], [75.0, 27.5]]]))
    per_batch = project_points(points.repeat(2, 1, 1), torch.tensor([100.0, 200.0]), image_size=(100, 80))
    assert torch.allclose(per_batch[1, 1], torch.tensor([100.0, 15.0]))
    fxfy = project_points(points, torch.tensor([[100.0, 50.0]]), image_size=(100, 80))
    assert torch.allclose(fxfy[0, 1], torch.tensor([75.0, 33.75]))


def test_smpl_up_becomes_image_up():
    head, feet = torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, -1.0, 0.0])
    rot = smpl_to_camera_rotation()
    cam = torch.stack([rot @ head, rot @ feet])[None] + torch.tensor([0.0, 0.0, 5.0])
    uv = project_points(cam, 100.0, image_size=(100, 100))
    assert uv[0, 0, 1] < uv[0, 1, 1]  # head above feet in the image (v grows downwards)
    assert default_focal(300, 400) == pytest.approx(500.0)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="points"):
        project_points(torch.zeros(2, 3), 1.0, (0.0, 0.0))
    with pytest.raises(ValueError, match="focal"):
        project_points(torch.ones(2, 4, 3), torch.ones(3), (0.0, 0.0))
    with pytest.raises(ValueError, match="principal_point"):
        project_points(torch.ones(1, 4, 3), 1.0)
