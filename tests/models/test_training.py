"""Training on tiny renders: a short overfit learns the poses; checkpoints; the DDP path (world size 1, gloo)."""

from __future__ import annotations

import csv

import pytest
import torch
from torch.utils.data import DataLoader

from hmr_flow.body import BodyModel
from hmr_flow.data import SynthDataset
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.models import HMRFlow, HMRLoss, LossWeights, TrainSettings, export_weights, load_model, train
from hmr_flow.models.checkpoint import CheckpointError, read_checkpoint
from hmr_flow.models.losses import jittered_target, target_pose


@pytest.fixture(scope="module")
def keypoint_body() -> KeypointBody:
    return KeypointBody(BodyModel())


def test_overfit_raises_the_true_pose_density(tiny_set, tiny_config, keypoint_body):
    torch.manual_seed(0)
    batch = next(iter(DataLoader(SynthDataset(tiny_set), batch_size=8)))
    model = HMRFlow(tiny_config())
    criterion = HMRLoss(keypoint_body, model.config.image_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.flow.log_prob(jittered_target(batch, 0.005), torch.zeros(8, model.config.feature_dim))  # ActNorm init
    fitted = []
    for _ in range(60):
        samples, log_prob = model(batch["image"], 2, jittered_target(batch, 0.005))
        total, terms = criterion(samples, log_prob, batch)
        fitted.append(terms["keypoints3d"].item())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        true = model.log_prob(target_pose(batch), batch["image"])
        random = model.log_prob(0.5 * torch.randn(8, 72), batch["image"])
    assert torch.isfinite(true).all() and torch.isfinite(random).all()
    assert (true > random + 50.0).all(), (true, random)
    assert sum(fitted[-5:]) / 5 < 0.95 * fitted[0], fitted  # the mode's 3D joints improve too


def test_checkpoint_round_trip_gives_identical_samples(tmp_path, tiny_config):
    from hmr_flow.models import save_checkpoint

    torch.manual_seed(1)
    model = HMRFlow(tiny_config()).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    path = save_checkpoint(tmp_path / "m.pt", {"config": model.config.to_dict(), "model": model.state_dict()})
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        before = model.sample(images, 4, generator=torch.Generator().manual_seed(7))
        after = load_model(path).sample(images, 4, generator=torch.Generator().manual_seed(7))
    assert torch.equal(before.pose6d, after.pose6d) and torch.equal(before.camera, after.camera)
    exported = export_weights(path, tmp_path / "small.pt", note="test")
    assert exported.stat().st_size < 0.6 * path.stat().st_size  # float16
    with torch.no_grad():
        half = load_model(exported).sample(images, 4, generator=torch.Generator().manual_seed(7))
    assert (half.pose6d - before.pose6d).abs().amax() < 0.01 * before.pose6d.abs().amax()  # float16 rounding only
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_model(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "missing.pt")


def test_ddp_path_world_size_one_and_resume(tiny_set, tiny_config, tmp_path, monkeypatch):
    for key, value in {"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": "29531"}.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "run" / "ddp.pt"  # the output folder does not exist yet: train makes it
    settings = TrainSettings(data=tiny_set, val=tiny_set, out=out, epochs=1, batch_size=4, workers=0, val_samples=5,
                             warmup_steps=2, progress=False)
    row = train(settings, tiny_config())
    assert not torch.distributed.is_initialized()  # the process group was torn down
    assert row["epoch"] == 1 and row["step"] == 2
    for key in ("val_mpjpe_mode", "val_pa_mpjpe_best5", "val_nll", "val_diversity_hidden_mm", "train_nll"):
        assert key in row and row[key] == row[key], key  # present and not NaN
    assert row["val_pa_mpjpe_best5"] <= row["val_pa_mpjpe_mode"]
    settings.epochs, settings.resume = 2, True
    row = train(settings, tiny_config())
    assert row["epoch"] == 2 and row["step"] == 4  # continued, not restarted
    with open(out.with_suffix(".csv")) as handle:
        assert [r["epoch"] for r in csv.DictReader(handle)] == ["1", "2"]
    assert read_checkpoint(out)["epoch"] == 1
    with pytest.raises(CheckpointError, match="architecture"):
        train(TrainSettings(data=tiny_set, out=out, epochs=3, batch_size=4, resume=True, workers=0, progress=False),
              tiny_config(feature_dim=16))


def test_loss_weight_overrides(tmp_path, capsys):
    from hmr_flow.cli import main
    from hmr_flow.commands.train import parse_loss_weights

    weights = parse_loss_weights(["keypoints3d=0.2", "jitter=0.01"])
    assert (weights.keypoints3d, weights.jitter, weights.nll) == (0.2, 0.01, LossWeights().nll)
    for bad, message in [("speed=1", "TERM one of"), ("params", "TERM=VALUE"), ("params=x", "not a number"),
                         ("params=-1", "≥ 0")]:
        with pytest.raises(ValueError, match=message):
            parse_loss_weights([bad])
    code = main(["train", "hmr", "--data", str(tmp_path), "--out", str(tmp_path / "m.pt"), "--loss-weight", "nll=oops"])
    assert code == 2 and "'oops' is not a number" in capsys.readouterr().err
