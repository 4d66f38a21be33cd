"""``regress`` on a photo-sized image and the ``regress`` command end to end (tiny untrained model)."""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest
import torch

from hmr_flow.fitting.initialisation import Initialisation
from hmr_flow.geometry import project_points
from hmr_flow.models import HMRFlow, regress, save_checkpoint
from hmr_flow.models.camera import camera_to_translation
from hmr_flow.commands.regress import register


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory, tiny_config):
    torch.manual_seed(0)
    model = HMRFlow(tiny_config()).eval()
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_checkpoint(path, {"config": model.config.to_dict(), "model": model.state_dict()})
    return model, path


def test_regress_returns_full_image_hypotheses(tiny_weights):
    model, _ = tiny_weights
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    box = np.array([[200.0, 60.0, 260.0, 200.0]])
    hyps = regress(model, image, box, n=3, focal=500.0)
    assert hyps.pose.shape == (1, 3, 72) and hyps.betas.shape == (1, 3, 10) and hyps.transl.shape == (1, 3, 3)
    init = hyps.initialisation()
    assert isinstance(init, Initialisation) and init.num_hypotheses == 3
    # the body origin projects, in the full image, where the crop camera put it, mapped back to the image
    side, centre = float(hyps.crop_sizes[0]), hyps.crop_centres[0]
    crop_t = camera_to_translation(hyps.camera[0], 500.0 * 64 / side, 64)
    uv_crop = project_points(crop_t[None], 500.0 * 64 / side, principal_point=(32.0, 32.0))[0]
    uv_full = project_points(hyps.transl[0][None], 500.0, principal_point=(160.0, 120.0))[0]
    torch.testing.assert_close(uv_full, (uv_crop - 32) * side / 64 + centre, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="boxes 10 10 5 50: expected X0 < X1"):
        regress(model, image, np.array([[10.0, 10.0, 5.0, 50.0]]))


def test_regress_command_writes_npz_and_grid(tiny_weights, tmp_path, capsys):
    from hmr_flow.cli import main

    _, weights = tiny_weights
    image = np.full((120, 160, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / "photo.png"), image)
    people = [{"pose_keypoints_2d": [v for k in range(25) for v in (60 + 2 * k, 20 + 3 * k, 0.9)]}]
    (tmp_path / "kp.json").write_text(json.dumps({"people": people}))
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["regress", "--image", str(tmp_path / "photo.png"), "--keypoints", str(tmp_path / "kp.json"),
                              "-n", "2", "--out", str(tmp_path / "out"), "--model-weights", str(weights)])
    assert args.run(args) == 0
    with np.load(tmp_path / "out" / "kp_hypotheses.npz") as data:
        assert data["global_orient"].shape == (1, 2, 3) and data["body_pose"].shape == (1, 2, 69)
        assert data["transl"].shape == (1, 2, 3) and data["log_prob"].shape == (1, 2)
    grid = cv2.imread(str(tmp_path / "out" / "kp_grid.png"))
    assert grid is not None and grid.shape[0] > 0
    code = main(["regress", "--image", str(tmp_path / "missing.png"), "--out", str(tmp_path / "o2"), "--model-weights", str(weights)])
    assert code == 2 and "missing.png" in capsys.readouterr().err


def test_posed_points_follow_each_hypothesis(tiny_weights):
    from hmr_flow.body import BodyModel
    from hmr_flow.body.keypoint_body import KeypointBody
    from hmr_flow.geometry import axis_angle_to_matrix

    model, _ = tiny_weights
    body = KeypointBody(BodyModel())
    hyps = regress(model, np.full((240, 320, 3), 120, np.uint8), np.array([[40, 30, 140, 220], [180, 20, 300, 230]]), n=3)
    points = hyps.posed_points(body)
    assert points.shape[:3] == (2, 3, body.coco17_matrix.shape[1]) and points.shape[-1] == 3
    person, index = 1, 2  # one hypothesis computed on its own lands at the same place in the batch
    alone = body(axis_angle_to_matrix(hyps.pose[person, index].reshape(1, 24, 3)), hyps.betas[person, index][None],
                 hyps.transl[person, index][None])
    torch.testing.assert_close(points[person, index], alone[0])


def test_load_model_defaults_to_the_shipped_keypoint_model_frozen():
    from hmr_flow.models import load_model
    from hmr_flow.models.checkpoint import DEFAULT_KEYPOINT_WEIGHTS, read_checkpoint

    model = load_model()
    assert model.config.to_dict() == read_checkpoint(DEFAULT_KEYPOINT_WEIGHTS)["config"]
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_the_fitting_weight_travels_with_the_exported_weights(tmp_path, tiny_config):
    """``export_weights(fit_weight=)`` stores the model's weight as a fitting prior; the loaded model and its
    ConditionalPrior use it; weights without one get the default; a bad stored value is refused."""
    from hmr_flow.models import ConditionalPrior, load_model
    from hmr_flow.models.checkpoint import CheckpointError, export_weights, read_checkpoint

    model = HMRFlow(tiny_config(rgb=False, keypoint_channels=True)).eval()
    checkpoint = save_checkpoint(tmp_path / "tiny.pt", {"config": model.config.to_dict(), "model": model.state_dict()})
    exported = export_weights(checkpoint, tmp_path / "w.pt", note="test", fit_weight=1.25)
    model = load_model(exported)
    assert model.fit_weight == 1.25
    keypoints = np.concatenate([np.random.default_rng(0).uniform(100, 300, (1, 17, 2)), np.ones((1, 17, 1))], -1)
    assert ConditionalPrior(model, keypoints).fit_weight == 1.25
    assert load_model(checkpoint).fit_weight == HMRFlow.fit_weight
    data = read_checkpoint(exported)
    save_checkpoint(tmp_path / "bad.pt", {**{k: v for k, v in data.items() if k not in ("format", "version")},
                                          "fit_weight": "heavy"})
    with pytest.raises(CheckpointError, match="fit_weight"):
        load_model(tmp_path / "bad.pt")
