"""``hmr-flow regress`` with the shipped keypoint model from keypoint files without images (issue 14):
COCO width/height, ``--image-size``, COCO results lists and empty frames."""

from __future__ import annotations

import json

import numpy as np

from hmr_flow.cli import main


def _person(scale: float = 1.0) -> list[float]:
    """A standing person's COCO-17 ``[x, y, v] * 17`` (v = 2) about 400 px tall, in a 640 × 480 image."""
    points = [(320, 80), (310, 70), (330, 70), (300, 75), (340, 75), (280, 130), (360, 130), (260, 200), (380, 200),
              (250, 260), (390, 260), (295, 260), (345, 260), (290, 360), (350, 360), (290, 450), (350, 450)]
    return [v for x, y in points for v in (x * scale, y * scale, 2)]


def _regress(argv, capsys):
    code = main(["regress", "-n", "3", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_coco_without_images_and_with_an_empty_image(tmp_path, capsys):
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480},
                       {"id": 2, "file_name": "empty.jpg", "width": 640, "height": 480}],
            "annotations": [{"id": 4, "image_id": 1, "keypoints": _person()}]}
    (tmp_path / "people.json").write_text(json.dumps(data))
    code, out, err = _regress(["--keypoints", tmp_path / "people.json", "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    assert "wrote hypotheses for 1 images (1 images without people skipped)" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_hypotheses.npz"]
    with np.load(tmp_path / "out" / "a_hypotheses.npz") as data:
        assert data["body_pose"].shape == (1, 3, 69) and data["principal_point"].tolist() == [320.0, 240.0]


def test_results_list_and_openpose_empty_frame(tmp_path, capsys):
    results = [{"image_id": "frame_1", "category_id": 1, "keypoints": _person(), "score": 0.9}]
    (tmp_path / "results.json").write_text(json.dumps(results))
    code, _, err = _regress(["--keypoints", tmp_path / "results.json", "--out", tmp_path / "o1"], capsys)
    assert code == 2 and "frame_1: image size unknown" in err and "--image-size" in err
    code, _, err = _regress(["--keypoints", tmp_path / "results.json", "--image-size", 640, 480, "--out", tmp_path / "o2"], capsys)
    assert code == 0, err
    assert (tmp_path / "o2" / "frame_1_hypotheses.npz").is_file()
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "f0_keypoints.json").write_text(json.dumps({"people": []}))
    coco = np.array(_person()).reshape(17, 3)
    body25 = np.zeros((25, 3))
    body25[[0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11]] = coco  # COCO-17 → BODY_25 slots
    body25[:, 2] = np.where(body25[:, 2] > 0, 0.9, 0.0)
    (frames / "f1_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": body25.ravel().tolist()}]}))
    code, out, err = _regress(["--keypoints", frames, "--image-size", 640, 480, "--out", tmp_path / "o3"], capsys)
    assert code == 0, err
    assert "(1 images without people skipped)" in out and (tmp_path / "o3" / "f1_keypoints_hypotheses.npz").is_file()
