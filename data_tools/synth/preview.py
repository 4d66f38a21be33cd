"""Contact sheet of a synthetic set: renders with their COCO-17 keypoints and skeleton drawn.

Visible keypoints are filled dots, hidden ones hollow rings, left side orange, right side blue;
the silhouette's bounding box is drawn in grey.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hmr_flow.body import COCO17_NAMES
from hmr_flow.data import SynthDataset
from hmr_flow.images import write_image
from hmr_flow.render import contact_sheet

#: COCO-17 skeleton edges (keypoint index pairs).
COCO17_EDGES = ((5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (11, 12), (5, 11), (6, 12), (11, 13), (13, 15),
                (12, 14), (14, 16), (0, 1), (0, 2), (1, 3), (2, 4))
_LEFT, _RIGHT, _CENTRE = (255, 140, 0), (40, 120, 255), (60, 220, 60)


def _colour(k: int) -> tuple[int, int, int]:
    name = COCO17_NAMES[k]
    return _LEFT if name.startswith("left") else _RIGHT if name.startswith("right") else _CENTRE


def draw_sample(sample: dict, scale: int = 2) -> np.ndarray:
    """``(S·scale, S·scale, 3)`` uint8 image with keypoints, skeleton and bounding box drawn."""
    size = sample["image"].shape[0] * scale
    image = cv2.resize(sample["image"], (size, size), interpolation=cv2.INTER_NEAREST)
    kp, vis = sample["keypoints2d"] * scale, sample["visibility"]
    x0, y0, x1, y1 = (sample["bbox"] * scale).round().astype(int)
    cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), (160, 160, 160), 1)
    shift = 4  # sub-pixel drawing: OpenCV coordinates × 16, pixel centres at +0.5
    pts = np.round((kp - 0.5) * (1 << shift)).astype(int)
    for a, b in COCO17_EDGES:
        if vis[a] and vis[b]:
            cv2.line(image, tuple(pts[a]), tuple(pts[b]), _colour(b), 1, cv2.LINE_AA, shift)
    for k in range(len(kp)):
        if vis[k] == 2:
            cv2.circle(image, tuple(pts[k]), 3 << shift, _colour(k), -1, cv2.LINE_AA, shift)
        elif vis[k] == 1:
            cv2.circle(image, tuple(pts[k]), 3 << shift, _colour(k), 1, cv2.LINE_AA, shift)
    return image


def preview(data: str | Path, out: str | Path, count: int = 24, columns: int = 6, scale: int = 2) -> Path:
    """Write a PNG contact sheet of the first ``count`` samples of the set in ``data``."""
    dataset = SynthDataset(data)
    samples = [dataset.raw_sample(i) for i in range(min(count, len(dataset)))]
    labels = [f"#{int(s['index'])} s{int(s['subject'])} f{float(s['focal']):.0f}" for s in samples]
    sheet = contact_sheet([draw_sample(s, scale) for s in samples], labels, columns=columns)
    return write_image(out, sheet)
