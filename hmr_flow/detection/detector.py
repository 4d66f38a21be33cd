"""Stage 1: person proposals from MediaPipe's single-shot detectors on a whole image or a region of it.

:class:`SSDDetector` runs one such network (letterbox, [-1, 1] input, anchor decoding, MediaPipe's
score-weighted NMS); :class:`PersonDetector` is BlazePose's person detector on top of it, whose
alignment keypoints give the landmark ROI directly. The face detector's proposals are in
:mod:`~hmr_flow.detection.faces`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmr_flow.detection.anchors import ANCHORS_PER_LAYER, INPUT_SIZE, STRIDES, decode, ssd_anchor_centres
from hmr_flow.detection.nms import weighted_nms
from hmr_flow.detection.roi import ROI, letterbox, roi_from_alignment
from hmr_flow.detection.runtime import TFLiteNetwork

#: Candidate score threshold and the IoU of MediaPipe's weighted NMS for pose detection.
MIN_SCORE = 0.5
NMS_IOU = 0.3


@dataclass
class Detection:
    """One detection of an :class:`SSDDetector`: ``box (4,)`` ``(x0, y0, x1, y1)`` px, ``keypoints (K,
    2)`` px, ``score`` in (0, 1)."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float


class SSDDetector:
    """``detector(image, region=None) -> list[Detection]`` for an ``(H, W, 3)`` uint8 RGB image, best first.

    Args:
        network: the ``.tflite`` detector, input ``(1, S, S, 3)`` RGB in [-1, 1].
        strides, per_layer: its anchor layout (:func:`~hmr_flow.detection.anchors.ssd_anchor_centres`).
        min_score, nms_iou: candidate score threshold and weighted-NMS overlap.
    """

    def __init__(self, network: TFLiteNetwork, strides: tuple[int, ...], per_layer: int, min_score: float,
                 nms_iou: float):
        size = network.input_shape[1]
        if network.input_shape != (1, size, size, 3):
            raise ValueError(f"{network.path}: expected a (1, S, S, 3) detector input, got {network.input_shape}")
        self.network = network
        self.input_size = size
        self.min_score = min_score
        self.nms_iou = nms_iou
        self.anchors = ssd_anchor_centres(size, strides, per_layer)

    def detect(self, image: np.ndarray, region: tuple[float, float, float, float] | None = None) -> list[Detection]:
        """Detections in ``image``, or only in its pixel ``region`` ``(x0, y0, x1, y1)`` (it may reach past
        the border: black there; coordinates stay those of the whole image)."""
        square, frame = letterbox(image, self.input_size, region)
        raw, logits = self.network(square.astype(np.float32)[None] / 127.5 - 1.0)[:2]
        candidates = decode(raw[0], logits[0], self.anchors, self.min_score, self.input_size)
        found = []
        for members in weighted_nms(candidates.boxes, candidates.scores, self.nms_iou):
            weights = candidates.scores[members, None]
            box = (candidates.boxes[members] * weights).sum(0) / weights.sum()
            keypoints = (candidates.keypoints[members] * weights[:, :, None]).sum(0) / weights.sum()
            found.append(Detection(frame.to_image(box.reshape(2, 2)).reshape(4), frame.to_image(keypoints),
                                   float(candidates.scores[members[0]])))
        return found


@dataclass
class PersonDetection:
    """One detected person: ``box (4,)`` ``(x0, y0, x1, y1)`` px (the detector's box, about the face
    and upper body), ``keypoints (4, 2)`` px (hip centre, full-body alignment point, shoulder centre,
    upper-body alignment point), ``score`` in (0, 1), and the landmark ``roi`` derived from them."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float
    roi: ROI


class PersonDetector:
    """``detector(image, region=None) -> list[PersonDetection]`` for an ``(H, W, 3)`` uint8 RGB image, best first."""

    def __init__(self, network: TFLiteNetwork, min_score: float = MIN_SCORE, nms_iou: float = NMS_IOU):
        if network.input_shape != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"{network.path}: expected a (1, 224, 224, 3) detector input, got {network.input_shape}")
        self.ssd = SSDDetector(network, STRIDES, ANCHORS_PER_LAYER, min_score, nms_iou)

    def __call__(self, image: np.ndarray, region: tuple[float, float, float, float] | None = None) -> list[PersonDetection]:
        """People in ``image`` or its ``region`` (see :meth:`SSDDetector.detect`)."""
        return [PersonDetection(d.box, d.keypoints, d.score, roi_from_alignment(d.keypoints[0], d.keypoints[1]))
                for d in self.ssd.detect(image, region)]
