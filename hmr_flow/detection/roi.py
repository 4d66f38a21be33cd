"""Image geometry of the two BlazePose stages: the letterbox of the detector input and the rotated
square regions of interest (ROI) the landmark network sees.

Conventions: pixels, u right, v down, origin the top-left corner of the image. A ROI is a square of
side ``size`` centred at ``centre`` and rotated by ``angle`` radians; a point ``q`` in [0, 1]² of the
ROI crop maps to ``centre + size · R(angle) (q − ½)`` in the image, ``R`` the 2×2 rotation matrix
(positive angles turn clockwise on screen, because v points down).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: ROI side as a multiple of the detector's body size (twice the hip-centre → alignment-point
#: distance), as in MediaPipe's pose ``RectTransformationCalculator`` (scale 1.25).
ROI_SCALE = 1.25
#: The detector's alignment vector (hip centre → keypoint 1) points this way for an upright person.
TARGET_ANGLE = np.pi / 2


@dataclass
class Letterbox:
    """An image scaled by ``scale`` and placed at ``offset (x, y)`` inside a ``size``² square."""

    scale: float
    offset: np.ndarray
    size: int

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` letterbox coordinates in [0, 1] → image pixels."""
        return (np.asarray(points) * self.size - self.offset) / self.scale


def letterbox(image: np.ndarray, size: int, region: tuple[float, float, float, float] | None = None
              ) -> tuple[np.ndarray, Letterbox]:
    """``image (H, W, 3)`` uint8, or its pixel ``region`` ``(x0, y0, x1, y1)``, scaled to fit a ``size``²
    square (aspect kept, centred): ``((size, size, 3) uint8, Letterbox)``. The square's margins show the
    image around the region, black outside the image (a region may reach past the border, for people cut
    off by it); the letterbox maps back to pixels of the whole image."""
    x0, y0, x1, y1 = region if region is not None else (0, 0, image.shape[1], image.shape[0])
    width, height = x1 - x0, y1 - y0
    scale = size / max(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    offset = np.array([(size - new_w) / 2.0 - scale * x0, (size - new_h) / 2.0 - scale * y0])
    matrix = np.array([[scale, 0.0, offset[0]], [0.0, scale, offset[1]]])
    square = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return square, Letterbox(scale, offset, size)


@dataclass
class ROI:
    """A rotated square region: ``centre (2,)`` px, side ``size`` px, ``angle`` radians."""

    centre: np.ndarray
    size: float
    angle: float

    def rotation(self) -> np.ndarray:
        c, s = np.cos(self.angle), np.sin(self.angle)
        return np.array([[c, -s], [s, c]])

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` ROI-crop coordinates in [0, 1] → image pixels."""
        return self.centre + self.size * (np.asarray(points) - 0.5) @ self.rotation().T

    def crop(self, image: np.ndarray, side: int) -> np.ndarray:
        """The ROI resampled to ``(side, side, 3)`` (outside the image: black)."""
        # image point p = A q + b with q in crop pixels: A = size/side · R, b = centre − size/2 · R (1, 1)
        rotation = self.rotation()
        a = self.size / side * rotation
        b = self.centre - self.size / 2.0 * rotation @ np.ones(2)
        to_crop = cv2.invertAffineTransform(np.hstack([a, b[:, None]]))
        return cv2.warpAffine(image, to_crop, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def roi_from_alignment(hip: np.ndarray, alignment: np.ndarray, scale: float = ROI_SCALE) -> ROI:
    """The ROI of one detection from its hip centre and alignment point (both image pixels): centred
    on the hip, side ``scale`` × twice their distance, rotated so that the alignment vector points up."""
    vector = np.asarray(alignment, dtype=np.float64) - np.asarray(hip, dtype=np.float64)
    angle = TARGET_ANGLE - np.arctan2(-vector[1], vector[0])
    angle = (angle + np.pi) % (2 * np.pi) - np.pi
    return ROI(np.asarray(hip, dtype=np.float64), float(2.0 * np.hypot(*vector) * scale), float(angle))


def roi_from_box(box: np.ndarray, scale: float = ROI_SCALE) -> ROI:
    """An upright ROI around a person box ``(x0, y0, x1, y1)``: its centre, side ``scale`` × the longer side."""
    box = np.asarray(box, dtype=np.float64)
    return ROI((box[:2] + box[2:]) / 2.0, float(scale * max(box[2] - box[0], box[3] - box[1])), 0.0)
