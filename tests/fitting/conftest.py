"""Fixtures for the fitting tests: one body model per session, single-threaded torch."""

from __future__ import annotations

import pytest
import torch

from hmr_flow.body import BodyModel
from hmr_flow.body import KeypointBody


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: threads only add overhead on a shared CPU
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def body() -> BodyModel:
    return BodyModel()


@pytest.fixture(scope="session")
def keypoint_body(body) -> KeypointBody:
    return KeypointBody(body)
