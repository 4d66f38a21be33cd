"""Random-number-generator states for bit-exact resume of a training run.

:func:`rng_state` captures the global torch (CPU and, when present, CUDA), numpy and Python generators
as tensors, ints and tuples only, so a checkpoint holding it still loads with ``weights_only=True``;
:func:`set_rng_state` restores them. Restoring them at an epoch boundary also reproduces a
``DataLoader``'s shuffling and its worker seeds, which are drawn from the torch generator.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def rng_state() -> dict:
    """The global generators' states: ``torch`` (uint8 tensor), ``cuda`` (list, empty without CUDA),
    ``numpy`` (``(name, keys int64 tensor, pos, has_gauss, cached_gaussian)``) and ``python``."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": (str(name), torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "python": random.getstate(),
    }


def set_rng_state(state: dict) -> None:
    """Restore the states captured by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
