"""Detect the people of every frame of a video (what ``hmr-flow fit --video`` runs first), frame by frame,
and write them as a COCO file whose image ids are the frame numbers.

Only keypoints are kept (never the frames), so memory does not grow with the clip. A frame without anyone
is kept as a frame with no people (the tracks bridge it); when no frame has anyone, :class:`NoPersonError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import json

from tqdm.auto import tqdm

from hmr_flow.detection.coco import ImageDetections, coco_document
from hmr_flow.detection.pipeline import BlazePose, DetectedPerson
from hmr_flow.detection.run import NoPersonError
from hmr_flow.files import write_text
from hmr_flow.video import read_frames, video_info

log = logging.getLogger(__name__)


@dataclass
class FrameDetections:
    """The people found in frame ``index`` (0-based in the video) of a clip of frame size ``size`` ``(W, H)``."""

    index: int
    size: tuple[int, int]
    people: list[DetectedPerson]


def detect_video(path: str | Path, detector: BlazePose, every: int = 1) -> list[FrameDetections]:
    """The people of every ``every``-th frame of ``path`` (progress bar over frames).

    Raises:
        hmr_flow.video.VideoReadError: the video cannot be read (missing, not decodable, no frames, a frame
            of another size).
        NoPersonError: nobody in any frame.
    """
    info = video_info(path)
    found = []
    for index, frame in tqdm(read_frames(path, every), desc="detecting", unit="frame"):
        found.append(FrameDetections(index, info.size, detector(frame)))
    if not any(frame.people for frame in found):
        raise NoPersonError(f"{path}: no person found in any of its {len(found)} frames")
    return found


def write_frames_coco(path: str | Path, video: str | Path, detections: list[FrameDetections]) -> Path:
    """Write ``detections`` as a COCO file: one image per frame, ``id`` the frame number, ``file_name``
    ``<video stem>_<frame>.jpg`` (no such file: width and height give the camera). ``hmr-flow fit
    --keypoints FILE --sequence`` reads it back (its frames then numbered 0, 1, … in id order)."""
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
