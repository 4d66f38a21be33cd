"""Atomic writes for prior files and tables (temporary file in the same folder, then ``os.replace``)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from collections.abc import Iterable, Sequence
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


def save_csv_atomic(header: Sequence[str], rows: Iterable[Sequence], path: str | Path) -> Path:
    """A CSV with ``header`` and ``rows`` at ``path`` atomically."""
    path = Path(path)
    tmp = _temporary(path)
    with open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)
    return path
