"""Detect the people of one image or a folder of images and write their keypoints (what ``hmr-flow
detect`` runs, and what ``fit`` / ``regress`` run first when no keypoint file is given).

Images without anyone are skipped with a warning; when no image has anyone, :class:`NoPersonError`
(a ``ValueError``: one line, exit 2 on the command line) and nothing is written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from hmr_flow.detection.coco import ImageDetections, write_coco
from hmr_flow.detection.pipeline import BlazePose
from hmr_flow.images import read_rgb

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class NoPersonError(ValueError):
    """No person was found in any of the images."""


def image_paths(image: str | Path | None = None, images: str | Path | None = None) -> list[Path]:
    """``[image]``, or the images in folder ``images`` (``.jpg .jpeg .png .bmp .webp``, sorted by name)."""
    if (image is None) == (images is None):
        raise ValueError("give one image (--image) or one folder of images (--images)")
    if image is not None:
        return [Path(image)]
    folder = Path(images)
    if not folder.is_dir():
        raise ValueError(f"{folder}: --images is not a folder")
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise ValueError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in the folder")
    return found


def detect_images(paths: list[Path], detector: BlazePose | None = None,
                  boxes: dict[Path, np.ndarray] | None = None) -> list[ImageDetections]:
    """People in each image (progress bar over images); ``boxes`` optionally maps an image path to its
    known person boxes ``(N, 4)`` ``(x0, y0, x1, y1)`` px. Returns only images with people.

    Raises:
        hmr_flow.images.ImageReadError: an image is missing or corrupt.
        NoPersonError: nobody in any image.
    """
    detector = detector or BlazePose()
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


def detect_to_file(paths: list[Path], out: str | Path, detector: BlazePose | None = None) -> tuple[Path, int]:
    """Detect the people of ``paths`` and write them to the COCO file ``out``; ``(out, people)``."""
    detections = detect_images(paths, detector)
    return write_coco(out, detections), sum(len(d.people) for d in detections)


#: File name of the keypoints that ``fit`` / ``regress`` detect themselves (in their output folder).
DETECTED_NAME = "detected_keypoints.json"


def detect_into(out_dir: str | Path, image: str | Path | None = None, images: str | Path | None = None,
                detector: BlazePose | None = None) -> Path:
    """Detect the people of ``image`` or of the folder ``images`` and write them to
    ``out_dir/detected_keypoints.json`` (what ``fit`` and ``regress`` do without ``--keypoints``)."""
    paths = image_paths(image, images)
    path, people = detect_to_file(paths, Path(out_dir) / DETECTED_NAME, detector)
    log.info("detected %d people in %d images: %s", people, len(paths), path)
    return path
