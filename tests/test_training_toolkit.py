"""The shared training toolkit (:mod:`hmr_flow.training`), and that both training loops use it: the same
schedule, losses read once per logging interval (not every step), divergence still reported."""

from __future__ import annotations

import csv
import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hmr_flow.training import FINAL_LR_FRACTION, LOG_EVERY, LossMeter, MetricsLog, warmup_cosine
from hmr_flow.validation import DivergedError

LIBRARY = str(Path(importlib.import_module("hmr_flow").__file__).resolve().parent)


def _factors(warmup, total, steps):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=2.0)
    scheduler = warmup_cosine(optimizer, warmup, total)
    out = []
    for _ in range(steps):
        out.append(scheduler.get_last_lr()[0] / 2.0)
        optimizer.step()
        scheduler.step()
    return out


def test_schedule_hand_computed():
    f = _factors(warmup=2, total=10, steps=12)
    assert f[:3] == pytest.approx([0.5, 1.0, 1.0])  # linear warm-up, then the cosine starts at the peak
    assert f[6] == pytest.approx(0.05 + 0.95 * 0.5)  # half-way through the cosine
    assert f[10] == f[11] == pytest.approx(FINAL_LR_FRACTION)  # the floor at the last step, and after
    assert _factors(warmup=100, total=10, steps=3) == pytest.approx([0.5, 1.0, 1.0])  # warm-up ≤ a fifth of the run


def test_loss_meter_reads_once_per_interval_and_reports_divergence():
    meter = LossMeter("--lr 1: training diverged", "lower --lr", every=3)
    reads = [meter.add({"a": torch.tensor(float(i)), "b": torch.tensor(1.0)}, "epoch 1") for i in range(7)]
    assert [r is not None for r in reads] == [False, False, True, False, False, True, False]
    assert reads[2] == {"a": 1.0, "b": 1.0} and reads[5] == {"a": 4.0, "b": 1.0}
    assert meter.epoch_sums("epoch 1") == {"a": 21.0, "b": 7.0}  # the partial interval is read too
    meter.add({"a": torch.tensor(1.0), "b": torch.tensor(float("nan"))}, "epoch 2")
    with pytest.raises(DivergedError, match=r"--lr 1: training diverged \(non-finite loss in the 2 steps up to "
                                            r"epoch 2, step 2: mean a 1.5, b nan\); lower --lr"):
        meter.add({"a": torch.tensor(2.0), "b": torch.tensor(0.0)}, "epoch 2") or meter.epoch_sums("epoch 2")


def test_metrics_log_fresh_resumed_and_new_columns(tmp_path):
    path = tmp_path / "run.csv"
    path.write_text("old\n")
    log = MetricsLog(path, resume=False)
    assert not path.exists()  # a fresh run starts a new log
    log.append({"epoch": 1, "loss": 0.5})
    MetricsLog(path, resume=True).append({"epoch": 2, "loss": 0.25})
    log.append({"epoch": 3, "loss": 0.1, "val": 2.0})
    assert path.read_text().splitlines() == ["epoch,loss", "1,0.5", "2,0.25", "", "epoch,loss,val", "3,0.1,2.0"]


class _HostReads:
    """Counts reads of tensor values into Python (``bool``, ``float``, ``int``, ``.item()``, ``.tolist()``)
    made by code of the ``hmr_flow`` package from the first optimiser step on (set-up excluded): each one
    waits for the device on a GPU."""

    METHODS = ("__bool__", "__float__", "__int__", "item", "tolist")

    def __init__(self, monkeypatch):
        self.where: list[str] = []
        self.counting = False
        for name in self.METHODS:
            original = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self._wrap(original))
        step = torch.optim.AdamW.step

        def start_counting(optimizer, *args, **kwargs):
            self.counting = True
            return step(optimizer, *args, **kwargs)

        monkeypatch.setattr(torch.optim.AdamW, "step", start_counting)

    def _wrap(self, original):
        def counted(tensor, *args, **kwargs):
            caller = sys._getframe(1).f_code
            if self.counting and caller.co_filename.startswith(LIBRARY):
                self.where.append(f"{Path(caller.co_filename).name}:{caller.co_name}")
            return original(tensor, *args, **kwargs)

        return counted


def _pose_file(path, frames=1200):
    generator = np.random.default_rng(1)
    np.savez(path, body_pose=(0.2 * generator.standard_normal((frames, 69))).astype(np.float32),
             subject=np.repeat(np.arange(1, 5), frames // 4))
    return path


def _prior_run(tmp_path, **changes):
    from hmr_flow.prior.train import TrainConfig, _Run, load_split

    config = TrainConfig(data=str(_pose_file(tmp_path / "poses.npz")), out=str(tmp_path / "p.pt"), val_subjects=(4,),
                         batch_size=16, warmup_steps=3, flow={"steps": 2, "hidden": 16}, **changes)
    return _Run(config, load_split(config.data, config.val_subjects))


def test_prior_training_reads_losses_once_per_interval(tmp_path, monkeypatch):
    from tqdm import tqdm

    run = _prior_run(tmp_path)
    steps = run.steps_per_epoch
    assert steps == 56  # 900 training frames / 16
    reads = _HostReads(monkeypatch)
    with tqdm(disable=True) as bar:
        run.train_epoch(bar)
    # before: isfinite(loss), loss.item() and the flow's isfinite(x) on every step (≥ 3 per step)
    assert len(reads.where) <= math.ceil(steps / LOG_EVERY) + 1, reads.where


def test_prior_training_divergence_is_still_reported(tmp_path):
    from tqdm import tqdm

    run = _prior_run(tmp_path)
    with torch.no_grad():
        next(run.prior.flow.parameters()).fill_(float("nan"))
    with pytest.raises(DivergedError, match=r"training diverged \(non-finite loss in the 25 steps up to epoch 1, "
                                            r"step 25: mean nll nan\); lower --lr or --jitter"):
        with tqdm(disable=True) as bar:
            run.train_epoch(bar)


def test_image_model_training_reads_losses_once_per_interval(tiny_set, tiny_config, tmp_path, monkeypatch):
    from hmr_flow.models import TrainSettings, train

    reads = _HostReads(monkeypatch)
    row = train(TrainSettings(data=tiny_set, out=tmp_path / "m.pt", epochs=1, batch_size=2, workers=0,
                              warmup_steps=1, progress=False), tiny_config())
    steps = row["step"]
    # before: isfinite(total), 9 float() of the terms and 2 .item() for the progress bar on every step
    assert steps >= 4 and len(reads.where) <= math.ceil(steps / LOG_EVERY) + 2, reads.where


def _log_lr(path):
    with open(path) as handle:
        return [float(r["lr"]) for r in csv.DictReader(handle)]


def test_both_trainings_end_at_the_same_schedule_floor(tmp_path, tiny_set, tiny_config):
    from hmr_flow.models import TrainSettings, train
    from hmr_flow.prior.train import TrainConfig, train_flow

    lr = 2e-3
    train_flow(TrainConfig(data=str(_pose_file(tmp_path / "poses.npz", 400)), out=str(tmp_path / "p.pt"),
                           val_subjects=(4,), epochs=2, batch_size=50, lr=lr, warmup_steps=1,
                           flow={"steps": 2, "hidden": 16}))
    train(TrainSettings(data=tiny_set, out=tmp_path / "m.pt", epochs=2, batch_size=4, workers=0, lr=lr,
                        warmup_steps=1, progress=False), tiny_config())
    prior_lr, model_lr = _log_lr(tmp_path / "p.log.csv"), _log_lr(tmp_path / "m.csv")
    # the prior's schedule used to decay to 0 and the image model's to 5 %: now both end at the same floor
    assert prior_lr[-1] == pytest.approx(FINAL_LR_FRACTION * lr) == model_lr[-1]


def test_resume_state_missing_corrupt_or_incomplete(tmp_path, caplog):
    from hmr_flow.files import save_torch
    from hmr_flow.training import load_training_state
    from hmr_flow.validation import UserInputError

    assert load_training_state(tmp_path / "none.pt", "prior training state") is None  # nothing yet: start afresh
    assert "starting from scratch" in caplog.text
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(UserInputError, match="bad.pt"):
        load_training_state(tmp_path / "bad.pt", "prior training state")
    save_torch({"model": {}, "optimizer": {}}, tmp_path / "part.pt")
    with pytest.raises(UserInputError, match=r"part.pt: not a complete prior training state \(missing 'scheduler', 'rng', 'epoch'\)"):
        load_training_state(tmp_path / "part.pt", "prior training state", keys=("epoch",))
