"""Reading and writing photos: ``read_rgb(path) -> (H, W, 3) uint8 RGB`` with errors that name the file,
and :func:`write_image`, which writes any file name the operating system accepts.

Before anything is decoded:

- the path must be a regular file (``/dev/zero`` or a pipe is refused, not read forever);
- an empty (zero-byte) file is refused (OpenCV 5's ``imdecode`` asserts on an empty buffer);
- the format must be one OpenCV decodes and the size in its header at most :data:`MAX_IMAGE_PIXELS`
  (:mod:`hmr_flow.image_headers` reads it for every such format: JPEG, PNG, TIFF, GIF, …): a few hundred
  bytes can claim 20000 × 20000 pixels, which OpenCV would decode into a 1.2 GB image; a file whose header
  gives no size is refused, so the limit holds for every file that is decoded;
- a JPEG or PNG must be complete: OpenCV decodes a truncated file without an error (the missing part
  comes out grey, with only libjpeg's warning, which names no file), so the end markers are checked: a
  JPEG's end-of-image marker after its last start-of-scan, a PNG's ``IEND`` chunk.

Writing: ``cv2.imwrite`` crashes the interpreter (segmentation fault) on a file name that is not valid
UTF-8; :func:`write_image` encodes in memory (``cv2.imencode``) and writes the bytes through
:func:`hmr_flow.files.write_with` (atomic, path-safe).

Tested on opencv-python-headless 5.x (the version pinned in ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from hmr_flow.files import bytes_writer, write_with
from hmr_flow.image_headers import FORMATS, header_size, image_format
from hmr_flow.validation import UserInputError
from hmr_flow.validation.inputs import check_input_file

_JPEG_SCAN, _JPEG_END = b"\xff\xda", b"\xff\xd9"
#: Largest photo read: 100 million pixels (300 MB as RGB; a 108 MP phone photo is 12000 × 9000). Larger
#: ones are refused before decoding; downscale them first (people need only a few hundred pixels).
MAX_IMAGE_PIXELS = 100_000_000
#: Formats :func:`write_image` writes, by the suffix of the file name.
WRITE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ImageReadError(UserInputError):
    """An image file that is missing, unreadable, truncated or corrupt (the message names the file)."""


def check_complete(path: Path, data: bytes, kind: str) -> None:
    """:class:`ImageReadError` if ``data`` (the bytes of ``path``, of the format ``kind``:
    :func:`~hmr_flow.image_headers.image_format`) is a JPEG or PNG cut short."""
    if kind == "JPEG":
        scan = data.rfind(_JPEG_SCAN)
        if scan >= 0 and data.find(_JPEG_END, scan) < 0:  # no scan at all: the decoder reports it
            raise ImageReadError(f"{path}: truncated JPEG (no end-of-image marker after the image data)")
    elif kind == "PNG" and data.rfind(b"IEND") < 0:
        raise ImageReadError(f"{path}: truncated PNG (no IEND chunk)")


def _checked_bytes(path: str | Path) -> tuple[Path, bytes, str, tuple[int, int]]:
    """The path, bytes, format (:func:`~hmr_flow.image_headers.image_format`) and header size ``(W, H)`` of the
    image file ``path`` after the checks that need no decoding (see the module docstring); :class:`ImageReadError`
    naming the file."""
    try:
        path = check_input_file(path, "image")
    except (FileNotFoundError, UserInputError) as err:
        raise ImageReadError(str(err)) from None
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ImageReadError(f"{path}: cannot read ({err.strerror or err})") from None
    if not data:
        raise ImageReadError(f"{path}: empty file (0 bytes), not an image")
    kind = image_format(data)
    if kind is None:
        raise ImageReadError(f"{path}: unreadable or corrupt image (not one of the formats read: {', '.join(FORMATS)})")
    size = header_size(data)
    if size is None:
        raise ImageReadError(f"{path}: unreadable or corrupt image (its {kind} header gives no size)")
    if size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise ImageReadError(f"{path}: its header claims {size[0]}×{size[1]} pixels, over the limit of "
                             f"{MAX_IMAGE_PIXELS / 1e6:g} million; downscale the photo first")
    check_complete(path, data, kind)
    return path, data, kind, size


def _decoded(path: Path, data: bytes) -> np.ndarray:
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:  # OpenCV asserts on some malformed buffers instead of returning None
        image = None
    if image is None:
        raise ImageReadError(f"{path}: unreadable or corrupt image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_rgb(path: str | Path) -> np.ndarray:
    """The image at ``path`` as ``(H, W, 3)`` uint8 RGB; :class:`ImageReadError` if it is missing, not a
    regular file, empty, of a format OpenCV does not decode, larger than :data:`MAX_IMAGE_PIXELS`, truncated
    or cannot be decoded."""
    path, data, _, _ = _checked_bytes(path)
    return _decoded(path, data)


#: Formats whose header size is the decoded image's (no orientation tag turns it): :func:`image_size` reads
#: them without decoding (JPEG too when it holds no Exif data).
_UNTURNED_FORMATS = ("PNG", "BMP", "WebP")


def image_size(path: str | Path) -> tuple[int, int]:
    """``(W, H)`` of the image :func:`read_rgb` would give, without decoding it where its header says (PNG, BMP,
    WebP, and JPEG without Exif data, whose orientation tag may turn the decoded image); the file is checked
    as :func:`read_rgb` checks it before decoding (missing, empty, too large, truncated)."""
    path, data, kind, size = _checked_bytes(path)
    if kind in _UNTURNED_FORMATS or (kind == "JPEG" and b"Exif\x00\x00" not in data[:65536]):
        return size
    image = _decoded(path, data)
    return image.shape[1], image.shape[0]


def image_writer(suffix: str, rgb: np.ndarray) -> Callable[[Path], None]:
    """``write(tmp)`` of an ``(H, W, 3)`` uint8 RGB image encoded in memory as ``suffix`` (:data:`WRITE_SUFFIXES`),
    for :func:`hmr_flow.files.write_with` and :func:`~hmr_flow.files.write_set` (never ``cv2.imwrite``)."""
    suffix = suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise UserInputError(f"images are written as {', '.join(WRITE_SUFFIXES)} (by the suffix), got {suffix!r}")
    ok, encoded = cv2.imencode(suffix, cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode a {rgb.shape} image as {suffix}")
    return bytes_writer(encoded.tobytes())


def write_image(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an ``(H, W, 3)`` uint8 RGB image as PNG or JPEG (by the suffix of ``path``, :data:`WRITE_SUFFIXES`),
    atomically, under any file name the operating system accepts; returns ``path``."""
    return write_with(path, image_writer(Path(path).suffix, rgb))
