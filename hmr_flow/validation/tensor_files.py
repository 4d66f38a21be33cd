"""Tensor-only checkpoint loading (``torch.load(weights_only=True)``) whose refusals are one line, and checks of what was loaded."""

from __future__ import annotations

import pickle
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

from hmr_flow.validation.errors import UserInputError, first_line
from hmr_flow.validation.file_kinds import FileKind, wrong_kind
from hmr_flow.validation.inputs import check_input_file

def _refusal(err: BaseException) -> str:
    """torch's weights-only refusal reduced to what was refused: never its ``weights_only=False`` advice
    nor, for a class it does not know, its advice to allow-list it (``add_safe_globals``)."""
    text = str(err).split("WeightsUnpickler error:", 1)[-1]
    advice = ("weights_only", "Weights only", "Please file an issue", "Check the documentation")
    lines = [line.strip().rstrip(".") for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not any(a in line for a in advice)]
    return lines[0].split(". ")[0][:160] if lines else "unsupported content"


def load_tensor_file(path: str | Path, what: str, map_location: str | torch.device = "cpu",
                     kind: FileKind | None = None) -> object:
    """``torch.load(path, weights_only=True)``; a missing file is a ``FileNotFoundError``, anything else
    that is not a regular file, a corrupt or non-tensor (pickled objects) one a :class:`UserInputError`, each
    one line naming the file and ``what`` was expected. With ``kind`` (what the file should be), a file of
    another known kind is named for what it is and the option that takes it (:func:`wrong_kind`)."""
    path = check_input_file(path, what)
    if kind is not None and (message := wrong_kind(path, kind, what)) is not None:
        raise UserInputError(message)
    try:
        with warnings.catch_warnings():  # e.g. torch's multi-line note on the pickle protocol of foreign files
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UserInputError(f"{path}: refused: not a tensor-only {what} ({_refusal(err)})") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, AttributeError, TypeError) as err:
        raise UserInputError(f"{path}: not a readable {what} (corrupt or truncated: {first_line(err).split('. ')[0][:160]})") from None


def check_state_dict(state: object, source: str | Path, key: str = "state dict") -> Mapping[str, torch.Tensor]:
    """``state`` must map names to finite tensors; else :class:`UserInputError` naming ``source`` and the entry."""
    if not isinstance(state, Mapping):
        raise UserInputError(f"{source}: {key} is a {type(state).__name__}, expected a dict of tensors")
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise UserInputError(f"{source}: {key} entry {name!r} is a {type(value).__name__}, expected a tensor")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise UserInputError(f"{source}: {key} entry {name!r} contains NaN or infinite weights")
    return state


def require_keys(data: object, keys: Iterable[str], source: str | Path, what: str) -> dict:
    """``data`` must be a dict with every one of ``keys``; else :class:`UserInputError` naming the missing ones."""
    if not isinstance(data, dict):
        raise UserInputError(f"{source}: not a {what} (a {type(data).__name__}, expected a dict)")
    missing = [k for k in keys if k not in data]
    if missing:
        raise UserInputError(f"{source}: not a complete {what} (missing {', '.join(map(repr, missing))})")
    return data
