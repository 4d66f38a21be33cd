"""Atomic writes for prior files (temporary file in the same folder, then ``os.replace``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _temporary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def save_torch_atomic(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically."""
    path = Path(path)
    tmp = _temporary(path)
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


def save_npz_atomic(arrays: dict[str, np.ndarray], path: str | Path) -> Path:
    """``np.savez`` of plain arrays to ``path`` atomically (no pickles)."""
    path = Path(path)
    tmp = _temporary(path)
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(tmp, path)
    return path
