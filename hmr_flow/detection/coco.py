"""Writing detected people as a COCO person-keypoint file that :func:`hmr_flow.fitting.read_keypoints`
reads back (and that users can inspect or edit before fitting).

Layout: ``images[]`` (``id``, ``file_name`` relative to the file's folder or absolute, ``width``,
``height``), ``annotations[]`` (``id``, ``image_id``, ``category_id`` 1, ``iscrowd`` 0, ``keypoints``
``[u, v, confidence] × 17`` in COCO-17 order, ``num_keypoints`` (confidence ≥ 0.5), ``bbox`` ``[x, y,
w, h]`` px, ``score``), ``categories`` (person with the keypoint names), and ``info.keypoint_values =
"confidence"``: the third value of each keypoint is a confidence in [0, 1], not a COCO visibility flag
(the reader keeps it as the fitting weight instead of turning it into 0/1).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hmr_flow.body import COCO17_NAMES
from hmr_flow.detection.pipeline import DetectedPerson
from hmr_flow.files import write_text

#: ``info.keypoint_values`` of files whose third keypoint value is a confidence.
CONFIDENCE_VALUES = "confidence"


@dataclass
class ImageDetections:
    """The people found in one image: its path, ``(W, H)`` size and people (best first)."""

    path: Path
    size: tuple[int, int]
    people: list[DetectedPerson] = field(default_factory=list)


def _file_name(image: Path, folder: Path) -> str:
    try:
        return os.path.relpath(image.resolve(), folder.resolve())
    except ValueError:  # another drive (Windows)
        return str(image.resolve())


def coco_document(detections: list[ImageDetections], folder: Path) -> dict:
    """The COCO dictionary for ``detections``; ``file_name`` relative to ``folder``."""
    images, annotations = [], []
    for image_id, item in enumerate(detections, start=1):
        images.append({"id": image_id, "file_name": _file_name(item.path, folder),
                       "width": int(item.size[0]), "height": int(item.size[1])})
        for person in item.people:
            x0, y0, x1, y1 = (float(v) for v in person.box)
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                "keypoints": [round(float(v), 4) if i % 3 == 2 else round(float(v), 2)
                              for i, v in enumerate(np.asarray(person.keypoints).reshape(-1))],
                "num_keypoints": int((person.keypoints[:, 2] >= 0.5).sum()),
                "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
                "score": round(float(person.score), 4),
            })
    return {
        "info": {"description": "people detected by hmr-flow (BlazePose)", "keypoint_values": CONFIDENCE_VALUES},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO17_NAMES)}],
    }


def write_coco(path: str | Path, detections: list[ImageDetections]) -> Path:
    """Write ``detections`` to ``path`` (a temporary file renamed into place: never half-written)."""
    path = Path(path)
    return write_text(path, json.dumps(coco_document(detections, path.parent), indent=1))
