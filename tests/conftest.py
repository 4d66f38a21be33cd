"""Shared test fixtures: paths to ../shared (skip cleanly when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


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
