"""Fixtures for the regressor tests: a tiny synthetic set rendered in the test, and a tiny model config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hmr_flow.models import HMRConfig

TINY_SIZE = 64
TINY_COUNT = 8


def _tiny_config(**changes) -> HMRConfig:
    values = dict(image_size=TINY_SIZE, widths=(8, 16, 32, 64), blocks=(1, 1, 1, 1), feature_dim=32, flow_steps=2,
                  flow_hidden=64, flow_blocks=1, head_hidden=32)  # fmt: skip
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
    writer.close(["test_clip"], {"note": "rendered by tests/models/conftest.py"})
    return out
