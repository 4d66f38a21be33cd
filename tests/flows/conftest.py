"""Fixtures for the flow tests: single-threaded, seeded, float64 helpers."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread_seeded():
    """Tiny models run fastest (and are unaffected by CPU contention) on one thread; seed every test."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def _add_parameter_noise(module: torch.nn.Module, scale: float = 0.3) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn_like(p))


@pytest.fixture
def perturb():
    """``perturb(module, scale=0.3)`` adds Gaussian noise to every parameter, so zero-initialised
    layers stop being the identity."""
    return _add_parameter_noise
