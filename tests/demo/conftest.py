"""Fixtures of the demo tests: the demo scripts as modules (``demo_script`` in tests/conftest.py), one thread."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def run_demo(demo_script):
    return demo_script("run_demo")


@pytest.fixture(scope="session")
def demo_poses(run_demo):
    return run_demo.load_demo_poses()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # small batched fits: threads only add overhead on a shared CPU
    yield
    torch.set_num_threads(previous)
