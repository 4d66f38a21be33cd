"""``hmr-flow fit`` and ``regress`` without a keypoint file: they detect the people first."""

import cv2
import numpy as np

from hmr_flow.cli import main
from hmr_flow.fitting import read_keypoints


def test_fit_without_keypoints_detects_first(blazepose, t_pose_photo, tmp_path):
    out = tmp_path / "out"
    assert main(["fit", "--image", str(t_pose_photo), "--out", str(out), "--prior", "none", "--hypotheses", "1",
                 "--threads", "1", "--overlays"]) == 0
    [record] = read_keypoints(out / "detected_keypoints.json")
    with np.load(out / "t_pose_params.npz") as params:
        np.testing.assert_allclose(params["keypoints_observed"], record.keypoints)
        assert params["body_pose"].shape == (1, 69)
    assert (out / "t_pose_overlay.png").is_file() and (out / "t_pose_1.ply").is_file()


def test_fit_without_keypoints_or_images_is_an_error(tmp_path, capsys):
    assert main(["fit", "--out", str(tmp_path / "o")]) == 2
    assert "give --keypoints, or --image/--images" in capsys.readouterr().err


def test_fit_on_a_photo_without_people_writes_nothing(blazepose, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((240, 320, 3), 200, np.uint8))
    out = tmp_path / "out"
    assert main(["fit", "--image", str(blank), "--out", str(out), "--prior", "none", "--hypotheses", "1"]) == 2
    assert "blank.png: no person found" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_regress_without_boxes_detects_first(blazepose, t_pose_photo, tmp_path):
    out = tmp_path / "out"
    assert main(["regress", "--image", str(t_pose_photo), "--out", str(out), "--hypotheses", "2"]) == 0
    [record] = read_keypoints(out / "detected_keypoints.json")
    with np.load(out / "t_pose_hypotheses.npz") as data:
        assert data["global_orient"].shape == (1, 2, 3) and data["body_pose"].shape == (1, 2, 69)
        box = data["boxes"][0]
    u, v = record.keypoints[0, :, 0], record.keypoints[0, :, 1]
    assert box[0] <= u.min() and box[2] >= u.max() and box[1] <= v.min() and box[3] >= v.max()
