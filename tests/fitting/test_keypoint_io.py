"""Keypoint file reading: OpenPose and COCO formats, and clear errors for bad files."""

import json

import numpy as np
import pytest

from hmr_flow.fitting import KeypointFileError, read_coco, read_keypoints, read_openpose
from hmr_flow.fitting.keypoint_io import COCO_OCCLUDED_CONFIDENCE


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
        (json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 51}]}), "has 51 numbers, expected 75"),
        (json.dumps({"people": [{"pose_keypoints_2d": ["a"] * 75}]}), "non-numeric"),
        (json.dumps({"people": [{"face": []}]}), "no 'pose_keypoints_2d'"),
        (json.dumps({"frames": []}), "not an OpenPose file"),
        (json.dumps([1, 2]), "not a COCO results list"),
        (json.dumps([]), "not a COCO results list"),
        (json.dumps([{"image_id": 1, "keypoints": [1.0] * 51, "keypoint_scores": [0.5] * 16}]), "17 finite numbers"),
    ],
)
def test_openpose_errors_name_file_and_problem(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(KeypointFileError, match=message) as info:
        read_keypoints(path)
    assert str(path) in str(info.value)


def test_openpose_empty_frame_is_an_image_without_people(tmp_path):
    """Issue 14: one empty OpenPose frame (``people: []``) stopped a whole folder run; it is now a record
    without people, read with the others."""
    (tmp_path / "f0_keypoints.json").write_text(json.dumps({"version": 1.3, "people": []}))
    _openpose(tmp_path / "f1_keypoints.json", [_person(25)])
    empty, full = read_keypoints(tmp_path)
    assert (empty.name, empty.keypoints.shape, empty.person_ids) == ("f0_keypoints", (0, 25, 3), [])
    assert full.keypoints.shape == (1, 25, 3)


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
    # v = 0 → 0, v = 1 (occluded: the annotator's guess) → half weight, v = 2 → 1 (issue 14: v = 1 became 1)
    np.testing.assert_array_equal(record.keypoints[0, :3, 2], [0.0, COCO_OCCLUDED_CONFIDENCE, 1.0])
    assert COCO_OCCLUDED_CONFIDENCE == 0.5


def test_coco_image_without_annotations_is_an_image_without_people(tmp_path):
    data = {"images": [{"id": 1, "file_name": "empty.jpg", "width": 64, "height": 48},
                       {"id": 2, "file_name": "one.jpg", "width": 64, "height": 48}],
            "annotations": [{"image_id": 2, "id": 5, "keypoints": _person(17, 2.0)}]}
    (tmp_path / "ann.json").write_text(json.dumps(data))
    empty, one = read_keypoints(tmp_path / "ann.json")
    assert (empty.name, empty.person_ids, empty.keypoints.shape, empty.image_size) == ("empty", [], (0, 17, 3), (64, 48))
    assert (one.name, one.person_ids) == ("one", [5])


def test_single_image_coco_file_with_its_photo(tmp_path):
    """``--image photo.jpg`` with a one-image COCO file: the photo is that image, whatever its file_name."""
    data = {"images": [{"id": 1, "file_name": "elsewhere/IMG_1.jpg"}], "annotations": [{"image_id": 1, "keypoints": _person(17, 2.0)}]}
    (tmp_path / "ann.json").write_text(json.dumps(data))
    (tmp_path / "photo.jpg").write_bytes(b"")
    [record] = read_keypoints(tmp_path / "ann.json", images=tmp_path / "photo.jpg")
    assert record.image_path == tmp_path / "photo.jpg" and record.keypoints.shape == (1, 17, 3)


def test_coco_results_list(tmp_path):
    """Issue 14: a COCO results list (mmpose, rtmlib, detectron2) was refused as "not an OpenPose file".
    Per-keypoint confidences: ``keypoint_scores`` where given, else the third value, clipped to [0, 1]."""
    third = _person(17, 0.7)
    third[2], third[5] = 3.5, -1.0  # detectron2-style logits
    results = [
        {"image_id": 785, "category_id": 1, "keypoints": third, "score": 0.9},
        {"image_id": 785, "category_id": 1, "keypoints": _person(17, 2.0), "score": 0.8,
         "keypoint_scores": [0.25] * 16 + [0.0]},
        {"image_id": 785, "category_id": 2, "keypoints": [0.0] * 51, "score": 0.5},  # not a person
        {"image_id": "frame_7", "category_id": 1, "keypoints": _person(17, 0.6), "score": 0.7},
    ]
    (tmp_path / "res.json").write_text(json.dumps(results))
    (tmp_path / "000000000785.jpg").write_bytes(b"")  # COCO's zero-padded name, beside the file
    coco, frame = read_keypoints(tmp_path / "res.json")
    assert (coco.name, coco.image_path, coco.image_size, coco.person_ids) == ("000000000785", tmp_path / "000000000785.jpg",
                                                                             None, [0, 1])
    np.testing.assert_allclose(coco.keypoints[0, :3, 2], [1.0, 0.0, 0.7])
    np.testing.assert_allclose(coco.keypoints[1, :, 2], [0.25] * 16 + [0.0])
    assert (frame.name, frame.image_path, frame.person_ids) == ("frame_7", None, [3])
    with pytest.raises(KeypointFileError, match="results for 2 images, but one image file given"):
        read_keypoints(tmp_path / "res.json", images=tmp_path / "000000000785.jpg")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "frame_7.png").write_bytes(b"")
    (tmp_path / "sub" / "clip 2.jpg").write_bytes(b"")
    results[3]["image_id"] = "sub/clip 2.jpg"  # an id that names the file
    (tmp_path / "res2.json").write_text(json.dumps(results[3:] + [{**results[3], "image_id": "sub/frame_7"}]))
    named, stem = read_keypoints(tmp_path / "res2.json")
    assert (named.image_path, stem.image_path) == (tmp_path / "sub" / "clip 2.jpg", tmp_path / "sub" / "frame_7.png")


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
