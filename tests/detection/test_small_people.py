"""Finding the small people of a real COCO photo (needs ../shared/data), and the searches ``--recall`` picks."""

import json

import numpy as np
import pytest

from hmr_flow.cli import main
from hmr_flow.detection import NoPersonError
from hmr_flow.detection.nms import box_iou
from hmr_flow.detection.pipeline import RECALL
from hmr_flow.fitting import read_keypoints

#: COCO 129648 (skate bowl, 640×427): person 1306934, a boy at the top right, 41×112 px of keypoints,
#: stood among others and cut by nothing; the person detector on the whole image misses him, his face
#: (16 px) proposes him.
PHOTO, PERSON = "000000129648", 1306934


def _keypoint_box(keypoints: np.ndarray) -> np.ndarray:
    points = keypoints[keypoints[:, 2] > 0, :2]
    return np.concatenate([points.min(0), points.max(0)])


def test_detect_finds_a_small_person_in_a_coco_photo(shared_data, blazepose, tmp_path):
    coco = shared_data / "images" / "coco"
    annotation = next(a for a in json.loads((coco / "person_keypoints.json").read_text())["annotations"]
                      if a["id"] == PERSON)
    target = _keypoint_box(np.asarray(annotation["keypoints"], np.float64).reshape(17, 3))
    assert target[3] - target[1] < 120  # small: under 120 px tall
    out = tmp_path / "keypoints.json"
    assert main(["detect", "--image", str(coco / f"{PHOTO}.jpg"), "--out", str(out)]) == 0
    [record] = read_keypoints(out, min_keypoints=0)
    overlaps = box_iou(target[None], np.stack([_keypoint_box(k) for k in record.keypoints]))[0]
    assert overlaps.max() >= 0.5, f"best keypoint-box IoU with person {PERSON}: {overlaps.max():.2f}"


@pytest.mark.parametrize("command", ["fit", "regress"])
@pytest.mark.parametrize("recall", ["fast", "high"])
def test_fit_and_regress_detect_with_the_searches_of_recall(command, recall, t_pose_photo, tmp_path, monkeypatch):
    import hmr_flow.detection as detection

    used = []

    def detect_images(paths, detector=None, boxes=None):
        used.append(detector.search)
        raise NoPersonError(f"{paths[0]}: no person found")

    monkeypatch.setattr(detection, "detect_images", detect_images)
    argv = [command, "--image", str(t_pose_photo), "--out", str(tmp_path / "out")]
    assert main(argv + ([] if recall == "fast" else ["--recall", recall])) == 2
    assert used == [RECALL[recall]]
