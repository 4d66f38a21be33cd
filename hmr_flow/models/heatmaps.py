"""Optional extra input channels: one Gaussian heatmap per COCO-17 keypoint.

Pixel ``(i, j)`` covers ``[j, j+1) × [i, i+1)`` (its centre is ``(j + ½, i + ½)``), the convention of
:mod:`hmr_flow.data.synth_format`. A keypoint with zero confidence gives an all-zero channel.
"""

from __future__ import annotations

import torch
from torch import Tensor


def keypoint_heatmaps(keypoints: Tensor, confidence: Tensor, size: int, sigma: float) -> Tensor:
    """Render heatmaps.

    Args:
        keypoints: ``(B, K, 2)`` ``(u, v)`` crop pixels.
        confidence: ``(B, K)`` in ``[0, 1]``, multiplies each channel (0 = absent keypoint).
        size: crop side ``S`` pixels; sigma: Gaussian std in pixels.

    Returns:
        ``(B, K, S, S)`` with peak value ``confidence`` at the keypoint.
    """
    if keypoints.dim() != 3 or keypoints.shape[-1] != 2:
        raise ValueError(f"keypoints: expected (B, K, 2), got {tuple(keypoints.shape)}")
    if tuple(confidence.shape) != tuple(keypoints.shape[:2]):
        raise ValueError(f"confidence: expected {tuple(keypoints.shape[:2])}, got {tuple(confidence.shape)}")
    centres = torch.arange(size, dtype=keypoints.dtype, device=keypoints.device) + 0.5
    du = (centres[None, None, :] - keypoints[..., 0:1]) ** 2  # (B, K, S) along columns
    dv = (centres[None, None, :] - keypoints[..., 1:2]) ** 2  # (B, K, S) along rows
    scale = -0.5 / sigma**2
    maps = torch.exp(scale * dv)[..., :, None] * torch.exp(scale * du)[..., None, :]
    return maps * confidence.to(keypoints.dtype)[..., None, None]
