"""Shared test fixtures: paths to ../shared (skip cleanly when absent), the demo scripts as modules, a tiny
rendered synthetic set and a tiny image-model config."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
DEMO_DIR = REPO_ROOT / "demo"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it are skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA} (only developers' machines and CI have it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def flow_prior():
    """The shipped flow pose prior (``hmr_flow/assets/prior_flow.pt``)."""
    from hmr_flow.prior import load_prior

    return load_prior("flow")


def _load_demo_script(name: str):
    """The module of ``demo/<name>.py`` (loaded once per session; ``demo/`` is not a package)."""
    key = f"hmr_flow_demo_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, DEMO_DIR / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


@pytest.fixture(scope="session")
def demo_script():
    """``demo_script(name)`` → the module of ``demo/<name>.py``."""
    return _load_demo_script


TINY_SIZE = 64
TINY_COUNT = 8


def _tiny_config(**changes):
    from hmr_flow.models import HMRConfig

    values = dict(image_size=TINY_SIZE, widths=(8, 16, 32, 64), blocks=(1, 1, 1, 1), feature_dim=32, flow_steps=2,
                  flow_hidden=64, flow_blocks=1, head_hidden=32)
    values.update(changes)
    return HMRConfig(**values)


@pytest.fixture(scope="session")
def tiny_config():
    """Factory ``tiny_config(**changes) -> HMRConfig``: a 64 px model small enough to train for a few
    dozen steps in seconds."""
    return _tiny_config


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory) -> Path:
    """``TINY_COUNT`` renders (64 px) of distinct random poses with the synthetic renderer, as a set on disk."""
    from data_tools.synth.renderer import PoseItem, SynthRenderer
    from data_tools.synth.shards import ShardWriter
    from hmr_flow.fitting.initialisation import relaxed_pose

    out = tmp_path_factory.mktemp("tiny_synth")
    generator = torch.Generator().manual_seed(3)
    poses = relaxed_pose() + 0.35 * torch.randn(TINY_COUNT, 69, generator=generator)
    renderer = SynthRenderer(TINY_SIZE, seed=1, supersample=1)
    items = [PoseItem(i, np.zeros(3, np.float32), poses[i].numpy(), 0, 0, i) for i in range(TINY_COUNT)]
    writer = ShardWriter(out, TINY_SIZE, shard_size=TINY_COUNT // 2)
    for record in renderer.render(items):
        writer.add(record)
    writer.close(["test_clip"], {"note": "rendered by tests/conftest.py"})
    return out
