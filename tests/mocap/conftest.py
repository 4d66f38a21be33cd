"""Fixtures for the mocap tests: the open body model as a retargeting target (with its shape space)."""

from __future__ import annotations

import pytest
import torch

from data_tools.mocap.skeleton import TargetSkeleton


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # small batched solves: threads only add overhead on a shared CPU
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def open_target() -> TargetSkeleton:
    """The open body model's skeleton and joint shape directions (built into the user cache if absent)."""
    return TargetSkeleton.from_body_model()
