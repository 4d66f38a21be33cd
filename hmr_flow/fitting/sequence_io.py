"""Keypoint files read as the frames of one clip (``hmr-flow fit --keypoints … --sequence``).

What a frame is, per format (the readers are :mod:`hmr_flow.fitting.keypoint_io`'s):

- a COCO keypoint file: its images in ``id`` order (integer ids, or all strings), frame ``i`` the
  ``i``-th; an image without annotations is a frame without people. Ids must not repeat;
- a COCO results list: ``image_id`` is the frame number (integers ≥ 0); numbers without an entry are
  frames where the detector found nobody, up to the largest number;
- a folder of OpenPose JSON files, one per frame, in name order.

People with fewer than ``min_keypoints`` keypoints are dropped as for images (their frame counts as
missed for their track). Every frame must have the same size: from the COCO ``width``/``height`` (which
must then agree), else given (``--image-size``, or the video's frames).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hmr_flow.body.keypoints import num_keypoints
from hmr_flow.fitting.keypoint_io import (
    KeypointFileError,
    KeypointImage,
    coco_document,
    load_keypoint_json,
    read_keypoints,
)
from hmr_flow.files import write_text

if TYPE_CHECKING:
    from hmr_flow.detection.video import FrameDetections


@dataclass
class KeypointSequence:
    """The people of ``F`` frames of one clip.

    Attributes:
        name: stem of the output files (the keypoint file's or folder's, or the video's).
        frames: ``(F,)`` frame numbers, 0-based (for a COCO file: the image's index in ``id`` order).
        people: per frame, ``(P_t, K, 3)`` float32 ``(u, v, confidence)`` pixels.
        person_ids: per frame, the ``P_t`` people's labels in the file (annotation id, list index).
        keypoint_format: ``'coco17'`` or ``'body25'``.
        size: ``(W, H)`` pixels, or ``None`` when the files do not say.
        source: the keypoint file or folder (or the video).
        skipped: messages about people dropped for too few keypoints.
    """

    name: str
    frames: np.ndarray
    people: list[np.ndarray]
    person_ids: list[list[int]]
    keypoint_format: str
    size: tuple[int, int] | None
    source: Path
    skipped: list[str] = field(default_factory=list)

    def every(self, step: int) -> KeypointSequence:
        """The frames whose number is a multiple of ``step`` (``--every``)."""
        keep = [i for i, frame in enumerate(self.frames) if frame % step == 0]
        return KeypointSequence(self.name, self.frames[keep], [self.people[i] for i in keep],
                                [self.person_ids[i] for i in keep], self.keypoint_format, self.size, self.source,
                                self.skipped)


def _sorted_ids(path: Path, records: list[KeypointImage]) -> list[KeypointImage]:
    ids = [record.image_id for record in records]
    if not (all(isinstance(i, int) for i in ids) or all(isinstance(i, str) for i in ids)):
        raise KeypointFileError(f"{path}: image ids mix integers and strings: the frames have no order")
    return sorted(records, key=lambda record: record.image_id)


def _results_frames(path: Path, records: list[KeypointImage]) -> tuple[np.ndarray, list[KeypointImage | None]]:
    """Frame numbers ``0 … max image_id`` of a results list and each frame's record (``None``: nobody)."""
    bad = [r.image_id for r in records if not isinstance(r.image_id, int) or r.image_id < 0]
    if bad:
        raise KeypointFileError(f"{path}: image_id {bad[0]!r} is not a frame number (an integer ≥ 0, as a sequence's "
                                f"results list needs)")
    by_frame = {record.image_id: record for record in records}
    count = max(by_frame) + 1
    return np.arange(count), [by_frame.get(frame) for frame in range(count)]


def _frame_size(path: Path, records: list[KeypointImage]) -> tuple[int, int] | None:
    sizes = {tuple(record.image_size) for record in records if record.image_size is not None}
    if len(sizes) > 1:
        first, other = sorted(sizes)[:2]
        raise KeypointFileError(f"{path}: the frames have different sizes ({first[0]}×{first[1]} and {other[0]}×"
                                f"{other[1]} pixels): a sequence is one camera, one frame size")
    return sizes.pop() if sizes else None


def read_sequence(path: str | Path, min_keypoints: int = 6) -> KeypointSequence:
    """The frames of the keypoint file or folder ``path`` (see the module docstring).

    Raises:
        KeypointFileError: an unreadable file (as :func:`~hmr_flow.fitting.read_keypoints`), repeated image
            ids, ids that cannot be ordered or are not frame numbers, frames of different sizes, or a folder
            holding anything but one OpenPose file per frame.
    """
    path = Path(path)
    data = None if path.is_dir() else load_keypoint_json(path)  # parsed once: it also tells a results list apart
    records = read_keypoints(path, None, min_keypoints, data)
    if path.is_dir():
        if any(record.keypoint_format != "body25" or record.image_id is not None for record in records):
            raise KeypointFileError(f"{path}: a sequence folder holds one OpenPose file per frame (COCO files found: "
                                    f"give the file itself)")
        frames, ordered = np.arange(len(records)), list(records)
    elif isinstance(data, list):
        frames, ordered = _results_frames(path, records)
    else:
        ordered = _sorted_ids(path, records)
        frames = np.arange(len(ordered))
    kept = [record for record in ordered if record is not None]
    formats = {record.keypoint_format for record in kept}
    keypoint_format = formats.pop()
    empty = np.zeros((0, num_keypoints(keypoint_format), 3), np.float32)
    people = [record.keypoints if record is not None else empty for record in ordered]
    ids = [list(record.person_ids) if record is not None else [] for record in ordered]
    return KeypointSequence(path.stem if path.is_file() else path.name, frames, people, ids, keypoint_format,
                            _frame_size(path, kept), path, [message for record in kept for message in record.skipped])


def sequence_of_frames(name: str, source: Path, frames: list[int], people: list[np.ndarray], size: tuple[int, int],
                       min_keypoints: int = 6) -> KeypointSequence:
    """A COCO-17 sequence from keypoints already in memory (e.g. detected in a video's ``frames``): per
    frame ``(P_t, 17, 3)``; people with fewer than ``min_keypoints`` keypoints of positive confidence dropped."""
    kept, ids = [], []
    for points in people:
        points = np.asarray(points, np.float32).reshape(-1, 17, 3)
        enough = (points[..., 2] > 0).sum(1) >= min_keypoints
        kept.append(points[enough])
        ids.append([int(i) for i in np.flatnonzero(enough)])
    return KeypointSequence(name, np.asarray(frames, np.int64), kept, ids, "coco17", tuple(size), Path(source))


def write_frames_coco(path: str | Path, video: str | Path, detections: list[FrameDetections]) -> Path:
    """Write the people detected in a video's frames (:func:`hmr_flow.detection.video.detect_video`) as a COCO
    file: one image per frame, ``id`` the frame number, ``file_name`` ``<video stem>_<frame>.jpg`` (no such
    file: width and height give the camera). ``hmr-flow fit --keypoints FILE --sequence`` reads it back (its
    frames then numbered 0, 1, … in id order)."""
    from hmr_flow.detection import ImageDetections

    path, stem = Path(path), Path(video).stem.replace("%", "")
    images = [ImageDetections(path.parent / f"{stem}_{d.index:06d}.jpg", d.size, d.people) for d in detections]
    document = coco_document(images, path.parent)
    numbers = {image["id"]: d.index for image, d in zip(document["images"], detections)}
    for image in document["images"]:
        image["id"] = numbers[image["id"]]
    for annotation in document["annotations"]:
        annotation["image_id"] = numbers[annotation["image_id"]]
    document["info"]["description"] = f"people detected by hmr-flow (BlazePose) in the frames of {Path(video).name}"
    return write_text(path, json.dumps(document, indent=1))
