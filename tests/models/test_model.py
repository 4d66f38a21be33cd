"""HMRFlow shapes, the mode-first contract, log-density and input checks."""

from __future__ import annotations

import pytest
import torch

from hmr_flow.geometry import rot6d_to_matrix
from hmr_flow.models import HMRFlow, pose_to_rot6d
from hmr_flow.models.model import POSE_DIM

TINY_SIZE = 64


@pytest.fixture(scope="module")
def model(tiny_config) -> HMRFlow:
    torch.manual_seed(0)
    net = HMRFlow(tiny_config())
    with torch.no_grad():  # move every parameter off its identity/zero initialisation
        for parameter in net.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return net.eval()


def test_sample_shapes_and_mode_first(model):
    images = torch.rand(3, 3, TINY_SIZE, TINY_SIZE)
    with torch.no_grad():
        samples = model.sample(images, 5)
        mode = model.flow.mode(model.encode(images))
    assert samples.pose6d.shape == (3, 5, POSE_DIM)
    assert samples.betas.shape == (3, 5, 10) and samples.camera.shape == (3, 5, 3)
    assert samples.axis_angle().shape == (3, 5, 72) and samples.rotmats().shape == (3, 5, 24, 3, 3)
    assert (samples.camera[..., 0] > 0).all()
    torch.testing.assert_close(samples.pose6d[:, 0], mode, rtol=1e-5, atol=1e-5)
    assert (samples.pose6d[:, 1:] - samples.pose6d[:, :1]).abs().amax() > 1e-2  # the others are random
    # per-sample heads: different poses give different betas/camera
    assert (samples.betas[:, 1:] - samples.betas[:, :1]).abs().amax() > 1e-6


def test_mode_is_the_density_maximum(model):
    images = torch.rand(2, 3, TINY_SIZE, TINY_SIZE)
    with torch.no_grad():
        samples = model.sample(images, 8)
        features = model.encode(images)
        densities = torch.stack([model.flow_log_prob(samples.pose6d[:, k], features) for k in range(8)], dim=1)
    assert torch.isfinite(densities).all()
    assert (densities[:, 0:1] > densities[:, 1:]).all()


def test_log_prob_accepts_axis_angle_matrices_and_6d(model):
    images = torch.rand(2, 3, TINY_SIZE, TINY_SIZE)
    pose = 0.3 * torch.randn(2, 72)
    with torch.no_grad():
        from_aa = model.log_prob(pose, images)
        from_6d = model.log_prob(pose_to_rot6d(pose), images)
        from_mats = model.log_prob(rot6d_to_matrix(pose_to_rot6d(pose).reshape(2, 24, 6)), images)
    assert from_aa.shape == (2,) and torch.isfinite(from_aa).all()
    torch.testing.assert_close(from_aa, from_6d)
    torch.testing.assert_close(from_aa, from_mats, rtol=1e-4, atol=1e-3)


def test_bad_inputs_are_reported(model):
    with pytest.raises(ValueError, match="images: expected"):
        model.sample(torch.rand(1, 3, TINY_SIZE + 32, TINY_SIZE), 2)
    with pytest.raises(ValueError, match="NaN"):
        model.sample(torch.full((1, 3, TINY_SIZE, TINY_SIZE), float("nan")), 2)
    with pytest.raises(ValueError, match="pose: expected"):
        model.log_prob(torch.zeros(1, 70), torch.rand(1, 3, TINY_SIZE, TINY_SIZE))
    with pytest.raises(ValueError, match="at least|≥ 1"):
        model.sample(torch.rand(1, 3, TINY_SIZE, TINY_SIZE), 0)


def test_keypoint_channels_change_the_features(tiny_config):
    torch.manual_seed(0)
    net = HMRFlow(tiny_config(keypoint_channels=True)).eval()
    images = torch.rand(1, 3, TINY_SIZE, TINY_SIZE)
    keypoints = torch.rand(1, 17, 2) * TINY_SIZE
    with torch.no_grad():
        without = net.encode(images)
        with_kp = net.encode(images, keypoints, torch.ones(1, 17))
        absent = net.encode(images, keypoints, torch.zeros(1, 17))
    assert (with_kp - without).abs().amax() > 1e-4
    torch.testing.assert_close(absent, without)
