"""What a person detector is: the :class:`Detector` protocol and what it finds (:class:`DetectedPerson`,
per image :class:`ImageDetections`). :class:`~hmr_flow.detection.pipeline.BlazePose` implements it; any
other backend (a user's own network, a tracker that proposes last frame's boxes) plugs into ``detect``,
``fit`` and ``regress`` (:func:`~hmr_flow.detection.run.detect_images`) the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class DetectedPerson:
    """One person: ``keypoints (17, 3)`` COCO-17 ``(u, v, confidence)`` px, ``box (4,)`` ``(x0, y0, x1,
    y1)`` px around the person (BlazePose: its 33 landmarks, clipped to the image), ``score`` in [0, 1],
    and ``source``: what proposed it (BlazePose: the search, ``'whole'``, ``'faces'``, ``'tiles'``, or
    ``'box'`` for a given box)."""

    keypoints: np.ndarray
    box: np.ndarray
    score: float
    source: str = "whole"


@runtime_checkable
class Detector(Protocol):
    """``detector(image, boxes=None) -> list[DetectedPerson]``: the people in ``image (H, W, 3)`` uint8 RGB,
    best first; with ``boxes (N, 4)`` ``(x0, y0, x1, y1)`` px of known people, one person per box, in
    their order."""

    def __call__(self, image: np.ndarray, boxes: np.ndarray | None = None) -> list[DetectedPerson]:
        """The people of ``image`` (see the class docstring)."""


@dataclass
class ImageDetections:
    """The people found in one image: its path, ``(W, H)`` size and people (best first)."""

    path: Path
    size: tuple[int, int]
    people: list[DetectedPerson] = field(default_factory=list)
