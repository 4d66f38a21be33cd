"""Keypoint files read as a clip's frames: COCO images in id order, results lists numbered by image_id,
OpenPose folders in name order; repeated ids, unordered ids and frames of different sizes refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hmr_flow.fitting.keypoint_io import KeypointFileError
from hmr_flow.fitting.sequence_io import read_sequence, sequence_of_frames


def _points(x: float) -> list[float]:
    return [v for k in range(17) for v in (x + k, 100.0 + 10 * k, 2)]


def _coco(path, ids, annotated, sizes=None):
    sizes = sizes or {}
    images = [{"id": i, "file_name": f"f{i}.jpg", "width": sizes.get(i, (640, 480))[0],
               "height": sizes.get(i, (640, 480))[1]} for i in ids]
    annotations = [{"id": 10 + n, "image_id": i, "keypoints": _points(i)} for n, i in enumerate(annotated)]
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    return path


def test_coco_frames_follow_the_ids_not_the_list(tmp_path):
    sequence = read_sequence(_coco(tmp_path / "clip.json", [3, 1, 2, 0], [0, 1, 3]))
    assert sequence.name == "clip" and sequence.size == (640, 480) and sequence.keypoint_format == "coco17"
    assert sequence.frames.tolist() == [0, 1, 2, 3]
    assert [len(p) for p in sequence.people] == [1, 1, 0, 1]  # image id 2 has nobody
    assert [p[0, 0, 0] for p in sequence.people if len(p)] == [0.0, 1.0, 3.0]  # x of each frame's person = its id
    assert sequence.person_ids == [[10], [11], [], [12]]
    every = sequence.every(2)
    assert every.frames.tolist() == [0, 2] and [len(p) for p in every.people] == [1, 0]


def test_results_list_image_ids_are_frame_numbers(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps([{"image_id": 4, "category_id": 1, "keypoints": _points(4), "score": 0.9},
                                {"image_id": 1, "category_id": 1, "keypoints": _points(1), "score": 0.9},
                                {"image_id": 1, "category_id": 1, "keypoints": _points(50), "score": 0.8}]))
    sequence = read_sequence(path)
    assert sequence.frames.tolist() == [0, 1, 2, 3, 4] and sequence.size is None
    assert [len(p) for p in sequence.people] == [0, 2, 0, 0, 1]
    path.write_text(json.dumps([{"image_id": "a", "category_id": 1, "keypoints": _points(4)}]))
    with pytest.raises(KeypointFileError, match="image_id 'a' is not a frame number"):
        read_sequence(path)


def test_openpose_folder_frames_in_name_order(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    for i, name in enumerate(["b_002", "a_001", "c_003"]):
        person = [v for k in range(25) for v in (10.0 * k + i, 100.0 + 10 * k, 0.9)]
        (folder / f"{name}.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": person}]}))
    sequence = read_sequence(folder)
    assert sequence.name == "clip" and sequence.keypoint_format == "body25" and sequence.size is None
    assert [p[0, 0, 0] for p in sequence.people] == [1.0, 0.0, 2.0]  # a_001, b_002, c_003


@pytest.mark.parametrize(("ids", "sizes", "message"), [
    ([0, 1, 1], None, r"images\[1\] and images\[2\] have the same id 1"),
    ([0, "x"], None, "mix integers and strings"),
    ([0, 1], {1: (320, 240)}, "different sizes"),
])
def test_clips_that_cannot_be_one_camera_are_refused(tmp_path, ids, sizes, message):
    with pytest.raises(KeypointFileError, match=message):
        read_sequence(_coco(tmp_path / "bad.json", ids, [0], sizes))


def test_sequence_of_frames_drops_people_with_too_few_keypoints():
    few = np.zeros((17, 3), np.float32)
    few[:3, 2] = 1.0
    many = np.ones((17, 3), np.float32)
    sequence = sequence_of_frames("v", "v.mp4", [0, 2], [np.stack([few, many]), np.zeros((0, 17, 3))], (64, 48))
    assert [len(p) for p in sequence.people] == [1, 0] and sequence.person_ids == [[1], []]
    assert sequence.frames.tolist() == [0, 2] and sequence.size == (64, 48)
