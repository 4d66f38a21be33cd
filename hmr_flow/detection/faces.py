"""Person proposals from faces: BlazeFace's full-range detector (made for small, distant faces) finds
faces, and each face proposes an upright landmark ROI for the person below it.

The detector sees a 192×192 letterboxed image; its 2304 anchors are one per cell of a 48×48 grid
(stride 4), and each raw row holds the face box (centre x, y, width, height) and 6 keypoints (right
eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion), as MediaPipe's
``face_detection_full_range`` graph decodes them (score threshold 0.6, weighted NMS at IoU 0.3).

From a face of side ``f`` px (its box's longer side) centred at ``c``, the person's ROI is centred
:data:`ROI_DROP` · f below ``c`` with side :data:`ROI_SIDE` · f: a standing adult's hips lie about three
face sizes below the face and the whole body spans about eight; the ROI is wider than that, so that a
seated or leaning person fits too (on the bench photos a side of 11 faces finds more people than 5 or 8).
The landmark network's own hip centre and body size then re-centre it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmr_flow.detection.detector import SSDDetector
from hmr_flow.detection.roi import ROI
from hmr_flow.detection.runtime import TFLiteNetwork

INPUT_SIZE = 192
STRIDES = (4,)
ANCHORS_PER_LAYER = 1
MIN_SCORE = 0.6
NMS_IOU = 0.3
#: The person ROI below a face of side ``f``: centre ``ROI_DROP · f`` below the face centre, side ``ROI_SIDE · f``.
ROI_DROP = 2.5
ROI_SIDE = 11.0


@dataclass
class FaceDetection:
    """One face: ``box (4,)`` ``(x0, y0, x1, y1)`` px, ``keypoints (6, 2)`` px (eyes, nose tip, mouth,
    ear tragions), ``score`` in (0, 1), and the landmark ``roi`` of the person it proposes."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float
    roi: ROI


def person_roi(face_box: np.ndarray, drop: float = ROI_DROP, side: float = ROI_SIDE) -> ROI:
    """The upright landmark ROI of the person below ``face_box`` ``(x0, y0, x1, y1)`` px."""
    box = np.asarray(face_box, dtype=np.float64)
    size = float(max(box[2] - box[0], box[3] - box[1]))
    centre = (box[:2] + box[2:]) / 2.0
    return ROI(centre + np.array([0.0, drop * size]), side * size, 0.0)


class FaceDetector:
    """``faces(image, region=None) -> list[FaceDetection]`` for an ``(H, W, 3)`` uint8 RGB image, best first."""

    def __init__(self, network: TFLiteNetwork, min_score: float = MIN_SCORE, nms_iou: float = NMS_IOU):
        if network.input_shape != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"{network.path}: expected a (1, 192, 192, 3) face detector input, got {network.input_shape}")
        self.ssd = SSDDetector(network, STRIDES, ANCHORS_PER_LAYER, min_score, nms_iou)

    def __call__(self, image: np.ndarray, region: tuple[float, float, float, float] | None = None) -> list[FaceDetection]:
        """Faces in ``image`` or its ``region`` (see :meth:`~hmr_flow.detection.detector.SSDDetector.detect`)."""
        return [FaceDetection(d.box, d.keypoints, d.score, person_roi(d.box)) for d in self.ssd.detect(image, region)]
