"""Convert many mocap clips in parallel, and build the training pose file + subject split from the
shared mocap (``../shared/data/mocap``: CMU in four conversions, HDM05).

Known facts about the shared data (from its README and checked against the files):

* ``cmu_daz43/salsa_60_61``: the header says 120 fps but the clips are 60 fps; files ``01``–``15`` are
  subject 60 and ``16``–``30`` subject 61 (the two dance partners: equal frame counts pairwise).
* ``cmu_deepmimic`` (JSON frame rows, ``*.txt``) is read with the humanoid's offsets from
  ``humanoid3d_skeleton.json`` (:mod:`data_tools.mocap.deepmimic`); its subjects 11, 43, 49, 85, 88, 90,
  127, 139 and 140 are in no other folder (the others repeat motion of subjects 2–16).
* ``hdm05`` (Acclaim ASF/AMC, :mod:`data_tools.mocap.asf_amc`, 120 fps): four actors, subject ids
  :data:`~data_tools.mocap.convert.HDM05_SUBJECTS` (above 1000: CMU's subjects are 1–144).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from data_tools.mocap.convert import ConvertedClip, convert_clip, infer_subject
from data_tools.mocap.dataset import pack_clips
from data_tools.mocap.quality import clip_rows, format_table, rig_rows
from data_tools.mocap.skeleton import TargetSkeleton
from hmr_flow.files import save_npz, write_text

#: Folders of the shared mocap root that are converted (all by default), and the pattern of their clip files.
SHARED_FOLDERS = {"cmu_mb31": "*.bvh", "cmu_daz43": "*.bvh", "cmu_iclone": "*.bvh", "cmu_deepmimic": "[0-9]*.txt",
                  "hdm05": "*.amc"}
#: Validation subjects. CMU: martial arts (135), basketball/dance in two rigs (6), jumps/runs (16) and
#: walks/climbing (3) — varied motion, 7,940 frames at 30 fps (their 507 DeepMimic frames are excluded,
#: see :func:`split_by_subject`); the salsa dancers (60, 61: 24 % of CMU each) are too big for validation.
#: HDM05: actor ``bd`` (1001), whose mix of the 11 motion classes is the closest to the other three
#: actors' (half the summed class-share difference: 0.08, vs 0.13–0.20 for dg, bk, mm), with every class
#: and 23 % of HDM05's frames (bk, the largest, has 32 %). Everyone else trains. The split is by subject
#: only, so a pose file built from fewer folders (``mocap build --folders``) has the same validation
#: frames of the folders it keeps.
VALIDATION_SUBJECTS = (3, 6, 16, 135, 1001)


@dataclass(frozen=True)
class ClipJob:
    """One clip to convert: file, clip id, subject, true native fps (``None`` = header), skeleton file
    (ASF or DeepMimic JSON; ``None`` = found beside the clip)."""

    path: Path
    clip: str
    subject: int
    native_fps: float | None = None
    skeleton: Path | None = None


def shared_jobs(root: str | Path, folders: tuple[str, ...] | None = None) -> list[ClipJob]:
    """Every clip of the shared mocap root's ``folders`` (default: all of :data:`SHARED_FOLDERS`, in its
    order) with its id, subject and fps fix (module docstring)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"mocap root not found: {root} (expected ../shared/data/mocap)")
    unknown = sorted(set(folders or ()) - set(SHARED_FOLDERS))
    if unknown:
        raise ValueError(f"unknown shared mocap folders {unknown} (known: {', '.join(SHARED_FOLDERS)})")
    jobs = []
    for folder, pattern in SHARED_FOLDERS.items():
        if folders is not None and folder not in folders:
            continue
        files = sorted((root / folder).rglob(pattern))
        if not files:
            raise FileNotFoundError(f"{root / folder}: no {pattern} files (is the mocap root right?)")
        for path in files:
            clip = str(path.relative_to(root).with_suffix(""))
            if path.parent.name == "salsa_60_61":
                take = int(path.stem)
                jobs.append(ClipJob(path, clip, 60 if take <= 15 else 61, 60.0))
            else:
                jobs.append(ClipJob(path, clip, infer_subject(path)))
    return jobs


def _worker_init(target: TargetSkeleton, options: dict) -> None:
    global _STATE
    torch.set_num_threads(1)  # one process per core; threads inside would oversubscribe
    _STATE = (target, options)


def _convert_job(job: ClipJob) -> ConvertedClip:
    target, options = _STATE
    clip = convert_clip(job.path, target, native_fps=job.native_fps, subject=job.subject, skeleton=job.skeleton,
                        **options)
    clip.clip = job.clip
    return clip


def convert_many(jobs: list[ClipJob], target: TargetSkeleton, fps: float = 30.0, dedupe_deg: float = 0.0,
                 workers: int | None = None, fit_betas: bool = True,
                 refine_positions: bool = True) -> list[ConvertedClip]:
    """Convert ``jobs`` (in order) over ``workers`` processes (default: CPU count) with a progress bar;
    the options are those of :func:`convert_clip`."""
    workers = max(1, min(workers or mp.cpu_count(), len(jobs)))
    init = (target, {"fps": fps, "dedupe_deg": dedupe_deg, "fit_betas": fit_betas,
                     "refine_positions": refine_positions})
    # big clips first so the pool stays busy; results are put back in job order
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].path.stat().st_size)
    results: list[ConvertedClip | None] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), desc="mocap clips", unit="clip")
    if workers == 1:
        _worker_init(*init)
        for i in order:
            results[i] = _convert_job(jobs[i])
            bar.update()
    else:
        with mp.get_context("spawn").Pool(workers, initializer=_worker_init, initargs=init) as pool:
            for i, clip in zip(order, pool.imap(_convert_job, [jobs[i] for i in order])):
                results[i] = clip
                bar.update()
    bar.close()
    return results


def split_by_subject(subjects: np.ndarray, validation: tuple[int, ...] = VALIDATION_SUBJECTS,
                     partial: np.ndarray | None = None) -> dict:
    """Frame indices of the train/validation split (by subject, never by frame).

    ``partial (N,)`` marks frames of rigs that leave some SMPL joints undriven (``RigSpec.undriven``):
    held-out likelihoods of such frames would reward a prior for the rig's frozen joints, so the
    validation subjects' partial frames are in neither split (``excluded``)."""
    val = np.isin(subjects, validation)
    partial = np.zeros(len(subjects), dtype=bool) if partial is None else np.asarray(partial, dtype=bool)
    return {"train": np.flatnonzero(~val), "val": np.flatnonzero(val & ~partial),
            "excluded": np.flatnonzero(val & partial)}


def build(root: str | Path, out: str | Path, target: TargetSkeleton, fps: float = 30.0,
          dedupe_deg: float = 0.0, workers: int | None = None, fit_betas: bool = True,
          refine_positions: bool = True, folders: tuple[str, ...] | None = None) -> dict:
    """Convert the shared mocap (its ``folders``, default all) into ``out/poses.npz``, ``out/split.npz``
    and ``out/report.json``.

    Returns the summary written to ``report.json`` (per-rig and per-clip error rows, counts per subject
    and per folder, seconds).
    """
    started = time.perf_counter()
    out = Path(out)
    jobs = shared_jobs(root, folders)
    clips = convert_many(jobs, target, fps=fps, dedupe_deg=dedupe_deg, workers=workers, fit_betas=fit_betas,
                         refine_positions=refine_positions)
    arrays = pack_clips(clips)
    save_npz(arrays, out / "poses.npz")
    split = split_by_subject(arrays["subject"], partial=arrays["partial"])
    save_npz({**split, "val_subjects": np.array(VALIDATION_SUBJECTS, dtype=np.int32)}, out / "split.npz")
    subjects = arrays["subject"]
    summary = {
        "target": target.source, "fps": fps, "dedupe_deg": dedupe_deg, "fit_betas": fit_betas,
        "refine_positions": refine_positions, "folders": sorted({job.clip.split("/")[0] for job in jobs}),
        "frames": int(len(subjects)), "train_frames": int(len(split["train"])), "val_frames": int(len(split["val"])),
        "val_fraction": float(len(split["val"]) / len(subjects)),
        "excluded_val_frames": int(len(split["excluded"])),
        "val_subjects": list(VALIDATION_SUBJECTS),
        "frames_per_subject": {int(s): int((subjects == s).sum()) for s in np.unique(subjects)},
        "frames_per_folder": folder_counts(arrays, split),
        "rigs": rig_rows(clips), "clips": clip_rows(clips),
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_text(out / "report.json", json.dumps(summary, indent=1))
    return summary


def folder_counts(arrays: dict[str, np.ndarray], split: dict[str, np.ndarray]) -> dict[str, dict[str, int]]:
    """Frames of each shared folder (the first part of the clip ids) in all, in training and in validation."""
    folder = np.array([name.split("/")[0] for name in arrays["clip_names"]])[arrays["clip"]]
    counts = {}
    for name in np.unique(folder):
        mine = folder == name
        counts[str(name)] = {"frames": int(mine.sum()), "train": int(mine[split["train"]].sum()),
                             "val": int(mine[split["val"]].sum())}
    return counts


def summary_text(rigs: list[dict], clips: list[dict], worst: int = 5) -> str:
    """Per-rig table and the ``worst`` clips by p95 (text for the terminal)."""
    ranked = sorted(clips, key=lambda r: -r["p95_cm"])[:worst]
    return (f"Matched-joint error per rig (cm):\n{format_table(rigs)}\n\n"
            f"Worst {len(ranked)} clips by p95 (cm):\n{format_table(ranked)}")


def clip_label(path: Path) -> str:
    """Clip id for a file outside the shared layout: ``<parent folder>/<stem>``."""
    return re.sub(r"\s+", "_", f"{path.parent.name}/{path.stem}")
