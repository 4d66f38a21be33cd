"""Loading the demo scripts (``demo/*.py`` is not a package) as modules for the tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"


def load_script(name: str):
    """The module of ``demo/<name>.py`` (loaded once per session)."""
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
    return load_script


@pytest.fixture(scope="session")
def run_demo():
    return load_script("run_demo")


@pytest.fixture(scope="session")
def fit_images():
    return load_script("fit_images")


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
