"""Square person crops around 2D keypoints, shared by training and inference so that both see the
same framing.

A keypoint crop is the square centred on the bounding box of the confident keypoints, of side
``L = BOX_SCALE · KEYPOINT_BOX_MARGIN · max(w, h)`` pixels (the margin covers what keypoints stop
short of: the head top and the soles; the scale leaves room around the person as the synthetic
renders do). Pixel coordinates as everywhere: ``(u, v)``, origin at the top-left image corner.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

#: Crop side over the person box's longer side (the synthetic renders fill 55–95 % of the crop).
BOX_SCALE = 1.3
#: Growth of a keypoint box before cropping (keypoints stop short of the head top and the soles).
KEYPOINT_BOX_MARGIN = 1.15


def keypoint_box(keypoints: Tensor, confidence: Tensor, min_confidence: float = 0.1) -> tuple[Tensor, Tensor]:
    """Square box around the keypoints with confidence above ``min_confidence``.

    Args:
        keypoints: ``(B, K, 2)`` pixels; confidence: ``(B, K)``.

    Returns:
        centre ``(B, 2)`` and half side ``(B,)`` pixels of the box grown by :data:`KEYPOINT_BOX_MARGIN`
        (not yet by :data:`BOX_SCALE`). Rows with fewer than two confident keypoints get NaN: callers
        check at their edge.
    """
    good = confidence > min_confidence
    big = torch.finfo(keypoints.dtype).max
    low = torch.where(good[..., None], keypoints, keypoints.new_full((), big)).amin(1)
    high = torch.where(good[..., None], keypoints, keypoints.new_full((), -big)).amax(1)
    centre = (low + high) / 2
    half = (high - low).amax(1) / 2 * KEYPOINT_BOX_MARGIN
    few = good.sum(1) < 2
    return centre.masked_fill(few[:, None], float("nan")), half.masked_fill(few, float("nan"))


def to_crop(points: Tensor, centre: Tensor, side: Tensor, size: int) -> Tensor:
    """Full-image pixels ``(B, K, 2)`` → pixels of the ``size × size`` crop of side ``side (B,)``
    centred on ``centre (B, 2)``."""
    return (points - centre[:, None]) * (size / side)[:, None, None] + size / 2.0


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` intersection over union of boxes ``a (N, 4)`` and ``b (M, 4)``, ``(x0, y0, x1, y1)``
    (0 where both are empty)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    area = lambda x: np.prod(np.clip(x[:, 2:] - x[:, :2], 0.0, None), axis=1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
