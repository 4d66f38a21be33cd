"""Photo → people's COCO-17 keypoints with BlazePose: person detection (whole image, optionally plus
overlapping tiles for small people), 33 landmarks per person, then non-maximum suppression.

Steps for an ``(H, W, 3)`` uint8 RGB image:

1. Person candidates: the detector runs on the whole image and, for ``tile_levels`` ≥ 1, on square
   tiles of side ``max(W, H) / 2^level`` overlapping by half (or, when ``boxes`` are given, on the
   region around each box; a box with no detection gets an upright ROI around it).
2. Landmarks: the 256×256 network on each candidate's rotated ROI (when it sees no one there, once
   more on the ROI turned upright: the detector's rotation is sometimes far off); with ``refine``, run once more on
   the ROI re-centred on the person's own hip centre and body size (landmarks 33/34, as MediaPipe
   does between video frames), which centres people found from a partial view.
3. People whose pose-presence score is below ``min_presence`` are dropped; duplicates (the same person
   found from several tiles) are removed by NMS on the boxes of their 33 landmarks, best score (presence
   × detector score) first. Given boxes are known people: each gives one person, kept whatever its score.

Each person keeps all 17 keypoints with their confidences (low ones included).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hmr_flow.detection.detector import PersonDetector
from hmr_flow.detection.landmarks import LandmarkNetwork, Landmarks
from hmr_flow.detection.models import blazepose_files
from hmr_flow.detection.nms import nms
from hmr_flow.detection.roi import ROI, roi_from_alignment, roi_from_box
from hmr_flow.detection.runtime import TFLiteNetwork

#: Defaults: MediaPipe's presence threshold and a plain NMS overlap; the detector sees the whole image
#: only (tiles found nobody more on the bench photos, at 4–5× the time; ``tile_levels=1`` looks for
#: small people in tiles of half the image size).
MIN_PRESENCE = 0.5
PERSON_NMS_IOU = 0.5
TILE_LEVELS = 0


@dataclass
class DetectedPerson:
    """One person: ``keypoints (17, 3)`` COCO-17 ``(u, v, confidence)`` px, ``box (4,)`` ``(x0, y0, x1,
    y1)`` px of the 33 landmarks clipped to the image, ``score`` in [0, 1] (the landmark network's pose
    presence × the detector's score)."""

    keypoints: np.ndarray
    box: np.ndarray
    score: float


def tile_regions(width: int, height: int, levels: int) -> list[tuple[int, int, int, int]]:
    """The whole image, then per level ``l = 1..levels`` square tiles of side ``max(W, H) / 2^l``
    (at most the image) overlapping by half and covering the image: ``(x0, y0, x1, y1)`` px."""
    regions = [(0, 0, width, height)]
    for level in range(1, levels + 1):
        side = max(1, int(round(max(width, height) / 2**level)))
        tw, th = min(side, width), min(side, height)
        xs = np.unique(np.linspace(0, width - tw, max(1, int(np.ceil(2 * width / tw)) - 1)).round().astype(int))
        ys = np.unique(np.linspace(0, height - th, max(1, int(np.ceil(2 * height / th)) - 1)).round().astype(int))
        regions += [(int(x), int(y), int(x) + tw, int(y) + th) for y in ys for x in xs]
    return regions


class BlazePose:
    """``detector(image, boxes=None) -> list[DetectedPerson]`` (best first).

    Args:
        detector_path, landmark_path: the ``.tflite`` files (default: :func:`blazepose_files`).
        threads: CPU threads of each network.
        tile_levels, refine, min_presence, nms_iou: see the module docstring.
    """

    def __init__(self, detector_path: str | Path | None = None, landmark_path: str | Path | None = None,
                 threads: int = 1, tile_levels: int = TILE_LEVELS, refine: bool = True,
                 min_presence: float = MIN_PRESENCE, nms_iou: float = PERSON_NMS_IOU):  # fmt: skip
        if detector_path is None or landmark_path is None:
            files = blazepose_files()
            detector_path = detector_path or files.detector
            landmark_path = landmark_path or files.landmarks
        self.detector = PersonDetector(TFLiteNetwork(detector_path, threads))
        self.landmarks = LandmarkNetwork(TFLiteNetwork(landmark_path, threads))
        self.tile_levels = tile_levels
        self.refine = refine
        self.min_presence = min_presence
        self.nms_iou = nms_iou

    def _candidates(self, image: np.ndarray, boxes: np.ndarray | None) -> list[tuple[ROI, float]]:
        """Landmark ROIs with their detector scores (1 for an upright ROI around a given box)."""
        height, width = image.shape[:2]
        if boxes is None:
            regions = tile_regions(width, height, self.tile_levels)
            return [(d.roi, d.score) for region in regions for d in self.detector(image, region)]
        rois = []
        for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
            around = roi_from_box(box)
            x0, y0 = np.floor(np.maximum(around.centre - around.size / 2, 0)).astype(int)
            x1, y1 = np.ceil(np.minimum(around.centre + around.size / 2, (width, height))).astype(int)
            found = self.detector(image, (x0, y0, x1, y1)) if x1 > x0 and y1 > y0 else []
            rois.append((found[0].roi, found[0].score) if found else (around, 1.0))
        return rois

    def _person(self, image: np.ndarray, roi: ROI, known: bool) -> tuple[Landmarks, np.ndarray]:
        """Landmarks in ``roi`` (refined when someone is there, or ``known`` to be) and their box."""
        marks = self.landmarks(image, roi)
        if marks.presence < self.min_presence and roi.angle != 0.0:
            upright = self.landmarks(image, ROI(roi.centre, roi.size, 0.0))
            marks = upright if upright.presence > marks.presence else marks
        if self.refine and (known or marks.presence >= self.min_presence):
            marks = self.landmarks(image, roi_from_alignment(marks.auxiliary[0], marks.auxiliary[1]))
        height, width = image.shape[:2]
        lo = np.clip(marks.points.min(0), 0, (width, height))
        hi = np.clip(marks.points.max(0), 0, (width, height))
        return marks, np.concatenate([lo, hi])

    def __call__(self, image: np.ndarray, boxes: np.ndarray | None = None) -> list[DetectedPerson]:
        """People in ``image (H, W, 3)`` uint8 RGB. With ``boxes (N, 4)`` ``(x0, y0, x1, y1)`` px of known
        people, exactly one person per box, in their order (no presence filter, no NMS; a low ``score``
        and low confidences tell where the network saw little)."""
        people = []
        for roi, detection_score in self._candidates(image, boxes):
            marks, box = self._person(image, roi, boxes is not None)
            if marks.presence >= self.min_presence or boxes is not None:
                people.append(DetectedPerson(marks.coco17(), box.astype(np.float32), marks.presence * detection_score))
        if not people or boxes is not None:
            return people
        kept = nms(np.stack([p.box for p in people]), np.array([p.score for p in people]), self.nms_iou)
        return [people[i] for i in kept]


