"""Offline person and 2D keypoint detection with BlazePose and BlazeFace (Google MediaPipe, Apache-2.0) on
LiteRT.

- :mod:`~hmr_flow.detection.models`: the pinned networks, fetched once and cached (``make setup``);
- :mod:`~hmr_flow.detection.runtime`: running a ``.tflite`` file;
- :mod:`~hmr_flow.detection.anchors`, :mod:`~hmr_flow.detection.nms`, :mod:`~hmr_flow.detection.roi`:
  SSD anchors and decoding, non-maximum suppression, letterbox and rotated ROIs;
- :mod:`~hmr_flow.detection.detector`, :mod:`~hmr_flow.detection.faces`: person proposals (the person
  detector; faces, each proposing the person below it);
- :mod:`~hmr_flow.detection.landmarks`: the landmark network on one proposal;
- :mod:`~hmr_flow.detection.base`: the :class:`Detector` protocol (image, optional boxes → people with
  keypoints and boxes) and what it returns;
- :mod:`~hmr_flow.detection.pipeline`: image → people with COCO-17 keypoints (:class:`BlazePose`, the
  searches of ``--recall``, :func:`make_detector`);
- :mod:`~hmr_flow.detection.run`: the images of ``--image``/``--images`` through a detector (the COCO
  file is written by :func:`hmr_flow.fitting.keypoint_io.write_coco`).
"""

from hmr_flow.detection.base import DetectedPerson, Detector, ImageDetections
from hmr_flow.detection.models import blazepose_files
from hmr_flow.detection.pipeline import DEFAULT_RECALL, RECALL, BlazePose, make_detector
from hmr_flow.detection.run import NoPersonError, detect_images, image_paths

__all__ = [
    "DEFAULT_RECALL", "RECALL", "BlazePose", "DetectedPerson", "Detector", "ImageDetections", "NoPersonError",
    "blazepose_files", "detect_images", "image_paths", "make_detector",
]
