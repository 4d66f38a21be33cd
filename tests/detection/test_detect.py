"""BlazePose on a real photo, the COCO file it writes, and the errors of ``hmr-flow detect``."""

import cv2
import numpy as np
import pytest

from hmr_flow.body import COCO17_NAMES
from hmr_flow.cli import main
from hmr_flow.detection import NoPersonError, detect_images
from hmr_flow.fitting import read_keypoints
from hmr_flow.fitting.keypoint_io import write_coco
from hmr_flow.images import ImageReadError, read_rgb

#: Hand-read from ``t_pose.jpg``: where each part of the man is (x0, y0, x1, y1) px, generous margins.
T_POSE_REGIONS = {
    "nose": (290, 15, 365, 90),
    "left_wrist": (520, 60, 660, 170),  # his left = the image's right
    "right_wrist": (10, 80, 150, 200),
    "left_hip": (320, 250, 420, 350),
    "right_hip": (240, 250, 340, 350),
    "left_ankle": (340, 520, 450, 620),
    "right_ankle": (210, 520, 320, 620),
}


def test_keypoints_of_a_t_pose_land_on_the_body_parts(blazepose, t_pose_photo):
    people = blazepose(read_rgb(t_pose_photo))
    assert len(people) == 1
    person = people[0]
    assert person.keypoints.shape == (17, 3) and 0.5 <= person.score <= 1.0
    for name, (x0, y0, x1, y1) in T_POSE_REGIONS.items():
        u, v, confidence = person.keypoints[COCO17_NAMES.index(name)]
        assert x0 <= u <= x1 and y0 <= v <= y1, f"{name} at ({u:.0f}, {v:.0f}), expected inside {(x0, y0, x1, y1)}"
        assert confidence > 0.5
    x0, y0, x1, y1 = person.box
    assert x0 < 120 and x1 > 560 and y0 < 60 and y1 > 560  # the landmark box spans the outstretched arms and feet


def test_given_boxes_restrict_the_search(blazepose, t_pose_photo):
    image = read_rgb(t_pose_photo)
    [person] = blazepose(image, boxes=np.array([[20.0, 10.0, 650.0, 640.0]]))
    nose = person.keypoints[COCO17_NAMES.index("nose")]
    assert 290 <= nose[0] <= 365 and 15 <= nose[1] <= 90


def test_coco_file_round_trips_through_the_keypoint_reader(blazepose, t_pose_photo, tmp_path):
    [detections] = detect_images([t_pose_photo], blazepose)
    path = write_coco(tmp_path / "sub" / "keypoints.json", [detections])
    [record] = read_keypoints(path)
    assert record.keypoint_format == "coco17" and record.image_size == (670, 649)
    assert record.image_path.resolve() == t_pose_photo.resolve()
    np.testing.assert_allclose(record.keypoints[0], detections.people[0].keypoints, atol=0.01)  # confidences kept
    assert not np.isin(record.keypoints[:, :, 2], [0.0, 1.0]).all()


def test_low_confidence_keypoints_are_kept(blazepose, t_pose_photo, tmp_path):
    image = read_rgb(t_pose_photo)
    image[330:, :] = 0  # black out the legs: their keypoints become unsure, not missing
    [person] = blazepose(image)
    legs = [COCO17_NAMES.index(n) for n in ("left_knee", "right_knee", "left_ankle", "right_ankle")]
    assert person.keypoints[legs, 2].max() < 0.5 < person.keypoints[COCO17_NAMES.index("nose"), 2]
    assert (person.keypoints[:, 2] > 0).all()


def test_detect_command_writes_a_readable_file_and_skips_empty_images(blazepose, t_pose_photo, tmp_path, caplog):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "person.jpg").write_bytes(t_pose_photo.read_bytes())
    cv2.imwrite(str(photos / "blank.png"), np.full((200, 300, 3), 128, np.uint8))
    out = tmp_path / "keypoints.json"
    assert main(["detect", "--images", str(photos), "--out", str(out)]) == 0
    records = read_keypoints(out)
    assert [r.name for r in records] == ["person"] and len(records[0].person_ids) == 1
    assert any("blank.png: no person found" in message for message in caplog.messages)


def test_no_person_anywhere_is_an_error_and_writes_nothing(blazepose, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((240, 320, 3), 200, np.uint8))
    with pytest.raises(NoPersonError, match="blank.png: no person found"):
        detect_images([blank], blazepose)
    out = tmp_path / "keypoints.json"
    assert main(["detect", "--image", str(blank), "--out", str(out)]) == 2
    assert "hmr-flow: error:" in capsys.readouterr().err and not out.exists()


def test_corrupt_or_missing_image_is_an_error(blazepose, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ImageReadError, match="corrupt.jpg"):
        detect_images([corrupt], blazepose)
    out = tmp_path / "keypoints.json"
    assert main(["detect", "--image", str(corrupt), "--out", str(out)]) == 2
    assert "corrupt.jpg: unreadable or corrupt image" in capsys.readouterr().err and not out.exists()
    assert main(["detect", "--images", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "--images is not a folder" in capsys.readouterr().err


def test_confidences_above_one_are_rejected(blazepose, t_pose_photo, tmp_path):
    import json

    from hmr_flow.fitting import KeypointFileError

    path = write_coco(tmp_path / "keypoints.json", detect_images([t_pose_photo], blazepose))
    data = json.loads(path.read_text())
    data["annotations"][0]["keypoints"][2] = 1.5
    path.write_text(json.dumps(data))
    with pytest.raises(KeypointFileError, match=r"annotations\[0\].keypoints has confidences above 1"):
        read_keypoints(path)
