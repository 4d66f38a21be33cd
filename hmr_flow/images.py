"""Reading photos: ``read_rgb(path) -> (H, W, 3) uint8 RGB`` with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


class ImageReadError(ValueError):
    """An image file that is missing, unreadable or corrupt (the message names the file)."""


def read_rgb(path: str | Path) -> np.ndarray:
    """The image at ``path`` as ``(H, W, 3)`` uint8 RGB; :class:`ImageReadError` if it is missing or
    cannot be decoded."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: image not found")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(f"{path}: unreadable or corrupt image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
