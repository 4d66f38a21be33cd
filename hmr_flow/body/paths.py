"""Where the open body model lives: ``$HMR_FLOW_CACHE``, else ``$XDG_CACHE_HOME/hmr_flow``, else
``~/.cache/hmr_flow``. The file name carries :data:`MODEL_FORMAT_VERSION`, so a changed builder
never reuses a stale file."""

from __future__ import annotations

import os
from pathlib import Path

#: Bump whenever the builder's output changes.
MODEL_FORMAT_VERSION = 1


def cache_dir() -> Path:
    """The user cache directory for hmr_flow (not created here)."""
    if os.environ.get("HMR_FLOW_CACHE"):
        return Path(os.environ["HMR_FLOW_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "hmr_flow"
    return Path.home() / ".cache" / "hmr_flow"


def open_model_name(version: int = MODEL_FORMAT_VERSION) -> str:
    """How output files name the open model in their ``body_model`` field, e.g. ``open-v1``: the betas of
    a pose file belong to this model (an official SMPL file is named by its file name instead)."""
    return f"open-v{version}"


def default_model_path() -> Path:
    """Path of the open model file, e.g. ``~/.cache/hmr_flow/open_body_v1.npz``."""
    return cache_dir() / f"open_body_v{MODEL_FORMAT_VERSION}.npz"
