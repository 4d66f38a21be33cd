"""Contact sheets: tile equally sized images into a grid with a text label on each tile."""

from __future__ import annotations

import cv2
import numpy as np


def contact_sheet(images: list[np.ndarray], labels: list[str] | None = None, columns: int = 4) -> np.ndarray:
    """Grid of ``(H, W, 3)`` uint8 images (row-major), each labelled top-left; empty cells white.

    Returns:
        ``(rows·H, columns·W, 3)`` uint8.
    """
    if not images:
        raise ValueError("images: need at least one image")
    height, width = images[0].shape[:2]
    for i, image in enumerate(images):
        if image.shape != (height, width, 3) or image.dtype != np.uint8:
            raise ValueError(f"images[{i}]: expected ({height}, {width}, 3) uint8, got {image.shape} {image.dtype}")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"labels: {len(labels)} labels for {len(images)} images")
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    sheet = np.full((rows * height, columns * width, 3), 255, dtype=np.uint8)
    scale = max(0.35, height / 600.0)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        tile = image.copy()
        if labels is not None:
            cv2.putText(tile, labels[i], (6, int(22 * scale / 0.6)), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 1, cv2.LINE_AA)
        sheet[r * height : (r + 1) * height, c * width : (c + 1) * width] = tile
    return sheet
