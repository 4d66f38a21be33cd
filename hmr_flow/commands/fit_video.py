"""``hmr-flow fit --video CLIP`` and ``hmr-flow fit --keypoints FILE --sequence``: a clip's people followed
across frames and fitted smoothly (one file per track; :mod:`hmr_flow.fitting.sequence_pipeline`).

:func:`add_sequence_options` adds the options to ``fit``'s parser; ``fit`` hands a run with ``--video`` or
``--sequence`` to :func:`run_sequence` and refuses these options without them (:func:`check_per_image`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from hmr_flow.validation import (
    UserInputError,
    check_output_dir,
    check_result_sets,
    exclusive_run,
    positive_float,
    positive_int,
)
from hmr_flow.validation.file_kinds import KEYPOINTS, TRACK_PARAMETERS, VIDEO

#: Tracks of people seen in fewer frames are dropped (detector flicker).
DEFAULT_MIN_TRACK_FRAMES = 3


def add_sequence_options(parser: argparse.ArgumentParser) -> None:
    """``--video``, ``--sequence``, ``--every``, ``--render``, ``--acceleration-sigma``, ``--min-track-frames``,
    ``--max-gap``, ``--window``."""
    from hmr_flow.fitting.sequence import ACCELERATION_SIGMA, SequenceConfig
    from hmr_flow.video import TrackerSettings

    group = parser.add_argument_group("video (people followed across frames, one file per track)")
    group.add_argument("--video", type=Path, metavar="CLIP",
                       help="a video (.mp4, .avi, .mov, …) or an image sequence pattern (frames/%%05d.png): people are "
                            "detected in every frame (as --image does) unless --keypoints gives them, then linked into "
                            "tracks and fitted smoothly; writes <stem>_track<k>.npz per person")
    group.add_argument("--sequence", action="store_true",
                       help="the --keypoints file is one clip's frames: a COCO file (images in id order), a COCO results "
                            "list (image_id = frame number) or a folder of OpenPose JSON files (name order)")
    group.add_argument("--every", type=positive_int, metavar="N",
                       help="use every N-th frame only (default: every frame)")
    group.add_argument("--render", action="store_true",
                       help="also write <stem>_overlay.mp4: the meshes over each frame (grey without --video) and "
                            "from the side")
    group.add_argument("--acceleration-sigma", type=positive_float, metavar="MM", default=1000 * ACCELERATION_SIGMA,
                       help="spread of the joints' acceleration in mm per frame², the temporal term's scale (smaller: "
                            "smoother; see docs/video.md)")
    group.add_argument("--min-track-frames", type=positive_int, metavar="N", default=DEFAULT_MIN_TRACK_FRAMES,
                       help="drop tracks of people detected in fewer frames")
    group.add_argument("--max-gap", type=int, metavar="N", default=TrackerSettings.max_gap,
                       help="frames a person may go undetected and keep their track (the frames between are filled)")
    group.add_argument("--window", type=positive_int, metavar="N", default=SequenceConfig.window,
                       help="frames fitted at once (longer tracks in overlapping windows; memory grows with it)")


def is_sequence(args: argparse.Namespace) -> bool:
    """Whether ``fit`` runs on a clip (``--video`` or ``--sequence``)."""
    return args.video is not None or args.sequence


def check_per_image(args: argparse.Namespace) -> None:
    """:class:`UserInputError` for a clip option given to a per-image ``fit``."""
    for option, given in (("--every", args.every is not None), ("--render", args.render)):
        if given:
            raise UserInputError(f"{option}: needs --video or --sequence (a clip); per image, see --overlays")


def _check_inputs(args: argparse.Namespace) -> None:
    if args.sequence and args.keypoints is None:
        raise UserInputError("--sequence: needs --keypoints (the clip's keypoint file or folder); or give --video")
    if args.image is not None or args.images is not None:
        raise UserInputError("--video/--sequence: a clip is fitted from its frames, not --image/--images")
    if args.overlays:
        raise UserInputError("--overlays: per image only; a clip's overlay video is --render")
    if args.max_gap < 0:
        raise UserInputError(f"--max-gap: expected an integer ≥ 0, got {args.max_gap}")
    if args.window < 16:
        raise UserInputError(f"--window: expected at least 16 frames, got {args.window}")
    for option, path in (("--keypoints", args.keypoints), ("--body-model", args.body_model)):
        if path is not None and not path.exists():
            raise UserInputError(f"{option} {path}: not found")


def _check_earlier_results(args: argparse.Namespace, name: str) -> None:
    """Refuse (before any work) to replace an earlier run's results for the clip ``name`` in ``--out`` without
    ``--overwrite``, and files of another kind under their names whatever the flags."""
    from hmr_flow.fitting.keypoint_io import DETECTED_NAME
    from hmr_flow.fitting.sequence_pipeline import earlier_tracks

    files = [(path.name, TRACK_PARAMETERS) for path in earlier_tracks(args.out, name)]
    if args.render:
        files.append((f"{name}_overlay.mp4", VIDEO))
    if args.keypoints is None:
        files.append((DETECTED_NAME, KEYPOINTS))
    check_result_sets(args.out, files, args.overwrite)


def _read_clip(args: argparse.Namespace):
    """The clip's :class:`~hmr_flow.fitting.sequence_io.KeypointSequence`, its frame rate, and for detected
    people their detections (written once the clip has tracks); refuses to replace earlier results first
    (:func:`_check_earlier_results`)."""
    from hmr_flow.fitting.sequence_io import read_sequence, sequence_of_frames
    from hmr_flow.video import video_info

    info = video_info(args.video) if args.video is not None else None
    fps = info.fps if info is not None else 30.0
    if args.keypoints is not None:
        sequence = read_sequence(args.keypoints, args.min_keypoints)
        _check_earlier_results(args, sequence.name)
        size = sequence.size or (tuple(args.image_size) if args.image_size else None) or (info.size if info else None)
        if info is not None and size != info.size:
            raise UserInputError(f"--video {args.video}: frames of {info.size[0]}×{info.size[1]} pixels, the keypoints' "
                                 f"{size[0]}×{size[1]}")
        sequence.size = size
        return sequence.every(args.every or 1), fps, None
    from hmr_flow.detection import make_detector
    from hmr_flow.detection.video import detect_video

    stem = args.video.stem.replace("%", "") or "video"
    _check_earlier_results(args, stem)
    detections = detect_video(args.video, make_detector(args.recall), args.every or 1)
    sequence = sequence_of_frames(stem, args.video, [d.index for d in detections],
                                  [np.stack([p.keypoints for p in d.people]) if d.people else np.zeros((0, 17, 3))
                                   for d in detections], info.size, args.min_keypoints)
    return sequence, fps, detections


def run_sequence(args: argparse.Namespace, config, from_regression: bool) -> int:
    """``fit`` on a clip; ``config`` the per-frame :class:`~hmr_flow.fitting.FitConfig` of the command's options,
    ``from_regression`` whether the hypotheses come from the conditional model. The output rules of ``fit``:
    one run at a time per folder, an earlier run's results replaced only with ``--overwrite``."""
    _check_inputs(args)
    if args.device != "cpu":
        raise UserInputError(f"--device {args.device}: clips are fitted on the CPU (leave --device out)")
    check_output_dir(args.out, [args.keypoints, args.video])
    with exclusive_run(args.out):  # a second run into this folder is refused, not interleaved with this one
        return _fit_clip_locked(args, config, from_regression)


def _fit_clip_locked(args: argparse.Namespace, config, from_regression: bool) -> int:
    from hmr_flow.fitting.keypoint_io import DETECTED_NAME
    from hmr_flow.fitting.sequence import SequenceConfig
    from hmr_flow.fitting.sequence_pipeline import SequenceOptions, fit_sequence, sequence_tracks
    from hmr_flow.metrics import pck
    from hmr_flow.video import TrackerSettings

    started = time.perf_counter()
    sequence, fps, detections = _read_clip(args)
    if sequence.size is None:
        raise UserInputError(f"{args.keypoints}: frame size unknown: the keypoint file gives none; give --image-size "
                             f"W H, or the clip with --video")
    tracker = TrackerSettings(max_gap=args.max_gap, min_detections=args.min_track_frames)
    tracks = sequence_tracks(sequence, sequence.size, tracker, args.min_keypoints)
    start, prior = _start_hook(args, config.num_hypotheses, from_regression)
    if detections is not None:  # only now: every check has passed
        from hmr_flow.fitting.sequence_io import write_frames_coco

        write_frames_coco(args.out / DETECTED_NAME, args.video, detections)
    sequence_config = SequenceConfig(fit=config, acceleration_sigma=args.acceleration_sigma / 1000.0,
                                     window=args.window, overlap=min(SequenceConfig.overlap, args.window // 2 - 1))
    options = SequenceOptions(prior=prior, prior_name=args.prior, focal=args.focal,
                              config=sequence_config, seed=args.seed, start=start, tracker=tracker,
                              body_model=args.body_model, mesh_format=args.mesh_format, render=args.render,
                              video=args.video, fps=fps)
    agreement: dict[int, float] = {}

    def record_agreement(track, fit) -> None:
        seen = torch.from_numpy(track.detected)
        observed = torch.from_numpy(track.keypoints)[seen]
        agreement[track.track_id] = float(pck(fit.keypoints_2d[seen], observed[..., :2], observed[..., 2] > 0).mean())

    written = fit_sequence(sequence, options, args.out, tracks, record_agreement)
    for track in tracks:
        frames, seen = sequence.frames[track.frames], int(track.detected.sum())
        print(f"track {track.track_id}: frames {frames[0]}–{frames[-1]} ({len(frames)} frames, {seen} "
              f"detected, {len(frames) - seen} filled), fitted keypoints within 10 % of the box: "
              f"{100 * agreement[track.track_id]:.0f} %")
    count = len(sequence.frames)
    print(f"fitted {len(tracks)} tracks over {count} frames in {time.perf_counter() - started:.1f} s; wrote "
          f"{len(written)} files to {args.out}")
    return 0


def _start_hook(args: argparse.Namespace, hypotheses: int, from_regression: bool):
    """The track start hook and the run's own prior (``None`` for the conditional prior, which the hook gives)."""
    from hmr_flow.prior import load_prior

    conditional = args.prior == "conditional"
    prior = None if conditional else load_prior(args.prior, args.prior_weights)
    if not (from_regression or conditional):
        return None, prior
    from hmr_flow.models import load_model
    from hmr_flow.models.sequence_start import conditional_track_start

    model = load_model(args.model_weights, "cpu")
    if model.config.rgb:
        raise UserInputError(f"--model-weights {args.model_weights}: a model with {model.config.inputs} input needs each "
                             f"frame's image; clips are fitted with a keypoint model (the shipped one)")
    return conditional_track_start(model, hypotheses, args.seed, prior, from_model=from_regression), prior
