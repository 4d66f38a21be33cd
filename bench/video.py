"""Video benchmark: ``hmr-flow fit --keypoints CLIP.json --sequence`` against fitting every frame alone
(``hmr-flow fit --keypoints CLIP.json``), on keypoint sequences of unseen mocap.

Protocol (seeded): ``--clips`` segments of ``--frames`` consecutive frames (30 frames/s) of the
**validation subjects'** clips (``data/mocap/split.npz`` ``val``; the shipped priors and models never
trained on them), each placed in front of a 1280 × 720 camera turned a random yaw about the vertical
(:func:`data_tools.video_clips.place_clip`; f = sqrt(W² + H²)), its COCO-17 keypoints made detector-like
(:func:`data_tools.video_clips.detector_keypoints`: noise 1.2 % of the person's height, 2 % outliers,
confidences 0.6–1, 8 % of the keypoints dropped, a limb hidden for runs of 15–45 frames, 8 % of the frames
missed in runs of 1–6) and written as a COCO file of one image per frame. Both commands run in a fresh
process each (start-up, loading, fitting and writing included), round-robin over ``--repeats`` rounds.

Reported per setting, over the clips: MPJPE and PA-MPJPE (24 joints, mm) on the frames where per-frame
fitting has a body; the acceleration error (:func:`hmr_flow.metrics.acceleration_error`: root-relative
joints, mm/frame² at 30 frames/s) on the frame triplets where per-frame fitting has three bodies, and for
the sequence fit also on every triplet of its tracks; the share of frames with a body; frames/s of the
whole command (one person per clip, so frames/s per person). The figures are means over the clips of each
seed; ``--seeds`` several seeds prints each seed and the mean with its spread (min–max over the seeds).

    python bench/video.py [--seeds 0 1 2] [--clips 4] [--frames 240] [--acceleration-sigmas 100] [--iterations 90]
    python bench/video.py --memory-frames 200 800     # peak memory of the sequence fit against the clip's length

The temporal term's scale (``--acceleration-sigma``) was chosen with ``--seeds 777 --acceleration-sigmas …``
(docs/video.md), not on the reported seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPOSITORY, spread, timed  # noqa: E402  (hmr-flow fit in a fresh process, timed)
from fit_command import fit_command  # noqa: E402

sys.path.insert(0, str(REPOSITORY))  # the repository's data_tools (not installed)
from data_tools.mocap.dataset import load_poses  # noqa: E402
from data_tools.video_clips import (  # noqa: E402
    detector_keypoints, per_frame_joints, place_clip, track_joints, write_sequence_coco)
from hmr_flow.body import BodyModel, KeypointBody  # noqa: E402
from hmr_flow.metrics import acceleration_error, mpjpe, pa_mpjpe  # noqa: E402

SIZE = (1280, 720)
FPS = 30.0
#: Fewest visible keypoints of a fitted person (the commands' --min-keypoints default).
MIN_KEYPOINTS = 6


def validation_segments(poses: dict, val_rows: np.ndarray, count: int, frames: int,
                        rng: np.random.Generator) -> list[np.ndarray]:
    """Rows of ``count`` segments of ``frames`` consecutive frames, each from a different validation clip
    (drawn among the clips that long), at a random start."""
    clips = [c for c in np.unique(poses["clip"][val_rows]) if (poses["clip"][val_rows] == c).sum() >= frames]
    if len(clips) < count:
        raise SystemExit(f"only {len(clips)} validation clips have {frames} frames; ask for fewer --clips or --frames")
    segments = []
    for clip in rng.choice(clips, count, replace=False):
        rows = val_rows[poses["clip"][val_rows] == clip]
        rows = rows[np.argsort(poses["frame"][rows])]
        start = int(rng.integers(0, len(rows) - frames + 1))
        segments.append(rows[start : start + frames])
    return segments


@dataclass(frozen=True)
class Setting:
    """One way of fitting a clip: per frame, or as a sequence with a temporal scale (mm/frame²) and a number of
    optimiser steps (``None``: the command's defaults)."""

    sequence: bool
    sigma: float | None = None
    iterations: int | None = None

    @property
    def name(self) -> str:
        if not self.sequence:
            return "per-frame"
        parts = [f"σ_a {self.sigma:g}" if self.sigma is not None else "",
                 f"{self.iterations} steps" if self.iterations else ""]
        return " ".join(["sequence", *[p for p in parts if p]])

    def options(self) -> list[str]:
        """Options of ``hmr-flow fit`` besides ``--iterations``."""
        if not self.sequence:
            return []
        return ["--sequence"] + (["--acceleration-sigma", str(self.sigma)] if self.sigma is not None else [])


def run_command(coco: Path, out: Path, setting: Setting, extra: list[str]) -> tuple[float, float]:
    """``hmr-flow fit`` in a fresh process (conditional prior, one thread); returns its wall time and CPU time
    (user + system), seconds."""
    command = fit_command(coco, out, "conditional", setting.iterations, None,
                          ["--threads", "1", "--overwrite", *setting.options(), *extra])  # repeats replace the results
    return timed(command, REPOSITORY, REPOSITORY)


def _triplets(found: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(found[2:] & found[1:-1] & found[:-2])


def clip_figures(truth: torch.Tensor, joints: torch.Tensor, found: np.ndarray, reference: np.ndarray,
                 spans: list[np.ndarray] | None = None) -> dict[str, float]:
    """Errors (mm) on the frames and triplets of ``reference`` (where per-frame fitting has a body), the
    acceleration error on every triplet of the tracks ``spans``, and the share of frames with a body."""
    keep = torch.from_numpy(reference)
    accel = 1000 * acceleration_error(joints, truth)
    figures = {
        "mpjpe_mm": float(1000 * mpjpe(joints[keep], truth[keep]).mean()),
        "pa_mpjpe_mm": float(1000 * pa_mpjpe(joints[keep], truth[keep]).mean()),
        "accel_mm": float(accel[_triplets(reference)].mean()),
        "with_body": float(found.mean()),
    }
    if spans is not None:
        values = [acceleration_error(joints[s[0] : s[-1] + 1], truth[s[0] : s[-1] + 1]) for s in spans if len(s) >= 3]
        figures["accel_all_mm"] = float(1000 * torch.cat(values).mean())
        body = torch.from_numpy(found)
        figures["pa_mpjpe_all_mm"] = float(1000 * pa_mpjpe(joints[body], truth[body]).mean())
    return figures


def make_clips(poses: dict, val_rows: np.ndarray, count: int, frames: int, seed: int, body: KeypointBody,
               folder: Path) -> list[tuple[Path, torch.Tensor]]:
    """The seed's clips as COCO files in ``folder`` and their true camera-frame joints ``(T, 24, 3)``."""
    rng = np.random.default_rng(seed)
    clips = []
    for i, rows in enumerate(validation_segments(poses, val_rows, count, frames, rng)):
        placed = place_clip(body, poses["global_orient"][rows], poses["body_pose"][rows], poses["transl"][rows],
                            poses["betas"][rows[0]], yaw=float(rng.uniform(-np.pi, np.pi)), size=SIZE,
                            extra_distance=float(rng.uniform(0.0, 2.0)))
        keypoints = detector_keypoints(placed.keypoints, rng)
        coco = write_sequence_coco(folder / f"seed{seed}_clip{i}.json", keypoints, SIZE, MIN_KEYPOINTS)
        clips.append((coco, torch.from_numpy(placed.joints)))
    return clips


def peak_memory(poses: dict, val_rows: np.ndarray, lengths: list[int], body: KeypointBody, folder: Path) -> None:
    """Peak resident memory of ``hmr-flow fit --sequence`` on the first ``lengths`` frames of the longest
    validation clip (one camera, seed 0): it should not grow with the clip (the fit holds one window)."""
    clips = np.unique(poses["clip"][val_rows])
    longest = max(clips, key=lambda c: (poses["clip"][val_rows] == c).sum())
    rows = val_rows[poses["clip"][val_rows] == longest]
    rows = rows[np.argsort(poses["frame"][rows])]
    print(f"\npeak memory of hmr-flow fit --sequence, one thread, on {poses['clip_names'][longest]} ({len(rows)} frames)")
    print("| frames | peak RSS MB | seconds | frames/s |\n|---|---|---|---|")
    for length in lengths:
        part = rows[: min(length, len(rows))]
        placed = place_clip(body, poses["global_orient"][part], poses["body_pose"][part], poses["transl"][part],
                            poses["betas"][part[0]], yaw=0.5, size=SIZE)
        coco = write_sequence_coco(folder / f"memory_{len(part)}.json",
                                   detector_keypoints(placed.keypoints, np.random.default_rng(0)), SIZE, MIN_KEYPOINTS)
        command = fit_command(coco, folder / f"memory_{len(part)}", "conditional", None, None,
                              ["--sequence", "--threads", "1"])
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if status:
            raise SystemExit(f"{' '.join(command)} failed")
        print(f"| {len(part)} | {usage.ru_maxrss / 1024:.0f} | {seconds:.1f} | {len(part) / seconds:.1f} |")


def _summary(rows: list[dict]) -> dict[str, float]:
    return {key: statistics.mean(r[key] for r in rows) for key in rows[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=Path, default=REPOSITORY / "data/mocap/poses.npz")
    parser.add_argument("--split", type=Path, default=REPOSITORY / "data/mocap/split.npz")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--clips", type=int, default=4, help="clips per seed")
    parser.add_argument("--frames", type=int, default=240, help="frames per clip (30 frames/s)")
    parser.add_argument("--acceleration-sigmas", type=float, nargs="+", default=[None],
                        help="--acceleration-sigma values of the sequence fit to compare (mm/frame²; default: the "
                             "command's)")
    parser.add_argument("--iterations", type=int, nargs="+", default=[None],
                        help="--iterations of the sequence fit to compare (default: the command's)")
    parser.add_argument("--no-per-frame", action="store_true", help="skip the per-frame fits (their metrics are needed "
                                                                     "for the comparison: only with --seeds to tune)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of the timed commands")
    parser.add_argument("--memory-frames", type=int, nargs="+",
                        help="instead: peak memory of the sequence fit on clips of these lengths (e.g. 200 800)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("extra", nargs="*", help="more options for both hmr-flow fit runs, after --")
    args = parser.parse_args(argv)

    poses = load_poses(args.poses)
    with np.load(args.split) as split:
        val_rows = split["val"]
    body = KeypointBody(BodyModel())
    if args.memory_frames:
        with tempfile.TemporaryDirectory() as tmp:
            peak_memory(poses, val_rows, args.memory_frames, body, Path(tmp))
        return 0
    settings = ([] if args.no_per_frame else [Setting(False)]) + [
        Setting(True, sigma, iterations) for sigma in args.acceleration_sigmas for iterations in args.iterations]
    results: dict = {(seed, s): [] for seed in args.seeds for s in settings}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for coco, truth in make_clips(poses, val_rows, args.clips, args.frames, seed, body, Path(tmp)):
                seconds: dict = {s: [] for s in settings}
                cpu: dict = {s: [] for s in settings}
                outs = {s: Path(tmp) / f"{coco.stem}_{i}" for i, s in enumerate(settings)}
                for _ in range(args.repeats):
                    for setting in settings:
                        wall, used = run_command(coco, outs[setting], setting, args.extra)
                        seconds[setting].append(wall)
                        cpu[setting].append(used)
                reference = None
                if not args.no_per_frame:
                    joints, reference = per_frame_joints(outs[settings[0]], coco.stem, args.frames)
                for setting in settings:
                    if not setting.sequence:
                        figures = clip_figures(truth, joints, reference, reference)
                    else:
                        seq, found, spans = track_joints(outs[setting], coco.stem, args.frames)
                        figures = clip_figures(truth, seq, found, reference if reference is not None else found, spans)
                    figures["frames_per_s"] = args.frames / statistics.median(seconds[setting])
                    figures["frames_per_cpu_s"] = args.frames / statistics.median(cpu[setting])
                    results[(seed, setting)].append(figures)
    rows = []
    print(f"\n{args.clips} validation clips × {args.frames} frames (30 frames/s, 1280×720) per seed; whole command, "
          f"one thread, {args.repeats} round(s); errors in mm, acceleration in mm/frame²; frames/s of the wall clock "
          f"and per CPU-second of the command (what a free core gives when the machine is shared)")
    header = ("| seed | setting | MPJPE | PA-MPJPE | accel. error | accel. error, all frames | frames with a body | "
              "frames/s | frames per CPU-s |")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for seed in args.seeds:
        for setting in settings:
            s = _summary(results[(seed, setting)])
            rows.append({"seed": seed, "setting": setting.name, **s})
            print(f"| {seed} | {setting.name} | {s['mpjpe_mm']:.1f} | {s['pa_mpjpe_mm']:.1f} | {s['accel_mm']:.1f} | "
                  f"{s.get('accel_all_mm', float('nan')):.1f} | {100 * s['with_body']:.1f} % | {s['frames_per_s']:.1f} | "
                  f"{s['frames_per_cpu_s']:.1f} |")
    if len(args.seeds) > 1:
        print("\nmean over the seeds (min–max)")
        print(header.replace("| seed ", ""))
        print("|---" * (header.count("|") - 2) + "|")
        for setting in settings:
            per_seed = [_summary(results[(seed, setting)]) for seed in args.seeds]
            cells = []
            for key in ("mpjpe_mm", "pa_mpjpe_mm", "accel_mm", "accel_all_mm", "with_body", "frames_per_s",
                        "frames_per_cpu_s"):
                values = [p.get(key, float("nan")) * (100 if key == "with_body" else 1) for p in per_seed]
                cells.append(spread(values, centre=statistics.mean))
            print(f"| {setting.name} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
