"""Reading photos: ``read_rgb(path) -> (H, W, 3) uint8 RGB`` with errors that name the file.

A JPEG or PNG must be complete: OpenCV decodes a truncated file without an error (the missing part
comes out grey, with only libjpeg's warning, which names no file), so the end markers are checked
first: a JPEG's end-of-image marker after its last start-of-scan, a PNG's ``IEND`` chunk.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hmr_flow.validation import UserInputError

_JPEG_START, _JPEG_SCAN, _JPEG_END = b"\xff\xd8", b"\xff\xda", b"\xff\xd9"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageReadError(UserInputError):
    """An image file that is missing, unreadable, truncated or corrupt (the message names the file)."""


def check_complete(path: Path, data: bytes) -> None:
    """:class:`ImageReadError` if ``data`` (the bytes of ``path``) is a JPEG or PNG cut short."""
    if data.startswith(_JPEG_START):
        scan = data.rfind(_JPEG_SCAN)
        if scan >= 0 and data.find(_JPEG_END, scan) < 0:  # no scan at all: the decoder reports it
            raise ImageReadError(f"{path}: truncated JPEG (no end-of-image marker after the image data)")
    elif data.startswith(_PNG_SIGNATURE) and data.rfind(b"IEND") < 0:
        raise ImageReadError(f"{path}: truncated PNG (no IEND chunk)")


def read_rgb(path: str | Path) -> np.ndarray:
    """The image at ``path`` as ``(H, W, 3)`` uint8 RGB; :class:`ImageReadError` if it is missing,
    truncated or cannot be decoded."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: image not found")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ImageReadError(f"{path}: cannot read ({err.strerror or err})") from None
    check_complete(path, data)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(f"{path}: unreadable or corrupt image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
