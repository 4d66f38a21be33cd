"""``hmr-flow prior train/score/sample`` on a small synthetic pose file: best checkpoint, CSV log, resume."""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest
import torch

from hmr_flow.prior import load_prior
from hmr_flow.commands.prior import register

TINY = ["--steps", "2", "--hidden", "16", "--blocks", "1", "--batch-size", "64"]


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.run(args)


@pytest.fixture
def pose_file(tmp_path):
    rng = np.random.default_rng(0)
    body_pose = (0.3 * rng.standard_normal((600, 69)) + 0.2).astype(np.float32)
    body_pose[:, 30:33] = 0.0  # one joint never moves: it must be left out of the model
    path = tmp_path / "poses.npz"
    np.savez(path, body_pose=body_pose, subject=np.repeat([1, 2, 3], 200).astype(np.int32))
    return path


def _log_rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_train_flow_then_resume(tmp_path, pose_file):
    out = tmp_path / "prior.pt"
    assert _run("prior", "train", "--data", str(pose_file), "--out", str(out), "--val-subjects", "3",
                "--epochs", "2", *TINY) == 0
    rows = _log_rows(tmp_path / "prior.log.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(np.isfinite(float(r["val_nll"])) for r in rows)
    prior = load_prior("flow", out)
    assert prior.space.features == 66 and prior.info["val_subjects"] == [3] and prior.info["train_frames"] == 400
    best = min(float(r["val_nll"]) for r in rows)
    assert prior.info["val_nll"] == pytest.approx(best, abs=1e-3)

    assert _run("prior", "train", "--data", str(pose_file), "--out", str(out), "--val-subjects", "3",
                "--epochs", "3", "--resume", *TINY) == 0
    assert [r["epoch"] for r in _log_rows(tmp_path / "prior.log.csv")] == ["1", "2", "3"]
    with pytest.raises(ValueError, match="different settings.*lr"):
        _run("prior", "train", "--data", str(pose_file), "--out", str(out), "--val-subjects", "3",
             "--epochs", "4", "--resume", "--lr", "0.01", *TINY)


def test_train_gmm_score_and_sample(tmp_path, pose_file):
    out = tmp_path / "gmm.npz"
    assert _run("prior", "train", "--kind", "gmm", "--data", str(pose_file), "--out", str(out), "--val-subjects", "3") == 0
    with np.load(out) as data:  # the file records the settings a GMM fit uses, none of the flow's
        settings = json.loads(str(data["info"]))["settings"]
    assert set(settings) == {"kind", "val_subjects", "exclude_sources", "balance", "balance_power", "seed", "gmm_components", "mirror"}
    scores = tmp_path / "scores.csv"
    assert _run("prior", "score", "--poses", str(pose_file), "--prior", "gmm", "--prior-weights", str(out), "--out", str(scores)) == 0
    rows = _log_rows(scores)
    assert len(rows) == 600 and {"index", "log_likelihood", "percentile"} <= set(rows[0])
    assert all(0.0 <= float(r["percentile"]) <= 100.0 for r in rows)
    samples = tmp_path / "samples.npz"
    assert _run("prior", "sample", "-n", "5", "--prior", "gmm", "--prior-weights", str(out), "--out", str(samples), "--seed", "1") == 0
    with np.load(samples) as data:
        assert data["body_pose"].shape == (5, 69) and data["log_likelihood"].shape == (5,)
        assert np.allclose(data["body_pose"][:, 30:33], 0.0)  # the unmodelled joint stays at identity


def test_train_rejects_bad_split(tmp_path, pose_file):
    with pytest.raises(ValueError, match="empty training or validation"):
        _run("prior", "train", "--data", str(pose_file), "--out", str(tmp_path / "p.pt"), "--val-subjects", "9", *TINY)


def test_exclude_sources_leaves_their_frames_out_and_licence_follows_the_subjects(tmp_path, pose_file):
    """``--exclude-sources`` drops a source's frames from training and validation; the prior's licence adds
    HDM05's share-alike terms exactly when an HDM05 actor (id > 1000) is among the training subjects."""
    with np.load(pose_file) as data:
        body_pose = data["body_pose"]
    path = tmp_path / "sources.npz"
    source = np.repeat([0, 1, 0, 1, 0, 0], 100).astype(np.int32)  # frames 100–199 and 300–399: "dm"
    np.savez(path, body_pose=body_pose, subject=np.repeat([1, 2, 1001, 1001, 3, 3], 100).astype(np.int32),
             source=source, source_names=np.array(["cmu", "dm"]))
    out = tmp_path / "gmm.npz"
    assert _run("prior", "train", "--kind", "gmm", "--data", str(path), "--out", str(out), "--val-subjects", "3",
                "--exclude-sources", "dm") == 0
    info = load_prior("gmm", out).info
    assert info["train_frames"] == 200 and info["val_frames"] == 200 and info["train_subjects"] == [1, 1001]
    assert "CMU" in info["licence"] and "CC BY-SA 3.0" in info["licence"]
    assert info["settings"]["exclude_sources"] == ["dm"]
    assert _run("prior", "train", "--kind", "gmm", "--data", str(path), "--out", str(out), "--overwrite",
                "--val-subjects", "3,1001") == 0
    assert "CC BY-SA" not in load_prior("gmm", out).info["licence"]  # HDM05 only held out: CMU's terms alone
    with pytest.raises(ValueError, match=r"sources.npz: unknown sources \['deepmimic'\]"):
        _run("prior", "train", "--kind", "gmm", "--data", str(path), "--out", str(tmp_path / "x.npz"),
             "--val-subjects", "3", "--exclude-sources", "deepmimic")
    with pytest.raises(ValueError, match="poses.npz: --exclude-sources needs 'source'"):
        _run("prior", "train", "--kind", "gmm", "--data", str(pose_file), "--out", str(tmp_path / "y.npz"),
             "--val-subjects", "3", "--exclude-sources", "dm")


def test_score_reports_missing_pose_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        _run("prior", "score", "--poses", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "s.csv"))


def test_mirror_doubles_the_training_frames_only(tmp_path, pose_file):
    """``--mirror`` trains on every training frame and its mirror image (in the same subject); the held-out
    frames stay as recorded."""
    from hmr_flow.body.skeleton import mirror_pose
    from hmr_flow.prior.train import TrainConfig, training_split

    split = training_split(TrainConfig(data=str(pose_file), out="x", val_subjects=(3,), mirror=True))
    plain = training_split(TrainConfig(data=str(pose_file), out="x", val_subjects=(3,)))
    assert len(split.train) == 800 and len(split.val) == len(plain.val) == 200
    torch.testing.assert_close(split.val, plain.val, rtol=0, atol=0)
    from hmr_flow.geometry import axis_angle_to_matrix

    expected = axis_angle_to_matrix(mirror_pose(plain.train))  # same rotations, canonical axis-angle aside
    torch.testing.assert_close(axis_angle_to_matrix(split.train[400:]), expected, atol=1e-5, rtol=0)
    assert split.train_groups["subject"].tolist() == [1] * 200 + [2] * 200 + [1] * 200 + [2] * 200
    out = tmp_path / "gmm.npz"
    assert _run("prior", "train", "--kind", "gmm", "--mirror", "--data", str(pose_file), "--out", str(out),
                "--val-subjects", "3") == 0
    assert load_prior("gmm", out).info["train_frames"] == 800


def test_train_cnf_then_resume_score_and_sample(tmp_path, pose_file):
    """``--kind cnf`` trains with the shared loop (log, best checkpoint, resume) and records its own settings."""
    out = tmp_path / "cnf.pt"
    tiny = ["--kind", "cnf", "--data", str(pose_file), "--out", str(out), "--val-subjects", "3", "--cnf-hidden", "16",
            "--solver-steps", "2", "--batch-size", "128", "--rtol", "1e-4", "--atol", "1e-4"]
    assert _run("prior", "train", *tiny, "--epochs", "1") == 0
    prior = load_prior("cnf", out)
    assert prior.kind == "cnf" and prior.space.features == 66 and prior.percentiles.numel() == 1001
    settings = prior.info["settings"]
    assert "flow" not in settings and "gmm_components" not in settings
    assert settings["cnf"]["hidden"] == 16 and settings["cnf_training"]["steps"] == 2
    assert prior.cnf_config["rtol"] == 1e-4
    assert _run("prior", "train", *tiny, "--epochs", "2", "--resume") == 0
    assert [r["epoch"] for r in _log_rows(tmp_path / "cnf.log.csv")] == ["1", "2"]
    scores, samples = tmp_path / "scores.csv", tmp_path / "samples.npz"
    assert _run("prior", "score", "--poses", str(pose_file), "--prior", "cnf", "--prior-weights", str(out),
                "--out", str(scores)) == 0
    assert len(_log_rows(scores)) == 600
    assert _run("prior", "sample", "-n", "3", "--prior", "cnf", "--prior-weights", str(out), "--out", str(samples)) == 0
    with np.load(samples) as data:
        assert data["body_pose"].shape == (3, 69) and np.allclose(data["body_pose"][:, 30:33], 0.0)
