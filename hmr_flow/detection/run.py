"""Detect the people of one image or a folder of images with any :class:`~hmr_flow.detection.base.Detector`
(what ``hmr-flow detect`` runs, and what ``fit`` / ``regress`` run first when no keypoint file is given;
:func:`hmr_flow.fitting.keypoint_io.write_coco` writes the result).

Images without anyone are skipped with a warning; when no image has anyone, :class:`NoPersonError`
(a :class:`~hmr_flow.validation.UserInputError`: one line, exit 2 on the command line).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from hmr_flow.detection.base import Detector, ImageDetections
from hmr_flow.detection.pipeline import make_detector
from hmr_flow.images import read_rgb
from hmr_flow.validation import UserInputError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class NoPersonError(UserInputError):
    """No person was found in any of the images."""


def image_paths(image: str | Path | None = None, images: str | Path | None = None) -> list[Path]:
    """``[image]``, or the images in folder ``images`` (``.jpg .jpeg .png .bmp .webp``, sorted by name)."""
    if (image is None) == (images is None):
        raise UserInputError("give one image (--image) or one folder of images (--images)")
    if image is not None:
        return [Path(image)]
    folder = Path(images)
    if not folder.is_dir():
        raise UserInputError(f"{folder}: --images is not a folder")
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise UserInputError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in the folder")
    return found


def detect_images(paths: list[Path], detector: Detector | None = None,
                  boxes: dict[Path, np.ndarray] | None = None) -> list[ImageDetections]:
    """People in each image (progress bar over images) found by ``detector`` (default:
    :func:`~hmr_flow.detection.pipeline.make_detector`'s); ``boxes`` optionally maps an image path to its
    known person boxes ``(N, 4)`` ``(x0, y0, x1, y1)`` px. Returns only images with people.

    Raises:
        hmr_flow.images.ImageReadError: an image is missing or corrupt.
        NoPersonError: nobody in any image.
    """
    detector = detector or make_detector()
    found = []
    for path in tqdm(paths, desc="detecting", unit="image", disable=len(paths) < 2):
        image = read_rgb(path)
        people = detector(image, None if boxes is None else boxes.get(path))
        if not people:
            log.warning("%s: no person found, skipped", path)
            continue
        found.append(ImageDetections(Path(path), (image.shape[1], image.shape[0]), people))
    if not found:
        where = paths[0] if len(paths) == 1 else f"{len(paths)} images of {paths[0].parent}"
        raise NoPersonError(f"{where}: no person found")
    return found
