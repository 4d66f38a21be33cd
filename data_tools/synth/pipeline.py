"""Render a whole synthetic set: pick mocap frames of one split, render in worker processes, write shards.

Workers are ``spawn``-ed processes (each with its own EGL context, body model and one torch
thread); the main process only writes shards, in image order, with a tqdm progress bar. Image
``i`` depends only on ``(seed, i)`` and the pose file, so the result is the same for any
``workers``. ``workers=0`` renders in the calling process.
"""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from tqdm import tqdm

from data_tools.mocap.dataset import load_poses
from data_tools.synth.backgrounds import PHOTO_LICENCES
from data_tools.synth.sampling import PoseItem, SceneConfig
from data_tools.synth.shards import ShardWriter, prepare_output
from hmr_flow.validation import UserInputError

SPLITS = ("train", "val", "all")


@dataclass(frozen=True)
class RenderJob:
    """What to render: ``n`` images of ``size`` px from the ``split`` frames of ``poses``."""

    poses: Path
    split: str
    n: int
    size: int
    out: Path
    seed: int = 0
    workers: int = 2
    shard_size: int = 500
    chunk: int = 16
    supersample: int = 2
    split_file: Path | None = None
    model: Path | None = None
    overwrite: bool = False


def split_frames(poses: Path, split: str, split_file: Path | None = None) -> np.ndarray:
    """Row indices of the pose file in ``split`` (``'all'`` = every row; else from ``split.npz``,
    by default the one beside the pose file)."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    arrays = load_poses(poses)
    total = len(arrays["subject"])
    if split == "all":
        return np.arange(total)
    path = Path(split_file) if split_file is not None else Path(poses).with_name("split.npz")
    if not path.is_file():
        raise FileNotFoundError(f"split file not found: {path} (build it with 'python -m data_tools mocap build')")
    with np.load(path) as data:
        if split not in data.files:
            raise UserInputError(f"{path}: no {split!r} array (has {data.files})")
        rows = np.asarray(data[split], dtype=np.int64)
    if rows.size == 0 or rows.min() < 0 or rows.max() >= total:
        raise UserInputError(f"{path}: {split!r} indices are empty or outside the {total} frames of {poses}")
    return rows


def choose_frames(rows: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` pose rows drawn from ``rows`` (without replacement while possible), fixed by ``seed``."""
    rng = np.random.default_rng([seed, 0x5E7])
    return rng.choice(rows, size=n, replace=n > len(rows))


_RENDERER = None


def _worker_init(size: int, seed: int, config: SceneConfig, model: Path | None, supersample: int) -> None:
    import torch

    from data_tools.synth.renderer import SynthRenderer

    torch.set_num_threads(1)
    global _RENDERER
    _RENDERER = SynthRenderer(size, seed, config, model_path=model, supersample=supersample)


def _render_chunk(items: list) -> list[dict]:
    return _RENDERER.render(items)


def _chunks(job: RenderJob, arrays: dict, frames: np.ndarray) -> Iterator[list]:
    for start in range(0, len(frames), job.chunk):
        yield [PoseItem(i, arrays["global_orient"][f], arrays["body_pose"][f], int(arrays["subject"][f]),
                        int(arrays["clip"][f]), int(f)) for i, f in enumerate(frames[start : start + job.chunk], start)]


def render_set(job: RenderJob, config: SceneConfig = SceneConfig(), progress: bool = True) -> dict:
    """Render ``job`` into ``job.out`` (shards + ``manifest.json``). Returns a summary dict
    (images, seconds, images_per_second, bytes on disk, manifest path)."""
    if job.n <= 0:
        raise ValueError(f"n: expected > 0 images, got {job.n}")
    if job.size <= 0 or job.size % 8:
        raise ValueError(f"size: expected a positive multiple of 8 pixels, got {job.size}")
    if job.workers < 0:
        raise ValueError(f"workers: expected ≥ 0, got {job.workers}")
    arrays = load_poses(job.poses)
    frames = choose_frames(split_frames(job.poses, job.split, job.split_file), job.n, job.seed)
    out = Path(job.out)
    prepare_output(out, job.overwrite)
    writer = ShardWriter(out, job.size, job.shard_size)
    init = (job.size, job.seed, config, job.model, job.supersample)
    started = time.perf_counter()
    bar = tqdm(total=job.n, unit="img", desc=f"synth {job.split} {job.size}px", disable=not progress, smoothing=0.05)
    if job.workers == 0:
        _worker_init(*init)
        results = map(_render_chunk, _chunks(job, arrays, frames))
        _consume(results, writer, bar)
    else:
        with mp.get_context("spawn").Pool(job.workers, initializer=_worker_init, initargs=init) as pool:
            _consume(pool.imap(_render_chunk, _chunks(job, arrays, frames)), writer, bar)
    bar.close()
    seconds = time.perf_counter() - started
    info = {
        "poses": str(job.poses), "split": job.split, "seed": job.seed, "supersample": job.supersample,
        "body_model": str(job.model) if job.model else "open body model (default)",
        "scene_config": config.to_json(), "background_photos": PHOTO_LICENCES,
        "render_seconds": round(seconds, 1), "workers": job.workers,
    }
    manifest = writer.close([str(c) for c in arrays["clip_names"]], info)
    size_bytes = sum(p.stat().st_size for p in out.glob("shard_*.npz"))
    return {"images": writer.count, "seconds": seconds, "images_per_second": writer.count / seconds,
            "bytes": size_bytes, "manifest": manifest}


def _consume(results, writer: ShardWriter, bar: tqdm) -> None:
    for records in results:
        for record in records:
            writer.add(record)
        bar.update(len(records))


def throughput(poses: Path, size: int, n: int, workers: int, seed: int = 0, supersample: int = 2) -> dict:
    """Benchmark hook: render ``n`` training images at ``size`` px into a temporary folder.

    Returns the :func:`render_set` summary; worker start-up (EGL context, body model) is included
    in ``seconds``, so use a few hundred images for a steady-state figure.
    """
    with tempfile.TemporaryDirectory(prefix="synth_bench_") as tmp:
        job = RenderJob(poses=Path(poses), split="train", n=n, size=size, out=Path(tmp), seed=seed, workers=workers,
                        supersample=supersample)
        summary = render_set(job, progress=False)
        summary["manifest"] = None
        return summary
