"""Fit every person of a clip and write the results (what ``hmr-flow fit --video`` / ``--sequence`` runs).

The people of the clip's frames are linked into tracks (:func:`hmr_flow.video.track_people`); each track is
fitted as a whole (:func:`~hmr_flow.fitting.sequence.fit_track`: per-frame pose, orientation and
translation, one shape, the prior on every detected frame, the temporal term), starting from each detected
frame's first hypothesis — or, with several hypotheses per frame, from the best per-frame fit of them
(:func:`~hmr_flow.fitting.fitter.fit_people`) — and from interpolated poses on the frames where the person
was missed.

Per track ``k`` (1, 2, … in order of appearance), in the output folder:

- ``<stem>_track<k>.npz``: ``frame (T,)`` (0-based frame numbers: of the video, or of the keypoint file's
  frames, see :mod:`~hmr_flow.fitting.sequence_io`), ``global_orient (T, 3)`` (axis-angle, camera frame),
  ``body_pose (T, 69)``, ``betas (10,)`` (one shape for the track), ``transl (T, 3)`` m, ``joints (T, 24,
  3)`` m camera frame, ``keypoints_2d (T, K, 2)`` fitted px (K = 17 for COCO-17 input, 25 for BODY_25),
  ``keypoints_observed (T, K, 3)`` (zeros where missed), ``detected (T,)`` bool, ``person_ids (T,)`` (the
  detection's label in its frame, −1 where missed), ``data_loss``/``prior_loss``/``temporal_loss (T,)``,
  ``prior_log_prob (T,)`` (nats; NaN where missed or without a density), ``track_id``, ``focal`` px,
  ``principal_point (2,)`` px, ``image_size (2,)`` (W, H), ``fps``, ``keypoint_format``, ``prior``,
  ``body_model`` (as the per-image ``_params.npz``). smplx poses an official model the same way, the one
  shape repeated: ``smplx.SMPL()(global_orient=…, body_pose=…, transl=…, betas=torch.as_tensor(
  params["betas"])[None].expand(T, -1))``.
- ``<stem>_track<k>_<frame>.<ply|obj|glb>``: the mesh of every frame, only when a mesh format is asked for.

And ``<stem>_overlay.mp4`` when rendering: every frame with the tracks' meshes over the video frame (grey
without a video) | the same seen from the side by a camera that stays put for the whole clip (depth
jitter shows there).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hmr_flow.body import BodyModel
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.files import npz_writer, write_set
from hmr_flow.fitting.checks import check_keypoints
from hmr_flow.fitting.fitter import fit_people, prior_sampler
from hmr_flow.fitting.initialisation import Initialisation, default_initialisation
from hmr_flow.fitting.outputs import MESH_FORMATS, save_mesh
from hmr_flow.fitting.sequence import SequenceConfig, TrackFit, TrackStart, fill_missed, fit_track
from hmr_flow.fitting.sequence_io import KeypointSequence
from hmr_flow.fitting.sequence_outputs import render_clip
from hmr_flow.geometry import default_focal
from hmr_flow.prior import FittingPrior
from hmr_flow.validation import DivergedError, UserInputError
from hmr_flow.video import Track, TrackerSettings, track_people

log = logging.getLogger(__name__)

#: ``start(keypoints (D, K, 3), keypoint_format, focal, size) -> (Initialisation (D, N), prior_of)``: the
#: hypotheses of a track's ``D`` detected frames and ``prior_of(rows) -> prior`` of those frames' rows
#: (``rows`` ascending indices into the ``D``; a prior scoring ``len(rows)`` bodies, or ``len(rows) · N``
#: people-major; ``None`` for no prior).
TrackStartHook = Callable[[np.ndarray, str, float, tuple[int, int]],
                          tuple[Initialisation, Callable[[np.ndarray], FittingPrior | None]]]


@dataclass
class SequenceOptions:
    """Settings of a clip's fit: the prior (``PosePrior`` or ``None``) and its name, focal length (``None`` =
    ``sqrt(W² + H²)``), the track fit's :class:`SequenceConfig` (its ``fit`` gives the hypotheses per frame
    and the sampling temperature), a seed, the
    ``start`` hook (:data:`TrackStartHook`; ``None`` = facing / away hypotheses and prior samples with
    ``prior``), how tracks are linked, the body model file (``None`` = the open model), the mesh format
    (``None`` = no meshes), whether to write the overlay video, and the video its frames come from
    (``None``: grey) with its frame rate."""

    prior: object | None = None
    prior_name: str = "none"
    focal: float | None = None
    config: SequenceConfig = field(default_factory=SequenceConfig)
    seed: int = 0
    start: TrackStartHook | None = None
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    body_model: str | Path | None = None
    mesh_format: str | None = None
    render: bool = False
    video: Path | None = None
    fps: float = 30.0


def _default_start(options: SequenceOptions) -> TrackStartHook:
    def start(keypoints: np.ndarray, keypoint_format: str, focal: float, size: tuple[int, int]):
        generator = torch.Generator().manual_seed(options.seed)
        fit = options.config.fit
        init = default_initialisation(len(keypoints), fit.num_hypotheses,
                                      prior_sampler(options.prior, generator, fit.sample_temperature), generator)
        return init, lambda rows: options.prior

    return start


def _track_start(track: Track, keypoint_body: KeypointBody, keypoint_format: str, focal: float,
                 size: tuple[int, int], options: SequenceOptions):
    """The track's :class:`TrackStart` and ``prior_of(frames)`` (indices into the track)."""
    rows_of = np.cumsum(track.detected) - 1  # track frame -> row among the detected frames
    detected = np.flatnonzero(track.detected)
    hook = options.start or _default_start(options)
    init, prior_rows = hook(track.keypoints[detected], keypoint_format, focal, size)
    orient, pose = init.global_orient[:, 0], init.body_pose[:, 0]
    betas = init.betas[:, 0] if init.betas is not None else torch.zeros(len(detected), keypoint_body.num_betas)
    if init.num_hypotheses > 1:  # the best of each frame's hypotheses after a per-frame fit, a window at a time
        results = []
        for begin in range(0, len(detected), options.config.window):
            rows = np.arange(begin, min(begin + options.config.window, len(detected)))
            part = Initialisation(init.global_orient[rows], init.body_pose[rows],
                                  None if init.betas is None else init.betas[rows])
            results.append(fit_people(keypoint_body, torch.from_numpy(track.keypoints[detected[rows]]), keypoint_format,
                                      focal, (size[0] / 2.0, size[1] / 2.0), prior=prior_rows(rows), init=part,
                                      config=options.config.fit, progress=False))
        orient, pose, betas = (torch.cat([getattr(r, k) for r in results]) for k in ("global_orient", "body_pose", "betas"))
    frames = len(track.detected)
    full_orient = torch.zeros(frames, 3)
    full_pose = torch.zeros(frames, 69)
    full_orient[detected], full_pose[detected] = orient.float().cpu(), pose.float().cpu()
    full_orient, full_pose = fill_missed(full_orient, full_pose, torch.from_numpy(track.detected))
    start = TrackStart(full_orient, full_pose, betas.float().cpu().mean(0))
    return start, lambda frames_in_track: prior_rows(rows_of[frames_in_track])


def _check_track(sequence: KeypointSequence, track: Track, fit: TrackFit) -> None:
    """A fitted track must be finite with the body in front of the camera in every frame."""
    frame_numbers = sequence.frames[track.frames]
    for name in ("global_orient", "body_pose", "betas", "transl", "joints"):
        values = getattr(fit, name).reshape(len(track.detected), -1) if name != "betas" else fit.betas[None]
        bad = (~torch.isfinite(values)).any(dim=1)
        if bad.any():
            raise DivergedError(f"{sequence.source}: track {track.track_id}: the fit diverged (non-finite {name}); "
                                f"check focal/keypoints")
    behind = (fit.joints[:, 0, 2] <= 0).nonzero().flatten().tolist()
    if behind:
        raise DivergedError(f"{sequence.source}: track {track.track_id}: the fitted body lies behind the camera in "
                            f"frame {int(frame_numbers[behind[0]])}; check focal/keypoints")


def _arrays(sequence: KeypointSequence, track: Track, fit: TrackFit, options: SequenceOptions, focal: float,
            size: tuple[int, int], body_name: str) -> dict[str, np.ndarray]:
    arrays = {name: getattr(fit, name).detach().cpu().numpy().astype(np.float32)
              for name in ("global_orient", "body_pose", "betas", "transl", "joints", "keypoints_2d", "data_loss",
                           "prior_loss", "prior_log_prob", "temporal_loss")}
    labels = np.full(len(track.detected), -1, np.int64)
    for i, (frame, person) in enumerate(zip(track.frames, track.person_ids)):
        if person >= 0:
            labels[i] = sequence.person_ids[frame][person]
    arrays.update({
        "frame": sequence.frames[track.frames].astype(np.int64),
        "keypoints_observed": track.keypoints.astype(np.float32),
        "detected": track.detected.copy(),
        "person_ids": labels,
        "track_id": np.int64(track.track_id),
        "focal": np.float32(focal),
        "principal_point": np.asarray([size[0] / 2.0, size[1] / 2.0], np.float32),
        "image_size": np.asarray(size, np.int64),
        "fps": np.float32(options.fps),
        "keypoint_format": np.asarray(sequence.keypoint_format),
        "prior": np.asarray(options.prior_name),
        "body_model": np.asarray(body_name),
    })
    return arrays


def sequence_tracks(sequence: KeypointSequence, size: tuple[int, int], tracker: TrackerSettings,
                    min_keypoints: int | None = None) -> list[Track]:
    """The checked keypoints of ``sequence`` linked into tracks.

    Raises:
        UserInputError: keypoints that cannot be a person in a ``size`` image, or no track at all (nobody in
            any frame, or nobody in at least ``tracker.min_detections`` frames).
    """
    for frame, people, ids in zip(sequence.frames, sequence.people, sequence.person_ids):
        check_keypoints(f"{sequence.source}: frame {frame}", people, ids, size)
    tracks = track_people(sequence.people, tracker)
    if not tracks:
        seen = sum(1 for people in sequence.people if len(people))
        enough = f" with at least {min_keypoints} keypoints" if min_keypoints else ""
        if seen == 0:
            raise UserInputError(f"{sequence.source}: no person{enough} in any of the {len(sequence.frames)} frames")
        raise UserInputError(f"{sequence.source}: no person seen in {tracker.min_detections} or more frames (people"
                             f"{enough} in {seen} of {len(sequence.frames)} frames; see --min-track-frames)")
    return tracks


def earlier_tracks(out: str | Path, name: str, meshes: bool = False) -> list[Path]:
    """The ``<name>_track<k>.npz`` files of an earlier run on the clip ``name`` in ``out`` (with ``meshes``,
    also its ``<name>_track<k>_<frame>.<ply|obj|glb>`` meshes), in name order."""
    out = Path(out)
    if not out.is_dir():
        return []
    ends = r"\.npz|_\d+\.(?:" + "|".join(MESH_FORMATS) + ")" if meshes else r"\.npz"
    pattern = re.compile(re.escape(name) + r"_track\d+(?:" + ends + ")")
    return sorted(path for path in out.iterdir() if pattern.fullmatch(path.name) and path.is_file())


def fit_sequence(sequence: KeypointSequence, options: SequenceOptions, out: str | Path,
                 tracks: list[Track] | None = None,
                 on_track: Callable[[Track, TrackFit], object] | None = None) -> list[Path]:
    """Fit every track of ``sequence`` (:func:`sequence_tracks` unless given) and write the files of the
    module docstring into ``out``; returns the paths written. ``on_track(track, fit)`` is called with each
    track's fit (e.g. to report how well it matches the keypoints without reading the files back)."""
    if options.mesh_format is not None and options.mesh_format not in MESH_FORMATS:
        raise ValueError(f"mesh_format: expected one of {', '.join(MESH_FORMATS)}, got {options.mesh_format!r}")
    if sequence.size is None:
        raise UserInputError(f"{sequence.source}: frame size unknown: the keypoint file gives none; give --image-size "
                             f"W H or the clip with --video")
    size = tuple(sequence.size)
    tracks = tracks if tracks is not None else sequence_tracks(sequence, size, options.tracker)
    out = Path(out)
    body = BodyModel(options.body_model)
    keypoint_body = KeypointBody(body)
    focal = options.focal if options.focal is not None else default_focal(*size)
    centre = (size[0] / 2.0, size[1] / 2.0)
    writes: dict[Path, Callable[[Path], object]] = {}
    fits: list[TrackFit] = []
    frames_total = sum(len(t.detected) for t in tracks)
    with tqdm(total=frames_total, desc="fit", unit="frame", disable=frames_total < 2) as bar:
        for track in tracks:
            start, prior_of = _track_start(track, keypoint_body, sequence.keypoint_format, focal, size, options)
            fit = fit_track(keypoint_body, torch.from_numpy(track.keypoints), torch.from_numpy(track.detected),
                            sequence.keypoint_format, focal, centre, start, prior_of, options.config, bar.update)
            _check_track(sequence, track, fit)
            arrays = _arrays(sequence, track, fit, options, focal, size, body.name)
            writes[out / f"{sequence.name}_track{track.track_id}.npz"] = npz_writer(arrays)
            fits.append(fit)
            if on_track is not None:
                on_track(track, fit)
    # the tracks replace an earlier run's tracks and meshes of this clip together (no stale track left beside them)
    written = write_set(writes, stale=earlier_tracks(out, sequence.name, meshes=True))
    if options.mesh_format is not None:
        written += _write_meshes(sequence, tracks, fits, body, out, options.mesh_format)
    if options.render:
        written.append(render_clip(out / f"{sequence.name}_overlay.mp4", sequence.frames, tracks, fits, body, focal,
                                   size, options.fps, options.video))
    return written


def _write_meshes(sequence: KeypointSequence, tracks: list[Track], fits: list[TrackFit], body: BodyModel, out: Path,
                  mesh_format: str) -> list[Path]:
    written = []
    for track, fit in zip(tracks, fits):
        for start in range(0, len(track.detected), 64):  # vertices of 64 frames at a time
            part = slice(start, start + 64)
            with torch.no_grad():
                vertices = body(global_orient=fit.global_orient[part], body_pose=fit.body_pose[part],
                                betas=fit.betas[None].expand(len(fit.body_pose[part]), -1),
                                transl=fit.transl[part]).vertices.numpy()
            for frame, verts in zip(sequence.frames[track.frames[part]], vertices):
                name = f"{sequence.name}_track{track.track_id}_{int(frame):06d}.{mesh_format}"
                written.append(save_mesh(out / name, verts, body.faces))
    return written
