"""The detector seam: any :class:`hmr_flow.detection.Detector` (BlazePose or a user's own) feeds the
detection run, and the people it finds reach fitting as records made in memory, equal to what the COCO
file written beside them reads back as."""

from __future__ import annotations

import json

import cv2
import numpy as np

from hmr_flow.detection import RECALL, BlazePose, DetectedPerson, Detector, detect_images, make_detector
from hmr_flow.detection.pipeline import DEFAULT_RECALL
from hmr_flow.fitting import read_keypoints
from hmr_flow.fitting.keypoint_io import detected_records


class BoxDetector:
    """A stand-in backend: one person per given box (or one fixed person), keypoints spread over the box."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[int, ...], object]] = []

    def __call__(self, image: np.ndarray, boxes: np.ndarray | None = None) -> list[DetectedPerson]:
        self.calls.append((image.shape, boxes))
        grid = np.stack(np.meshgrid(np.linspace(0.1, 0.9, 17), [0.5]), -1).reshape(17, 2)
        box = np.array([10.0, 20.0, 110.0, 220.0]) if boxes is None else np.asarray(boxes[0], float)
        points = box[:2] + grid * (box[2:] - box[:2])
        keypoints = np.concatenate([points, np.linspace(0.3, 1.0, 17)[:, None]], 1).astype(np.float32)
        return [DetectedPerson(keypoints, box.astype(np.float32), 0.9, "mine")]


def test_blazepose_and_a_users_detector_are_detectors():
    assert isinstance(BoxDetector(), Detector)
    assert issubclass(BlazePose, Detector)
    assert DEFAULT_RECALL in RECALL


def test_make_detector_searches_as_recall_says(blazepose):
    for recall, search in RECALL.items():
        assert make_detector(recall).search == search


def test_any_detector_feeds_the_run_and_the_records_equal_the_file(tmp_path):
    photo = tmp_path / "photos" / "a.png"
    photo.parent.mkdir()
    cv2.imwrite(str(photo), np.full((240, 160, 3), 128, np.uint8))
    detector = BoxDetector()
    boxes = {photo: np.array([[5.0, 5.0, 150.0, 230.0]])}
    detections = detect_images([photo], detector, boxes)
    assert detector.calls[0][0] == (240, 160, 3) and detections[0].size == (160, 240)
    path = tmp_path / "out" / "detected.json"
    path.parent.mkdir()
    records = detected_records(detections, path, min_keypoints=6)
    [again] = read_keypoints(path, min_keypoints=6)
    [record] = records
    assert record.source == again.source == path and record.name == again.name == "a"
    assert record.image_path.resolve() == again.image_path.resolve() == photo.resolve()
    assert record.image_size == again.image_size == (160, 240) and record.person_ids == again.person_ids == [1]
    np.testing.assert_array_equal(record.keypoints, again.keypoints)
    # the written values, rounded as written (2 decimals in pixels, 4 in confidence), not the detector's own
    person = detections[0].people[0].keypoints
    np.testing.assert_allclose(record.keypoints[0], person, atol=0.005)


def test_every_reader_resolves_the_written_file_names_alike(tmp_path, monkeypatch):
    """A detection file names each image relative to the images' folder and that folder relative to itself:
    read back with ``--images DIR`` or without it, from any working folder, each name finds its image (issue
    29: ``fit --keypoints k.json --images DIR`` looked for ``DIR/../DIR/x.jpg``)."""
    from hmr_flow.fitting.keypoint_io import write_coco

    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png"):
        cv2.imwrite(str(photos / name), np.full((240, 160, 3), 128, np.uint8))
    paths = [photos / "a.png", photos / "sub" / "b.png"]
    detections = detect_images(paths, BoxDetector())
    path = write_coco(tmp_path / "out" / "k.json", detections)
    document = json.loads(path.read_text())
    assert [image["file_name"] for image in document["images"]] == ["a.png", "sub/b.png"]
    assert document["info"]["images"] == "../photos"
    expected = [p.resolve() for p in paths]
    monkeypatch.chdir(tmp_path / "out")
    for images in (None, photos, "../photos"):
        records = read_keypoints("k.json", images)
        assert [r.image_path.resolve() for r in records] == expected, images
