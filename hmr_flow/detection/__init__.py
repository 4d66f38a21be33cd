"""Offline person and 2D keypoint detection with BlazePose and BlazeFace (Google MediaPipe, Apache-2.0) on
LiteRT.

- :mod:`~hmr_flow.detection.models`: the pinned networks, fetched once and cached (``make setup``);
- :mod:`~hmr_flow.detection.runtime`: running a ``.tflite`` file;
- :mod:`~hmr_flow.detection.anchors`, :mod:`~hmr_flow.detection.nms`, :mod:`~hmr_flow.detection.roi`:
  SSD anchors and decoding, non-maximum suppression, letterbox and rotated ROIs;
- :mod:`~hmr_flow.detection.detector`, :mod:`~hmr_flow.detection.faces`: person proposals (the person
  detector; faces, each proposing the person below it);
- :mod:`~hmr_flow.detection.landmarks`: the landmark network on one proposal;
- :mod:`~hmr_flow.detection.pipeline`: image → people with COCO-17 keypoints (:class:`BlazePose`; the
  searches of ``--recall``);
- :mod:`~hmr_flow.detection.coco`, :mod:`~hmr_flow.detection.run`: COCO files and the ``detect`` command's work.
"""

from hmr_flow.detection.coco import ImageDetections, write_coco
from hmr_flow.detection.models import blazepose_files
from hmr_flow.detection.pipeline import BlazePose, DetectedPerson
from hmr_flow.detection.run import NoPersonError, detect_images, detect_into, detect_to_file, image_paths

__all__ = [
    "BlazePose", "DetectedPerson", "ImageDetections", "NoPersonError", "blazepose_files", "detect_images",
    "detect_into", "detect_to_file", "image_paths", "write_coco",
]
