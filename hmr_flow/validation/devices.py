"""``--device``: the one place that knows which device strings this machine accepts (``auto`` too)."""

from __future__ import annotations

import torch

from hmr_flow.validation.errors import UserInputError

def valid_devices() -> list[str]:
    """The ``--device`` strings this machine accepts: ``cpu``, and ``cuda``/``cuda:i``/``mps`` when present."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str | torch.device, option: str = "--device") -> torch.device:
    """``name`` as a :class:`torch.device` (``'auto'``: ``cuda`` when torch sees a GPU, else ``cpu``), or
    :class:`UserInputError` naming ``option`` and listing the devices this machine has (an unknown string,
    CUDA on a CPU-only torch, a GPU index out of range)."""
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    valid = valid_devices()
    if name not in valid:
        if str(name).startswith("cuda") and not torch.cuda.is_available():
            problem = "CUDA is not available on this machine (CPU-only torch or no GPU)"
        else:
            problem = "unknown or unavailable device"
        raise UserInputError(f"{option} {name}: {problem}; valid here: {', '.join(valid)}")
    return torch.device(name)
