"""SSD anchors of MediaPipe's single-shot detectors (BlazePose's person detector, BlazeFace's full-range
face detector) and the decoding of their raw output.

The detector sees a 224×224 letterboxed image. Its 2254 outputs sit on anchors laid out as MediaPipe's
``SsdAnchorsCalculator`` does for ``pose_detection`` (5 layers, strides 8, 16, 32, 32, 32, aspect
ratio 1 plus one interpolated scale per layer, fixed anchor size): layers that share a stride share one
feature map, so stride 8 gives 28×28×2 anchors, stride 16 14×14×2 and stride 32 7×7×6. Anchors are
ordered by stride group, then row, then column, then anchor; their centres are the cell centres in
[0, 1] letterbox coordinates and their size is fixed to 1.

Each raw row holds 12 numbers, in letterbox pixels relative to the anchor centre: box centre x, y,
width, height, then 4 keypoints (x, y): 0 the mid-hip centre, 1 a point whose distance from the hip
centre is half the full-body size and whose direction gives the body's rotation, 2 the mid-shoulder
centre, 3 the same for the upper body. The score is a logit (clipped to ±100, then a sigmoid).

The full-range face detector (:mod:`~hmr_flow.detection.faces`) uses the same layout and row format with
its own input size (192), strides (one layer of stride 4: 48×48 anchors, one per cell) and 6 keypoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INPUT_SIZE = 224
STRIDES = (8, 16, 32, 32, 32)
#: Anchors per layer and cell: one per aspect ratio (1.0) plus the interpolated scale.
ANCHORS_PER_LAYER = 2
SCORE_CLIP = 100.0


def ssd_anchor_centres(input_size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES,
                       per_layer: int = ANCHORS_PER_LAYER) -> np.ndarray:
    """``(A, 2)`` anchor centres ``(x, y)`` in [0, 1] (A = 2254 for the defaults)."""
    centres = []
    layer = 0
    while layer < len(strides):
        same = 1  # consecutive layers with one stride share a feature map
        while layer + same < len(strides) and strides[layer + same] == strides[layer]:
            same += 1
        cells = int(np.ceil(input_size / strides[layer]))
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, same * per_layer, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)


@dataclass
class RawDetections:
    """Decoded candidates in letterbox coordinates ([0, 1] of the 224×224 input).

    Attributes:
        boxes: ``(N, 4)`` ``(x0, y0, x1, y1)``.
        keypoints: ``(N, K, 2)`` ``(x, y)`` of the K keypoints (4 alignment keypoints of the person detector).
        scores: ``(N,)`` in (0, 1).
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def decode(raw: np.ndarray, logits: np.ndarray, anchors: np.ndarray, min_score: float,
           input_size: int = INPUT_SIZE) -> RawDetections:
    """Decode the detector's ``raw (A, 4 + 2K)`` and ``logits (A,)`` against ``anchors (A, 2)``, keeping
    candidates with score ≥ ``min_score`` (coordinates in pixels of the ``input_size`` square)."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1).astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
    keep = np.flatnonzero(scores >= min_score)
    raw = raw.reshape(len(anchors), -1)[keep] / input_size
    centres = anchors[keep]
    centre = raw[:, 0:2] + centres
    half = raw[:, 2:4] / 2.0
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:].reshape(len(keep), (raw.shape[1] - 4) // 2, 2) + centres[:, None, :]
    return RawDetections(boxes.astype(np.float32), keypoints.astype(np.float32), scores[keep].astype(np.float32))
