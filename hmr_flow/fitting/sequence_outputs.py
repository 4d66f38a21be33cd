"""The overlay video of a fitted clip: per frame, the tracks' meshes over the frame | the same seen from the
side by a camera that stays put for the whole clip (so the depth of the bodies, and any jitter in it, shows).

Frames are read, rendered and written one at a time (:mod:`hmr_flow.video`); the meshes of a frame are
posed when it is drawn, so memory does not grow with the clip.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
from tqdm.auto import tqdm

from hmr_flow.fitting.outputs import PERSON_COLOURS
from hmr_flow.video import read_frames, write_video

if TYPE_CHECKING:
    from hmr_flow.body import BodyModel
    from hmr_flow.fitting.sequence import TrackFit
    from hmr_flow.video import Track

log = logging.getLogger(__name__)

#: Grey of the frames drawn without a video.
BACKGROUND = 96
#: Share of the side view's width and height the clip's joints may fill.
SIDE_FILL = 0.7


@dataclass(frozen=True)
class SideView:
    """A fixed side camera for a clip: points are turned 90° about the vertical axis through ``centre``
    (camera frame, metres) and moved by ``shift`` (so the whole clip fills the view)."""

    centre: np.ndarray
    shift: np.ndarray

    _TURN = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])

    @classmethod
    def framing(cls, joints: np.ndarray, focal: float, size: tuple[int, int]) -> SideView:
        """The side camera that shows every joint of ``joints (N, 24, 3)`` (all frames, all tracks) within
        :data:`SIDE_FILL` of an image of ``size`` ``(W, H)`` seen with ``focal``."""
        points = joints.reshape(-1, 3).astype(np.float64)
        centre = 0.5 * (points.min(0) + points.max(0))
        turned = (points - centre) @ cls._TURN.T
        low, high = turned.min(0), turned.max(0)
        middle = 0.5 * (low + high)
        depth = max(focal * (high[0] - low[0]) / (SIDE_FILL * size[0]), focal * (high[1] - low[1]) / (SIDE_FILL * size[1]))
        depth = max(depth, 1.0) + 0.5 * (high[2] - low[2])
        return cls(centre, np.array([-middle[0], -middle[1], depth - middle[2]]))

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        """``vertices (…, 3)`` camera frame → the side camera's frame."""
        return (vertices - self.centre) @ self._TURN.T + self.shift


def _frame_images(frames: np.ndarray, size: tuple[int, int], video: Path | None):
    """``(frame number, (H, W, 3) uint8)`` for each of ``frames``: the video's frame, or grey."""
    wanted = set(int(f) for f in frames)
    grey = np.full((size[1], size[0], 3), BACKGROUND, np.uint8)
    if video is not None:
        step = int(np.gcd.reduce(np.asarray(frames, np.int64))) if len(frames) > 1 else 1
        for index, image in read_frames(video, max(step, 1)):
            if index in wanted:
                wanted.discard(index)
                yield index, image
            if not wanted:
                return
        if wanted:
            log.warning("%s: ends before frame %d; later frames are drawn on grey", video, min(wanted))
    for frame in sorted(wanted):
        yield frame, grey


def render_clip(path: str | Path, frames: np.ndarray, tracks: list[Track], fits: list[TrackFit], body: BodyModel,
                focal: float, size: tuple[int, int], fps: float, video: Path | None = None) -> Path:
    """Write the overlay ``.mp4`` (``(H, 2W)`` frames: front | side) of the fitted ``tracks`` over the clip's
    ``frames`` (frame numbers; the frames of ``video`` with those numbers, or grey); returns ``path``."""
    from hmr_flow.render import MeshSpec, render_meshes  # the renderer's import is slow: only when drawing

    side = SideView.framing(np.concatenate([fit.joints.numpy() for fit in fits]), focal, size)
    centre = (size[0] / 2.0, size[1] / 2.0)
    position = {int(f): i for i, f in enumerate(frames)}
    with write_video(path, (2 * size[0], size[1]), fps) as writer:
        for number, image in tqdm(_frame_images(frames, size, video), total=len(frames), desc="render", unit="frame",
                                  leave=False):
            index = position[number]
            meshes, labels = [], []
            for track, fit in zip(tracks, fits):
                row = index - track.start
                if not 0 <= row < len(track.detected):
                    continue
                with torch.no_grad():
                    vertices = body(global_orient=fit.global_orient[row : row + 1], body_pose=fit.body_pose[row : row + 1],
                                    betas=fit.betas[None], transl=fit.transl[row : row + 1]).vertices[0].numpy()
                colour = PERSON_COLOURS[(track.track_id - 1) % len(PERSON_COLOURS)]
                meshes.append(MeshSpec(vertices, body.faces, colour))
                labels.append((track.track_id, fit.keypoints_2d[row].numpy(), bool(track.detected[row])))
            front, _ = render_meshes(meshes, focal, size, centre, background=image)
            back, _ = render_meshes([MeshSpec(side(m.vertices), m.faces, m.color) for m in meshes], focal, size, centre)
            for track_id, points, seen in labels:
                top = points[np.argmin(points[:, 1])]
                text = f"{track_id}" if seen else f"{track_id} (filled)"
                cv2.putText(front, text, (int(top[0]), max(12, int(top[1]) - 12)), cv2.FONT_HERSHEY_SIMPLEX,
                            max(0.4, size[1] / 900), (255, 255, 255), 1, cv2.LINE_AA)
            writer.write(np.concatenate([front, back], axis=1))
    return Path(path)
