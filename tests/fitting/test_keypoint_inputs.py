"""``hmr-flow fit`` from keypoint files as users have them (issue 14): COCO files without the photos, empty
frames in a folder run, COCO results lists, and COCO visibility flags that reach the fit as confidences."""

import json

import cv2
import numpy as np
import pytest
import torch
from fitting_cases import frontal_pose, render_keypoints

from hmr_flow.cli import main
from hmr_flow.fitting.keypoint_io import COCO_OCCLUDED_CONFIDENCE


@pytest.fixture(scope="module")
def coco_person(keypoint_body) -> list[float]:
    """One person's COCO-17 ``[x, y, v] * 17`` (v = 2) in a 1000 × 1000 image."""
    keypoints, _ = render_keypoints(keypoint_body, frontal_pose()[None], fmt="coco17")
    keypoints = keypoints[0].numpy().astype(float)
    keypoints[:, 2] = 2
    return keypoints.ravel().tolist()


def _fit(argv, capsys):
    code = main(["fit", "--prior", "none", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_coco_file_without_image_files_and_an_empty_image(tmp_path, coco_person, capsys):
    """No image file anywhere: the camera comes from ``images[].width/height``. An image without
    annotations is skipped and counted; v = 1 keypoints are kept at half confidence."""
    person = list(coco_person)
    person[3 * 9 + 2] = 1  # left wrist labelled but occluded
    data = {"images": [{"id": 1, "file_name": "shot.jpg", "width": 1000, "height": 1000},
                       {"id": 2, "file_name": "nobody.jpg", "width": 640, "height": 480}],
            "annotations": [{"id": 10, "image_id": 1, "keypoints": person}]}
    (tmp_path / "people.json").write_text(json.dumps(data))
    code, out, err = _fit(["--keypoints", tmp_path / "people.json", "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    assert "fitted 1 people in 1 images (1 images without people skipped)" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["shot_10.ply", "shot_params.npz"]
    with np.load(tmp_path / "out" / "shot_params.npz") as params:
        assert params["image_size"].tolist() == [1000, 1000]
        assert params["keypoints_observed"][0, 9, 2] == COCO_OCCLUDED_CONFIDENCE
        assert params["keypoints_observed"][0, 10, 2] == 1.0


def test_visibility_flags_reach_the_fit_weights(tmp_path, coco_person, capsys, monkeypatch):
    """COCO flags v = 2, 1, 0 arrive at the fitter as confidences 1, 0.5, 0, and the reprojection cost
    weighs each keypoint by its confidence (hand-computed: ``Σ_k w_k c_k ρ(r_k) / (2 σ_n²)``)."""
    import hmr_flow.fitting.pipeline as pipeline

    seen = []

    def spy(keypoint_body, keypoints, *args, **kwargs):
        seen.append(keypoints.clone())
        return fit_people(keypoint_body, keypoints, *args, **kwargs)

    fit_people = pipeline.fit_people
    monkeypatch.setattr(pipeline, "fit_people", spy)
    person = list(coco_person)
    person[3 * 9 + 2], person[3 * 10 + 2] = 1, 0
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 1000, "height": 1000}],
            "annotations": [{"id": 1, "image_id": 1, "keypoints": person}]}
    (tmp_path / "people.json").write_text(json.dumps(data))
    code, _, err = _fit(["--keypoints", tmp_path / "people.json", "--out", tmp_path / "out", "--iterations", 3], capsys)
    assert code == 0, err
    assert seen[0][0, 8:11, 2].tolist() == [1.0, COCO_OCCLUDED_CONFIDENCE, 0.0]

    from hmr_flow.fitting.losses import geman_mcclure, reprojection_loss

    observed = torch.tensor([[[0.0, 0.0, 1.0], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]]])
    projected = torch.tensor([[[3.0, 4.0], [6.0, 8.0], [1.0, 0.0]]])  # residuals 5, 10 and 1 px
    weights, scale, sigma, noise = torch.tensor([1.0, 2.0, 1.0]), torch.tensor([10.0]), 0.5, 0.1
    expected = (1.0 * 1.0 * geman_mcclure(torch.tensor(0.25), sigma) + 2.0 * 0.5 * geman_mcclure(torch.tensor(1.0), sigma)) / (2 * noise**2)
    torch.testing.assert_close(reprojection_loss(projected, observed, weights, scale, sigma, noise), expected[None])


def test_openpose_folder_with_an_empty_frame(tmp_path, keypoint_body, capsys, caplog):
    """Issue 14: one empty OpenPose frame stopped a whole folder run."""
    keypoints, _ = render_keypoints(keypoint_body, frontal_pose()[None], fmt="body25")
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "f000_keypoints.json").write_text(json.dumps({"version": 1.3, "people": []}))
    (frames / "f001_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": keypoints[0].flatten().tolist()}]}))
    code, out, err = _fit(["--keypoints", frames, "--image-size", 1000, 1000, "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    assert "fitted 1 people in 1 images (1 images without people skipped)" in out
    assert "1 of 2 images have no person with enough keypoints, skipped: f000_keypoints" in caplog.text
    assert (tmp_path / "out" / "f001_keypoints_params.npz").is_file()
    (frames / "f001_keypoints.json").unlink()
    code, _, err = _fit(["--keypoints", frames, "--image-size", 1000, 1000, "--out", tmp_path / "out2"], capsys)
    assert code == 2 and "no person with at least 6 keypoints in any of the 1 images" in err


def test_coco_results_list(tmp_path, coco_person, capsys):
    """Issue 14: a COCO results list was refused. It carries no image size: without the image or
    ``--image-size`` the error says what is missing; the photo beside it or ``--image-size`` gives it."""
    person = list(coco_person)
    person[2::3] = [0.9] * 17
    results = [{"image_id": 785, "category_id": 1, "keypoints": person, "score": 0.95,
                "keypoint_scores": [0.9] * 16 + [0.3]}]
    (tmp_path / "results.json").write_text(json.dumps(results))
    code, _, err = _fit(["--keypoints", tmp_path / "results.json", "--out", tmp_path / "o1"], capsys)
    assert code == 2 and "785: image size unknown" in err and "--image-size W H" in err
    code, _, err = _fit(["--keypoints", tmp_path / "results.json", "--image-size", 1000, 1000, "--out", tmp_path / "o2"], capsys)
    assert code == 0, err
    with np.load(tmp_path / "o2" / "785_params.npz") as params:
        assert params["image_size"].tolist() == [1000, 1000]
        np.testing.assert_allclose(params["keypoints_observed"][0, :, 2], [0.9] * 16 + [0.3], rtol=1e-6)
    cv2.imwrite(str(tmp_path / "000000000785.png"), np.full((1000, 800, 3), 90, np.uint8))  # COCO's name, beside it
    code, _, err = _fit(["--keypoints", tmp_path / "results.json", "--out", tmp_path / "o3"], capsys)
    assert code == 0, err
    with np.load(tmp_path / "o3" / "000000000785_params.npz") as params:
        assert params["image_size"].tolist() == [800, 1000]


def test_single_image_coco_file_with_image(tmp_path, coco_person, capsys):
    """Issue 14: ``--image photo.png`` with a one-image COCO file was taken for a folder."""
    data = {"images": [{"id": 1, "file_name": "IMG_0001.jpg"}], "annotations": [{"id": 3, "image_id": 1, "keypoints": coco_person}]}
    (tmp_path / "one.json").write_text(json.dumps(data))
    cv2.imwrite(str(tmp_path / "photo.png"), np.full((1000, 1000, 3), 90, np.uint8))
    code, _, err = _fit(["--keypoints", tmp_path / "one.json", "--image", tmp_path / "photo.png", "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    with np.load(tmp_path / "out" / "IMG_0001_params.npz") as params:
        assert params["image_size"].tolist() == [1000, 1000]
