"""Reading and writing video: frames one at a time, never the whole clip in memory.

- :func:`video_info` opens a clip and reads its first frame: :class:`VideoInfo` (frame size, frame rate).
- :func:`read_frames` yields ``(index, (H, W, 3) uint8 RGB)`` frame by frame (every ``every``-th frame,
  ``index`` 0-based in the clip), counting what it reads (a container's frame count is an estimate).
- :class:`VideoWriter` writes an ``.mp4`` (MPEG-4 Part 2, OpenCV's ``mp4v``; its wheel bundles FFmpeg)
  through :func:`hmr_flow.files.atomic_path`: the file appears complete or not at all.

A clip is a video file OpenCV's FFmpeg can decode (``.mp4``, ``.avi``, ``.mov``, ``.mkv``, ``.webm``, …) or
an image sequence given as a printf pattern (``frames/%05d.png``; OpenCV's image-sequence reader, frames
numbered from the first file found). Bad input is one :class:`VideoReadError` naming the file: missing,
not decodable, no frames, or a frame whose size differs from the first (FFmpeg rescales such frames
silently; image sequences deliver them as they are). Tested on opencv-python-headless 5.x.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hmr_flow.files import atomic_path
from hmr_flow.validation import UserInputError

#: Frame rate assumed when the clip states none (image sequences): frames per second.
DEFAULT_FPS = 30.0


class VideoReadError(UserInputError):
    """A clip that is missing, cannot be decoded, has no frames or changes frame size (the message names it)."""


@dataclass(frozen=True)
class VideoInfo:
    """A clip's frame ``size`` ``(W, H)`` pixels (of its first frame) and ``fps`` (frames per second;
    :data:`DEFAULT_FPS` when the clip states none)."""

    size: tuple[int, int]
    fps: float


def is_pattern(path: str | Path) -> bool:
    """Whether ``path`` is an image-sequence pattern (``frames/%05d.png``) rather than a file."""
    return "%" in Path(path).name


def _open(path: str | Path) -> cv2.VideoCapture:
    path = Path(path)
    if is_pattern(path):
        if not path.parent.is_dir():
            raise VideoReadError(f"{path}: folder of the image sequence not found")
        capture = cv2.VideoCapture(str(path), cv2.CAP_IMAGES)
    else:
        if not path.is_file():
            raise VideoReadError(f"{path}: video not found")
        if path.stat().st_size == 0:
            raise VideoReadError(f"{path}: empty file (0 bytes), not a video")
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        if is_pattern(path):
            raise VideoReadError(f"{path}: no image matches the image-sequence pattern (numbering starts at 0 or 1)")
        raise VideoReadError(f"{path}: not a video OpenCV can decode (unknown format, or a file cut short)")
    return capture


def _rgb(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)


def video_info(path: str | Path) -> VideoInfo:
    """Open ``path`` and decode its first frame: :class:`VideoInfo`; :class:`VideoReadError` if it cannot."""
    capture = _open(path)
    try:
        ok, frame = capture.read()
        fps = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    if not ok or frame is None:
        raise VideoReadError(f"{path}: no frames could be decoded (an empty or corrupt video)")
    fps = float(fps) if fps and np.isfinite(fps) and fps > 0 and not is_pattern(path) else DEFAULT_FPS
    return VideoInfo((frame.shape[1], frame.shape[0]), fps)


def read_frames(path: str | Path, every: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, frame)`` of every ``every``-th frame of ``path`` (0, every, 2·every, …), ``frame (H, W, 3)``
    uint8 RGB, decoded one at a time.

    Raises:
        VideoReadError: the clip cannot be opened, has no frames, or a frame's size differs from the
            first frame's (raised when that frame is reached).
    """
    if every < 1:
        raise ValueError(f"every: expected a positive integer, got {every}")
    capture = _open(path)
    size = None
    index = 0
    try:
        while True:
            ok = capture.grab()
            if not ok:
                break
            if index % every == 0:
                ok, frame = capture.retrieve()
                if not ok or frame is None:
                    raise VideoReadError(f"{path}: frame {index} cannot be decoded (a corrupt video)")
                shape = (frame.shape[1], frame.shape[0])
                if size is None:
                    size = shape
                elif shape != size:
                    raise VideoReadError(f"{path}: frame {index} is {shape[0]}×{shape[1]} pixels, the first frame "
                                         f"{size[0]}×{size[1]}: a clip must keep one frame size")
                yield index, _rgb(frame)
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise VideoReadError(f"{path}: no frames could be decoded (an empty or corrupt video)")


class VideoWriter:
    """Frames ``(H, W, 3)`` uint8 RGB of one size into an ``.mp4`` at ``fps``; use :func:`write_video`."""

    def __init__(self, writer: cv2.VideoWriter, size: tuple[int, int]) -> None:
        self._writer, self.size, self.frames = writer, size, 0

    def write(self, rgb: np.ndarray) -> None:
        if (rgb.shape[1], rgb.shape[0]) != self.size or rgb.dtype != np.uint8:
            raise ValueError(f"frame: expected ({self.size[1]}, {self.size[0]}, 3) uint8, got {rgb.shape} {rgb.dtype}")
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1


@contextmanager
def write_video(path: str | Path, size: tuple[int, int], fps: float) -> Iterator[VideoWriter]:
    """Context manager: a :class:`VideoWriter` whose ``.mp4`` replaces ``path`` when the block ends without
    an error and with at least one frame written (else nothing is left behind)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), tuple(int(s) for s in size))
        if not writer.isOpened():
            raise OSError(f"{path}: cannot write video (OpenCV's mp4v writer refused it)")
        video = VideoWriter(writer, tuple(int(s) for s in size))
        try:
            yield video
        finally:
            writer.release()
        if video.frames == 0:
            raise ValueError(f"{path}: no frames to write")
