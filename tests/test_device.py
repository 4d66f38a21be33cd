"""Device selection happens in one place (:func:`hmr_flow.validation.resolve_device`) with one error type."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from hmr_flow.models.distributed import init_distributed
from hmr_flow.validation import UserInputError, resolve_device

REPO = Path(__file__).resolve().parents[1]
#: Modules that may ask torch about CUDA for another reason than choosing a device.
OTHER_CUDA_USES = {"hmr_flow/validation/devices.py": "the device choice itself", "hmr_flow/rng.py": "saves CUDA generator states"}


def test_auto_is_cuda_when_torch_sees_a_gpu_else_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


def test_unavailable_devices_are_one_user_error_everywhere(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserInputError, match=r"--device cuda: CUDA is not available.*valid here: cpu"):
        resolve_device("cuda")
    with pytest.raises(UserInputError, match="--device cuda: CUDA is not available"):  # was a RuntimeError
        init_distributed("cuda")
    with pytest.raises(UserInputError, match="--device tpu: unknown"):
        init_distributed("tpu")
    assert init_distributed("auto")[1] == torch.device("cpu")


def test_prior_training_resolves_its_device(tmp_path, monkeypatch):
    from hmr_flow.prior.train import TrainConfig, train_flow

    data = tmp_path / "poses.npz"
    np.savez(data, body_pose=np.zeros((8, 69), np.float32), subject=np.repeat([1, 2], 4))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserInputError, match="--device cuda"):  # was torch's error on first use
        train_flow(TrainConfig(data=str(data), out=str(tmp_path / "p.pt"), val_subjects=(2,), device="cuda"))


def test_no_other_module_checks_cuda_availability():
    offenders = []
    for folder in ("hmr_flow", "data_tools", "demo", "bench"):
        for path in sorted((REPO / folder).rglob("*.py")):
            name = path.relative_to(REPO).as_posix()
            calls = [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(node, ast.Attribute) and node.attr == "is_available"
                     and isinstance(node.value, ast.Attribute) and node.value.attr == "cuda"]
            if calls and name not in OTHER_CUDA_USES:
                offenders.append(name)
    assert not offenders, f"choose devices with hmr_flow.validation.resolve_device: {offenders}"
