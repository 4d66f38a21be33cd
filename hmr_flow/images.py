"""Reading photos: ``read_rgb(path) -> (H, W, 3) uint8 RGB`` with errors that name the file.

Before anything is decoded:

- an empty (zero-byte) file is refused (OpenCV 5's ``imdecode`` asserts on an empty buffer);
- the size written in the header (JPEG, PNG, BMP, WebP: :func:`header_size`) must be at most
  :data:`MAX_IMAGE_PIXELS`: a few hundred bytes can claim 20000 × 20000 pixels, which OpenCV would
  decode into a 1.2 GB grey image;
- a JPEG or PNG must be complete: OpenCV decodes a truncated file without an error (the missing part
  comes out grey, with only libjpeg's warning, which names no file), so the end markers are checked: a
  JPEG's end-of-image marker after its last start-of-scan, a PNG's ``IEND`` chunk.

Tested on opencv-python-headless 5.x (the version pinned in ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hmr_flow.validation import UserInputError

_JPEG_START, _JPEG_SCAN, _JPEG_END = b"\xff\xd8", b"\xff\xda", b"\xff\xd9"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Largest photo read: 100 million pixels (300 MB as RGB; a 108 MP phone photo is 12000 × 9000). Larger
#: ones are refused before decoding; downscale them first (people need only a few hundred pixels).
MAX_IMAGE_PIXELS = 100_000_000
#: JPEG start-of-frame markers (they hold the image size): C0–CF except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


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


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            at += 2
        elif marker in _JPEG_FRAMES:  # length (2), precision (1), height (2), width (2)
            return int.from_bytes(data[at + 7 : at + 9], "big"), int.from_bytes(data[at + 5 : at + 7], "big")
        else:
            at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:  # 24-bit canvas width-1, height-1
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L" and len(data) >= 25:  # 14-bit width-1, height-1 after the signature byte
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30:  # key frame: 14-bit width and height after the start code
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    return None


def header_size(data: bytes) -> tuple[int, int] | None:
    """``(W, H)`` pixels as the header of a JPEG, PNG, BMP or WebP file claims, without decoding it;
    ``None`` for other formats or a header cut short (the decoder then judges the file)."""
    if data.startswith(_JPEG_START):
        return _jpeg_size(data)
    if data.startswith(_PNG_SIGNATURE) and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"BM") and len(data) >= 26:
        if int.from_bytes(data[14:18], "little") == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
            return int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
        width = int.from_bytes(data[18:22], "little", signed=True)
        return abs(width), abs(int.from_bytes(data[22:26], "little", signed=True))  # negative height: top-down
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def _checked_bytes(path: Path) -> tuple[bytes, tuple[int, int] | None]:
    """The bytes of the image file ``path`` and the size its header claims, after the checks that need no
    decoding (see the module docstring); :class:`ImageReadError` naming the file."""
    if not path.is_file():
        raise ImageReadError(f"{path}: image not found")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ImageReadError(f"{path}: cannot read ({err.strerror or err})") from None
    if not data:
        raise ImageReadError(f"{path}: empty file (0 bytes), not an image")
    size = header_size(data)
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise ImageReadError(f"{path}: its header claims {size[0]}×{size[1]} pixels, over the limit of "
                             f"{MAX_IMAGE_PIXELS / 1e6:g} million; downscale the photo first")
    check_complete(path, data)
    return data, size


def _decoded(path: Path, data: bytes) -> np.ndarray:
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:  # OpenCV asserts on some malformed buffers instead of returning None
        image = None
    if image is None:
        raise ImageReadError(f"{path}: unreadable or corrupt image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_rgb(path: str | Path) -> np.ndarray:
    """The image at ``path`` as ``(H, W, 3)`` uint8 RGB; :class:`ImageReadError` if it is missing, empty,
    larger than :data:`MAX_IMAGE_PIXELS`, truncated or cannot be decoded."""
    path = Path(path)
    return _decoded(path, _checked_bytes(path)[0])


def image_size(path: str | Path) -> tuple[int, int]:
    """``(W, H)`` of the image :func:`read_rgb` would give, without decoding it where its header says (PNG, BMP,
    WebP, and JPEG without Exif data, whose orientation tag may turn the decoded image); the file is checked
    as :func:`read_rgb` checks it before decoding (missing, empty, too large, truncated)."""
    path = Path(path)
    data, size = _checked_bytes(path)
    if size is not None and not (data.startswith(_JPEG_START) and b"Exif\x00\x00" in data[:65536]):
        return size
    image = _decoded(path, data)
    return image.shape[1], image.shape[0]
