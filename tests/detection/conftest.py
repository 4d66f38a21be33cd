"""Fixtures of the detection tests: the BlazePose networks (fetched by ``make setup``) and a photo."""

from __future__ import annotations

from pathlib import Path

import pytest

PHOTOS = Path(__file__).resolve().parents[2] / "demo" / "photos"


@pytest.fixture(scope="session")
def blazepose():
    """The detector on the cached networks; skipped (with the reason) when they are not cached and
    cannot be fetched (``make setup`` fetches them)."""
    from hmr_flow.detection import BlazePose, blazepose_files
    from hmr_flow.wheels import WheelError

    try:
        files = blazepose_files()
    except WheelError as err:
        pytest.skip(f"BlazePose networks unavailable (run 'make setup' once with network access): {err}")
    return BlazePose(files.detector, files.landmarks, files.faces)


@pytest.fixture(scope="session")
def t_pose_photo() -> Path:
    """``demo/photos/t_pose.jpg`` (670×649, CC0): one man standing in a T-pose, facing the camera."""
    return PHOTOS / "t_pose.jpg"
