"""Stage 2: BlazePose's full landmark network on one person's ROI → 33 body landmarks, and the
mapping of those to COCO-17.

The network sees the ROI resampled to 256×256 RGB in [0, 1]. Its first output holds 39 × (x, y, z,
visibility, presence) with x, y in crop pixels and visibility / presence as logits; the second is a
pose-presence score (already a probability). Landmarks 33–38 are auxiliary and unused. The landmark
confidence written out is ``sigmoid(visibility) · sigmoid(presence)``: the network's belief that the
point is inside the image and not occluded. Low values are kept, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmr_flow.detection.roi import ROI
from hmr_flow.detection.runtime import TFLiteNetwork

INPUT_SIZE = 256
NUM_LANDMARKS = 39
NUM_BODY_LANDMARKS = 33
#: BlazePose's 33 landmarks → COCO-17 (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles).
COCO17_FROM_BLAZEPOSE = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


@dataclass
class Landmarks:
    """One person's ``points (33, 2)`` image px, ``confidence (33,)`` in [0, 1], the network's
    ``presence`` score that the ROI holds a person, and ``auxiliary (2, 2)`` px: landmarks 33 and 34,
    the hip centre and alignment point of the person (they define the next ROI, like the detector's)."""

    points: np.ndarray
    confidence: np.ndarray
    presence: float
    auxiliary: np.ndarray

    def coco17(self) -> np.ndarray:
        """``(17, 3)`` ``(u, v, confidence)`` in COCO-17 order."""
        index = list(COCO17_FROM_BLAZEPOSE)
        return np.concatenate([self.points[index], self.confidence[index, None]], axis=1).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


class LandmarkNetwork:
    """``landmarks(image, roi) -> Landmarks`` for an ``(H, W, 3)`` uint8 RGB image."""

    def __init__(self, network: TFLiteNetwork):
        if network.input_shape != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"{network.path}: expected a (1, 256, 256, 3) landmark input, got {network.input_shape}")
        self.network = network

    def __call__(self, image: np.ndarray, roi: ROI) -> Landmarks:
        crop = roi.crop(image, INPUT_SIZE).astype(np.float32)[None] / 255.0
        outputs = self.network(crop)
        values = outputs[0].reshape(NUM_LANDMARKS, 5)
        points = roi.to_image(values[:, :2] / INPUT_SIZE).astype(np.float32)
        body = values[:NUM_BODY_LANDMARKS]
        confidence = (_sigmoid(body[:, 3]) * _sigmoid(body[:, 4])).astype(np.float32)
        presence = float(outputs[1].reshape(-1)[0])
        return Landmarks(points[:NUM_BODY_LANDMARKS], confidence, presence, points[NUM_BODY_LANDMARKS : NUM_BODY_LANDMARKS + 2])
