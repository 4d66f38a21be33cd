"""Checkpoints of :class:`HMRFlow`: atomic writes, ``weights_only`` loading, shippable exports.

A checkpoint is a ``torch.save`` of a plain dict (tensors, numbers, strings, lists, dicts only, so
``torch.load(..., weights_only=True)`` reads it): ``format``, ``version``, ``config`` (the
:class:`HMRConfig` as a dict), ``model`` (state dict) and, for training checkpoints, ``optimizer``,
``scheduler``, ``epoch`` (last finished), ``step``, ``train`` (the training settings) and
``history`` (per-epoch validation figures). :func:`export_weights` keeps only what inference needs,
in float16, for the weights shipped in ``hmr_flow/assets``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hmr_flow.files import save_torch
from hmr_flow.models.model import HMRConfig, HMRFlow
from hmr_flow.validation import UserInputError, check_state_dict, first_line, load_tensor_file
from hmr_flow.validation.file_kinds import HMR_CHECKPOINT

FORMAT = "hmr-flow-hmr"
VERSION = 1

#: Weights shipped with the package (see the README): the keypoints-only model trained on keypoints
#: generated from mocap (the default) and the RGB model trained on synthetic renders only.
DEFAULT_KEYPOINT_WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "hmr_keypoints.pt"
RGB_WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "hmr_synth128.pt"


class CheckpointError(UserInputError):
    """A checkpoint is missing, corrupt or not an HMRFlow checkpoint; the message names the file."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus format/version) atomically: a temporary file beside ``path``, then rename."""
    return save_torch({"format": FORMAT, "version": VERSION, **payload}, path)


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint dict (``weights_only=True``). Raises :class:`CheckpointError`."""
    path = Path(path)
    try:
        data = load_tensor_file(path, "HMRFlow checkpoint", map_location, kind=HMR_CHECKPOINT)
    except (UserInputError, FileNotFoundError) as err:
        raise CheckpointError(str(err)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an HMRFlow checkpoint (format {data.get('format') if isinstance(data, dict) else None!r})")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {data.get('version')}, this code reads {VERSION}")
    for key in ("config", "model"):
        if key not in data:
            raise CheckpointError(f"{path}: not a complete HMRFlow checkpoint (missing {key!r})")
    if not isinstance(data["config"], dict):
        found = type(data["config"]).__name__
        raise CheckpointError(f"{path}: HMRFlow checkpoint 'config' is a {found}, expected a dict")
    weight = data.get("fit_weight", HMRFlow.fit_weight)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight < float("inf"):
        raise CheckpointError(f"{path}: HMRFlow checkpoint 'fit_weight' must be a finite number ≥ 0, got {weight!r}")
    try:
        check_state_dict(data["model"], path, "model")
    except UserInputError as err:
        raise CheckpointError(str(err)) from None
    return data


def model_from_checkpoint(data: dict[str, Any], source: str | Path = "checkpoint") -> HMRFlow:
    """Build an :class:`HMRFlow` (float32, eval mode, on the CPU) from a loaded checkpoint dict."""
    try:
        model = HMRFlow(HMRConfig.from_dict(data["config"]))
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in data["model"].items()})
        model.fit_weight = float(data.get("fit_weight", HMRFlow.fit_weight))
    except (TypeError, ValueError, RuntimeError, KeyError) as err:
        raise CheckpointError(f"{source}: weights do not fit the stored configuration ({first_line(err)})") from None
    return model.eval()


def load_model(path: str | Path | None = None, device: str | torch.device = "cpu") -> HMRFlow:
    """An :class:`HMRFlow` in eval mode and frozen (no parameter needs a gradient; as a fitting prior it is
    only differentiated through) from a training checkpoint or exported weights (default: the shipped
    keypoint model, :data:`DEFAULT_KEYPOINT_WEIGHTS`)."""
    path = DEFAULT_KEYPOINT_WEIGHTS if path is None else path
    return model_from_checkpoint(read_checkpoint(path), path).to(device).requires_grad_(False)


def export_weights(checkpoint: str | Path, out: str | Path, note: str, fit_weight: float | None = None) -> Path:
    """Write inference-only weights (float16 state dict, config, ``note``, the validation history and the
    model's weight as a fitting prior, :attr:`HMRFlow.fit_weight`: ``fit_weight`` or the checkpoint's own)."""
    data = read_checkpoint(checkpoint)
    state = {k: v.half() if v.is_floating_point() else v for k, v in data["model"].items()}
    payload = {"config": data["config"], "model": state, "note": note, "history": data.get("history", []),
               "train": data.get("train", {}), "epoch": data.get("epoch", -1), "step": data.get("step", 0),
               "fit_weight": float(data.get("fit_weight", HMRFlow.fit_weight) if fit_weight is None else fit_weight)}
    return save_checkpoint(out, payload)
