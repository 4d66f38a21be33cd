"""Stage 1: BlazePose's person detector on a whole image (or a region of it) → person ROIs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmr_flow.detection.anchors import INPUT_SIZE, decode, ssd_anchor_centres
from hmr_flow.detection.nms import weighted_nms
from hmr_flow.detection.roi import ROI, letterbox, roi_from_alignment
from hmr_flow.detection.runtime import TFLiteNetwork

#: Candidate score threshold and the IoU of MediaPipe's weighted NMS for pose detection.
MIN_SCORE = 0.5
NMS_IOU = 0.3


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
    """``detector(image) -> list[PersonDetection]`` for an ``(H, W, 3)`` uint8 RGB image, best first."""

    def __init__(self, network: TFLiteNetwork, min_score: float = MIN_SCORE, nms_iou: float = NMS_IOU):
        if network.input_shape != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"{network.path}: expected a (1, 224, 224, 3) detector input, got {network.input_shape}")
        self.network = network
        self.min_score = min_score
        self.nms_iou = nms_iou
        self.anchors = ssd_anchor_centres()

    def __call__(self, image: np.ndarray, region: tuple[int, int, int, int] | None = None) -> list[PersonDetection]:
        """People in ``image``, or only in its pixel ``region`` ``(x0, y0, x1, y1)`` (coordinates stay
        those of the whole image)."""
        x0, y0, x1, y1 = region if region is not None else (0, 0, image.shape[1], image.shape[0])
        square, frame = letterbox(image[y0:y1, x0:x1], INPUT_SIZE)
        offset = np.array([x0, y0], dtype=np.float64)
        x = square.astype(np.float32)[None] / 127.5 - 1.0
        raw, logits = self.network(x)[:2]
        candidates = decode(raw[0], logits[0], self.anchors, self.min_score)
        people = []
        for members in weighted_nms(candidates.boxes, candidates.scores, self.nms_iou):
            weights = candidates.scores[members, None]
            box = (candidates.boxes[members] * weights).sum(0) / weights.sum()
            keypoints = (candidates.keypoints[members] * weights[:, :, None]).sum(0) / weights.sum()
            box_px = (frame.to_image(box.reshape(2, 2)) + offset).reshape(4)
            keypoints_px = frame.to_image(keypoints) + offset
            roi = roi_from_alignment(keypoints_px[0], keypoints_px[1])
            people.append(PersonDetection(box_px, keypoints_px, float(candidates.scores[members[0]]), roi))
        return people
