"""KeypointBody reproduces the full body model's joints and keypoints."""

import torch

from hmr_flow.geometry import axis_angle_to_matrix


def test_matches_body_model(body, keypoint_body):
    torch.manual_seed(1)
    pose, betas, transl = 0.5 * torch.randn(3, 72), torch.randn(3, 10), torch.randn(3, 3)
    full = body(pose, betas, transl)
    sources = keypoint_body(axis_angle_to_matrix(pose.view(3, 24, 3)), betas, transl)
    assert torch.allclose(sources[:, :24], full.joints, atol=1e-5)
    assert torch.allclose(keypoint_body.keypoint_matrix("coco17") @ sources, full.coco17, atol=1e-5)
    assert torch.allclose(keypoint_body.keypoint_matrix("body25") @ sources, full.body25, atol=1e-5)


def test_gradients_flow_to_pose(keypoint_body):
    pose = torch.zeros(2, 24, 3, requires_grad=True)
    sources = keypoint_body(axis_angle_to_matrix(pose), torch.zeros(2, 10), torch.zeros(2, 3))
    sources[:, 20].sum().backward()  # left wrist depends on the left arm chain only
    assert pose.grad[:, 18].abs().sum() > 0 and pose.grad[:, 19].abs().sum() == 0
