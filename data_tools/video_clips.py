"""Video clips from mocap: a clip before a camera, detector-like keypoints, the demo's clip asset.

    python -m data_tools.video_clips --out hmr_flow/assets/demo_clip.npz

**Placing a clip** (:func:`place_clip`): the mocap world is Y up; the camera looks horizontally (a small
downward pitch) at the mean pelvis position of the clip, turned ``yaw`` about the vertical, and is moved
back until every frame's joints fill at most :data:`FILL` of the image (never nearer than
:data:`MIN_DISTANCE`). Returned: the camera-frame (OpenCV: x right, y down, z forward) SMPL parameters of
every frame (``global_orient (T, 3)``, ``body_pose (T, 69)``, ``betas (10,)``, ``transl (T, 3)``: the body
model posed with them gives the camera-frame body), its ``sources (T, 35, 3)`` (24 joints + 11 keypoint
vertices of :class:`hmr_flow.body.KeypointBody`) and exact COCO-17 keypoints ``(T, 17, 2)`` px.

**Detector-like keypoints** (:func:`detector_keypoints`, what ``bench/video.py`` and the demo fit): per frame
Gaussian noise of :attr:`Detections.noise` × the person's keypoint-box height, a share of outliers moved
by ten times that, confidences in [0.6, 1], independent dropped keypoints, one limb (elbow + wrist, or
knee + ankle) hidden for runs of frames, and missed frames (the detector saw nobody) in short runs.

**Demo asset** (``demo_clip.npz``): :data:`DEMO_FRAMES` consecutive frames of a validation-subject clip
(``data/mocap/split.npz`` ``val``: the shipped priors and models never trained on them): ``global_orient
(T, 3)`` (mocap world, Y up), ``body_pose (T, 69)``, ``transl (T, 3)``, ``betas (10,)``, ``fps``, ``clip_name``,
``subject``, ``first_row``, ``source``, ``licence``. Licence: CMU Graphics Lab Motion Capture Database, as
:mod:`data_tools.demo_assets`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hmr_flow.files import save_npz, write_text

#: Largest share of the image's width and height the clip's joints may cover (the rest is margin:
#: keypoints of the head and hands lie outside the joints).
FILL = 0.8
#: Nearest camera distance to the clip's centre, metres.
MIN_DISTANCE = 3.5
#: Downward pitch of the camera, radians.
PITCH = np.deg2rad(5.0)
#: COCO-17 limbs hidden as a whole: (elbow, wrist) and (knee, ankle), left and right.
LIMBS = ((7, 9), (8, 10), (13, 15), (14, 16))
#: Frames of the demo clip (2 s at 30 frames/s: kicks and punches) and the clip they come from.
DEMO_FRAMES = 60
DEMO_CLIP = "cmu_daz43/martial_135/06"
DEMO_FIRST_FRAME = 110


@dataclass
class PlacedClip:
    """A clip in the camera frame (see the module docstring); ``focal`` px, ``size`` ``(W, H)`` px."""

    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    sources: np.ndarray
    keypoints: np.ndarray
    focal: float
    size: tuple[int, int]

    @property
    def joints(self) -> np.ndarray:
        """``(T, 24, 3)`` camera-frame joints, metres."""
        return self.sources[:, :24]


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    """World (Y up) → OpenCV camera: turn ``yaw`` about +Y, flip Y and Z (180° about X), tilt ``pitch``."""
    cos, sin = np.cos(yaw), np.sin(yaw)
    turn = np.array([[cos, 0.0, sin], [0.0, 1.0, 0.0], [-sin, 0.0, cos]])
    flip = np.diag([1.0, -1.0, -1.0])
    cp, sp = np.cos(pitch), np.sin(pitch)
    tilt = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    return tilt @ flip @ turn


def place_clip(body, global_orient: np.ndarray, body_pose: np.ndarray, transl: np.ndarray, betas: np.ndarray,
               yaw: float, size: tuple[int, int] = (1280, 720), extra_distance: float = 0.0) -> PlacedClip:
    """The mocap clip (``global_orient (T, 3)`` world axis-angle, ``body_pose (T, 69)``, ``transl (T, 3)``
    world metres, ``betas (10,)``) seen by a camera turned ``yaw`` radians about the vertical, at the
    nearest distance that frames it (plus ``extra_distance`` m), focal ``sqrt(W² + H²)``. ``body``: a
    :class:`hmr_flow.body.KeypointBody`."""
    from hmr_flow.geometry import axis_angle_to_matrix, default_focal, matrix_to_axis_angle, shape_blend

    frames = len(body_pose)
    rotation = _rotation(yaw, PITCH)
    orient_world = axis_angle_to_matrix(torch.as_tensor(global_orient, dtype=torch.float32))
    rotations = torch.cat([orient_world[:, None],
                           axis_angle_to_matrix(torch.as_tensor(body_pose, dtype=torch.float32).view(frames, 23, 3))], 1)
    shape = torch.as_tensor(betas, dtype=torch.float32).reshape(1, -1).expand(frames, -1)
    with torch.no_grad():
        world = body(rotations, shape, torch.as_tensor(transl, dtype=torch.float32)).double().numpy()
    rest_root = shape_blend(body.joint_template, body.joint_shapedirs, shape[:1])[0, 0].double().numpy()
    turned = world @ rotation.T
    centre = turned[:, 0].mean(0)
    focal = default_focal(*size)
    relative = turned - centre
    distance = MIN_DISTANCE
    for axis, extent in ((0, size[0]), (1, size[1])):  # |x| / (d + z) ≤ FILL · extent / (2 f) for every point
        limit = FILL * extent / (2 * focal)
        distance = max(distance, float((np.abs(relative[..., axis]) / limit - relative[..., 2]).max()))
    distance += extra_distance
    offset = np.array([0.0, 0.0, distance]) - centre
    sources = turned + offset
    camera_orient = matrix_to_axis_angle(torch.as_tensor(rotation, dtype=torch.float32) @ orient_world).numpy()
    # joints = R_go (J_rest − J0) + J0 + transl: in the camera frame the root's offset J0 turns with the body
    camera_transl = (np.asarray(transl, np.float64) + rest_root) @ rotation.T + offset - rest_root
    keypoints = _project(torch.einsum("ks,bsc->bkc", body.coco17_matrix.double(), torch.from_numpy(sources)).numpy(),
                         focal, size)
    return PlacedClip(camera_orient.astype(np.float32), np.asarray(body_pose, np.float32), np.asarray(betas, np.float32),
                      camera_transl.astype(np.float32), sources.astype(np.float32), keypoints.astype(np.float32),
                      focal, size)


def _project(points: np.ndarray, focal: float, size: tuple[int, int]) -> np.ndarray:
    return points[..., :2] / points[..., 2:3] * focal + np.array([size[0] / 2.0, size[1] / 2.0])


@dataclass(frozen=True)
class Detections:
    """How detector-like the keypoints are (see the module docstring); shares per keypoint or frame."""

    noise: float = 0.012
    outliers: float = 0.02
    dropped: float = 0.08
    hidden_limb_runs: float = 1 / 60
    hidden_limb_frames: tuple[int, int] = (15, 45)
    missed: float = 0.08
    missed_frames: tuple[int, int] = (1, 6)


def _runs(frames: int, share: float, lengths: tuple[int, int], rng: np.random.Generator) -> list[tuple[int, int]]:
    """Runs ``(start, stop)`` of random lengths in ``lengths`` covering about ``share`` of ``frames``."""
    runs = []
    mean = (lengths[0] + lengths[1]) / 2
    for _ in range(rng.poisson(share * frames / mean)):
        length = int(rng.integers(lengths[0], lengths[1] + 1))
        start = int(rng.integers(0, max(1, frames - length)))
        runs.append((start, start + length))
    return runs


def detector_keypoints(keypoints: np.ndarray, rng: np.random.Generator, settings: Detections = Detections()) -> np.ndarray:
    """``(T, 17, 3)`` ``(u, v, confidence)`` of exact keypoints ``(T, 17, 2)`` px as a detector would give them:
    noise, outliers, dropped keypoints, a hidden limb for runs of frames (confidence 0), and missed frames
    (every confidence 0)."""
    frames = len(keypoints)
    height = keypoints[..., 1].max(1) - keypoints[..., 1].min(1)
    sigma = settings.noise * height[:, None, None]
    noisy = keypoints + sigma * rng.normal(size=keypoints.shape)
    wild = rng.random(keypoints.shape[:2]) < settings.outliers
    noisy[wild] += (10 * sigma * rng.normal(size=keypoints.shape))[wild]
    confidence = rng.uniform(0.6, 1.0, keypoints.shape[:2])
    confidence[rng.random(keypoints.shape[:2]) < settings.dropped] = 0.0
    for start, stop in _runs(frames, settings.hidden_limb_runs * np.mean(settings.hidden_limb_frames),
                             settings.hidden_limb_frames, rng):
        confidence[start:stop, list(LIMBS[rng.integers(len(LIMBS))])] = 0.0
    for start, stop in _runs(frames, settings.missed, settings.missed_frames, rng):
        confidence[start:stop] = 0.0
    return np.concatenate([noisy, confidence[..., None]], -1).astype(np.float32)


def write_sequence_coco(path: str | Path, keypoints: np.ndarray, size: tuple[int, int], min_keypoints: int = 6) -> Path:
    """A COCO file of a clip's frames that ``hmr-flow fit --keypoints FILE --sequence`` reads: one image per
    frame (``id`` = frame, ``file_name`` ``<stem>_<frame>.jpg`` — no such file: ``width``/``height`` give the
    camera), an annotation for each frame with at least ``min_keypoints`` keypoints of ``keypoints (T, 17, 3)``
    seen; the third values are confidences (``info.keypoint_values``)."""
    path = Path(path)
    images, annotations = [], []
    for frame, points in enumerate(keypoints):
        images.append({"id": frame, "file_name": f"{path.stem}_{frame:06d}.jpg", "width": int(size[0]),
                       "height": int(size[1])})
        if (points[:, 2] > 0).sum() >= min_keypoints:
            annotations.append({"id": frame, "image_id": frame, "category_id": 1, "iscrowd": 0,
                                "keypoints": np.round(points.astype(np.float64), 3).reshape(-1).tolist()})
    return write_text(path, json.dumps({"info": {"keypoint_values": "confidence"}, "images": images,
                                        "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}))


def per_frame_joints(folder: str | Path, stem: str, frames: int) -> tuple[torch.Tensor, np.ndarray]:
    """Joints ``(T, 24, 3)`` of the per-image fits ``<stem>_<frame>_params.npz`` (``hmr-flow fit --keypoints``
    on a :func:`write_sequence_coco` file) in ``folder`` (zeros where there is none), and which frames have one."""
    joints, found = torch.zeros(frames, 24, 3), np.zeros(frames, bool)
    for frame in range(frames):
        path = Path(folder) / f"{stem}_{frame:06d}_params.npz"
        if path.is_file():
            with np.load(path) as params:
                joints[frame] = torch.from_numpy(params["joints"][0]).float()
            found[frame] = True
    return joints, found


def track_joints(folder: str | Path, stem: str, frames: int) -> tuple[torch.Tensor, np.ndarray, list[np.ndarray]]:
    """Joints ``(T, 24, 3)`` of the track files ``<stem>_track<k>.npz`` (``hmr-flow fit --sequence``) in
    ``folder`` (zeros where none), which frames have a body, and each track's frames. Raises ``ValueError`` if a
    frame inside a track has no body."""
    joints, found, spans = torch.zeros(frames, 24, 3), np.zeros(frames, bool), []
    for path in sorted(Path(folder).glob(f"{stem}_track*.npz")):
        with np.load(path) as params:
            frame = params["frame"]
            if not np.isfinite(params["joints"]).all() or len(frame) != frame[-1] - frame[0] + 1:
                raise ValueError(f"{path}: a frame of the track has no body")
            joints[frame] = torch.from_numpy(params["joints"]).float()
        found[frame] = True
        spans.append(frame)
    return joints, found, spans


def make_demo_clip(poses_path: str | Path, split_path: str | Path, clip_name: str = DEMO_CLIP,
                   first: int = DEMO_FIRST_FRAME, frames: int = DEMO_FRAMES) -> dict[str, np.ndarray]:
    """The arrays of ``demo_clip.npz`` (see the module docstring)."""
    from data_tools.demo_assets import LICENCE, SOURCE, load_validation

    arrays, rows = load_validation(poses_path, split_path)
    names = arrays["clip_names"]
    matches = np.flatnonzero(names == clip_name)
    if len(matches) != 1:
        raise ValueError(f"{poses_path}: no clip {clip_name!r}")
    chosen = rows[arrays["clip"][rows] == matches[0]]
    chosen = chosen[np.argsort(arrays["frame"][chosen])][first : first + frames]
    if len(chosen) != frames:
        raise ValueError(f"{clip_name}: fewer than {first + frames} validation frames")
    return {
        "global_orient": arrays["global_orient"][chosen].astype(np.float32),
        "body_pose": arrays["body_pose"][chosen].astype(np.float32),
        "transl": arrays["transl"][chosen].astype(np.float32),
        "betas": arrays["betas"][chosen[0]].astype(np.float32),
        "fps": np.float32(arrays["fps"]),
        "clip_name": np.array(clip_name),
        "subject": np.int32(arrays["subject"][chosen[0]]),
        "first_row": np.int64(chosen[0]),
        "source": np.array(SOURCE),
        "licence": np.array(LICENCE),
    }


def main(argv: list[str] | None = None) -> int:
    from data_tools.demo_assets import asset_parser

    parser = asset_parser("python -m data_tools.video_clips", __doc__.splitlines()[0], "hmr_flow/assets/demo_clip.npz")
    args = parser.parse_args(argv)
    try:
        arrays = make_demo_clip(args.poses, args.split)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    save_npz(arrays, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KB): {arrays['clip_name']} rows "
          f"{arrays['first_row']}…{arrays['first_row'] + DEMO_FRAMES - 1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
