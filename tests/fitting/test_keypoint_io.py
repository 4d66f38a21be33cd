"""Keypoint file reading: OpenPose and COCO formats, and clear errors for bad files."""

import json

import numpy as np
import pytest

from hmr_flow.fitting import KeypointFileError, read_coco, read_keypoints, read_openpose


def _openpose(path, people):
    path.write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": p} for p in people]}))
    return path


def _person(k, confidence=0.9):
    return [v for i in range(k) for v in (10.0 * i, 5.0 * i, confidence)]


def test_openpose_reads_people_and_skips_sparse_ones(tmp_path):
    sparse = _person(25, 0.0)
    sparse[2] = sparse[5] = 0.8  # two visible keypoints only
    record = read_openpose(_openpose(tmp_path / "a_keypoints.json", [_person(25), sparse]), min_keypoints=6)
    assert record.keypoint_format == "body25" and record.keypoints.shape == (1, 25, 3)
    assert record.keypoints[0, 3].tolist() == pytest.approx([30.0, 15.0, 0.9])
    assert record.person_ids == [0] and "person 1: 2 visible keypoints < 6" in record.skipped[0]


def test_openpose_finds_image_by_stem(tmp_path):
    _openpose(tmp_path / "shot_keypoints.json", [_person(25)])
    (tmp_path / "shot.png").write_bytes(b"")
    [record] = read_keypoints(tmp_path / "shot_keypoints.json", images=tmp_path)
    assert record.image_path == tmp_path / "shot.png"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("{not json", "not valid JSON"),
        (json.dumps({"people": []}), "'people' list is empty"),
        (json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 51}]}), "has 51 numbers, expected 75"),
        (json.dumps({"people": [{"pose_keypoints_2d": ["a"] * 75}]}), "non-numeric"),
        (json.dumps({"people": [{"face": []}]}), "no 'pose_keypoints_2d'"),
        (json.dumps([1, 2]), "not an OpenPose file"),
    ],
)
def test_openpose_errors_name_file_and_problem(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(KeypointFileError, match=message) as info:
        read_keypoints(path)
    assert str(path) in str(info.value)


def test_coco_groups_by_image_and_maps_visibility(tmp_path):
    keypoints = _person(17, 2.0)
    keypoints[2], keypoints[5] = 0.0, 1.0  # unlabelled, labelled-occluded
    data = {
        "images": [{"id": 7, "file_name": "x.jpg", "width": 64, "height": 48}],
        "annotations": [
            {"image_id": 7, "id": 70, "keypoints": keypoints, "iscrowd": 0},
            {"image_id": 7, "id": 71, "keypoints": [0.0] * 51, "iscrowd": 1},
        ],
    }
    (tmp_path / "ann.json").write_text(json.dumps(data))
    [record] = read_coco(tmp_path / "ann.json", images_dir=tmp_path / "imgs")
    assert record.name == "x" and record.image_size == (64, 48) and record.person_ids == [70]
    assert record.image_path == tmp_path / "imgs" / "x.jpg"
    np.testing.assert_array_equal(record.keypoints[0, :3, 2], [0.0, 1.0, 1.0])


def test_coco_wrong_keypoint_count(tmp_path):
    data = {"images": [{"id": 1, "file_name": "x.jpg"}], "annotations": [{"image_id": 1, "keypoints": [1.0] * 75}]}
    (tmp_path / "ann.json").write_text(json.dumps(data))
    with pytest.raises(KeypointFileError, match="75 numbers, expected 51"):
        read_keypoints(tmp_path / "ann.json")


def test_coco_unknown_image(tmp_path):
    data = {"images": [], "annotations": [{"image_id": 3, "keypoints": [1.0] * 51}]}
    (tmp_path / "ann.json").write_text(json.dumps(data))
    with pytest.raises(KeypointFileError, match="unknown image_id 3"):
        read_keypoints(tmp_path / "ann.json")


def test_empty_folder(tmp_path):
    with pytest.raises(KeypointFileError, match="no .json keypoint files"):
        read_keypoints(tmp_path)
