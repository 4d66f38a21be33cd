"""Detect the people of every frame of a video with any :class:`~hmr_flow.detection.base.Detector` (what
``hmr-flow fit --video`` runs first), frame by frame; :func:`hmr_flow.fitting.sequence_io.write_frames_coco`
writes the result as a COCO file whose image ids are the frame numbers.

Only keypoints are kept (never the frames), so memory does not grow with the clip. A frame without anyone
is kept as a frame with no people (the tracks bridge it); when no frame has anyone, :class:`NoPersonError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from hmr_flow.detection.base import DetectedPerson, Detector
from hmr_flow.detection.pipeline import make_detector
from hmr_flow.detection.run import NoPersonError
from hmr_flow.video import read_frames


@dataclass
class FrameDetections:
    """The people found in frame ``index`` (0-based in the video) of a clip of frame size ``size`` ``(W, H)``."""

    index: int
    size: tuple[int, int]
    people: list[DetectedPerson]


def detect_video(path: str | Path, detector: Detector | None = None, every: int = 1) -> list[FrameDetections]:
    """The people of every ``every``-th frame of ``path`` found by ``detector`` (default:
    :func:`~hmr_flow.detection.pipeline.make_detector`'s), with a progress bar over frames.

    Raises:
        hmr_flow.video.VideoReadError: the video cannot be read (missing, not decodable, no frames, a frame
            of another size).
        NoPersonError: nobody in any frame.
    """
    detector = detector or make_detector()
    found = [FrameDetections(index, (frame.shape[1], frame.shape[0]), detector(frame))
             for index, frame in tqdm(read_frames(path, every), desc="detecting", unit="frame")]
    if not any(frame.people for frame in found):
        raise NoPersonError(f"{path}: no person found in any of its {len(found)} frames")
    return found
