"""Runs that must not lose data or mislead: distinct outputs for same-named images, bit-exact resume of
both trainings, the fitter's divergence checks, and the internal-error path of the command runner."""

from __future__ import annotations

import importlib
import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from hmr_flow.cli import main as hmr_flow_main
from hmr_flow.cli import run_guarded
from hmr_flow.fitting.checks import check_fit
from hmr_flow.validation import DivergedError, UserInputError


class _Stop(Exception):
    """Stands in for a SIGKILL right after a checkpoint was written."""


def test_same_named_images_in_subfolders_get_distinct_outputs(tmp_path, coco_people):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    for name in ("x.jpg", "sub/x.jpg"):
        cv2.imwrite(str(photos / name), np.full((1000, 1000, 3), 90, np.uint8))
    points = coco_people.copy()
    points[:, 2] = 2
    images = [{"id": 1, "file_name": "x.jpg", "width": 1000, "height": 1000},
              {"id": 2, "file_name": "sub/x.jpg", "width": 1000, "height": 1000}]
    annotations = [{"id": i, "image_id": i, "keypoints": points.flatten().tolist()} for i in (1, 2)]
    keypoints = tmp_path / "coco.json"
    keypoints.write_text(json.dumps({"images": images, "annotations": annotations}))
    out = tmp_path / "out"
    assert hmr_flow_main(["fit", "--keypoints", str(keypoints), "--images", str(photos), "--out", str(out),
                          "--prior", "none", "--hypotheses", "1"]) == 0
    params = sorted(p.name for p in out.glob("*_params.npz"))
    assert params == ["sub_x_params.npz", "x_params.npz"]
    for name in params:
        with np.load(out / name) as data:
            assert data["person_ids"].tolist() in ([1], [2])


def _pose_file(path):
    generator = np.random.default_rng(1)
    np.savez(path, body_pose=(0.2 * generator.standard_normal((256, 69))).astype(np.float32),
             subject=np.repeat(np.arange(1, 5), 64))
    return path


def test_prior_resume_is_bit_exact(tmp_path, monkeypatch):
    from hmr_flow.prior import train as prior_train

    data = _pose_file(tmp_path / "poses.npz")
    config = prior_train.TrainConfig(data=str(data), out=str(tmp_path / "straight.pt"), val_subjects=(4,), epochs=4,
                                     batch_size=32, warmup_steps=3, flow={"steps": 2, "hidden": 16})
    prior_train.train_flow(config)
    straight = torch.load(tmp_path / "straight.state.pt", weights_only=True)

    save = prior_train.save_training_state

    def save_then_stop(obj, path):
        save(obj, path)
        if str(path).endswith(".state.pt") and obj["epoch"] == 2:
            raise _Stop

    interrupted = replace(config, out=str(tmp_path / "resumed.pt"))
    monkeypatch.setattr(prior_train, "save_training_state", save_then_stop)
    with pytest.raises(_Stop):
        prior_train.train_flow(interrupted)
    monkeypatch.undo()
    torch.manual_seed(12345)  # a different process state must not matter
    prior_train.train_flow(interrupted, resume=True)
    resumed = torch.load(tmp_path / "resumed.state.pt", weights_only=True)
    assert resumed["epoch"] == straight["epoch"] == 4
    for name, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][name]), name


def test_image_model_resume_is_bit_exact(tiny_set, tiny_config, tmp_path, monkeypatch):
    hmr_train = importlib.import_module("hmr_flow.models.train")  # the package exports a function ``train``

    def settings(out, resume=False):
        return hmr_train.TrainSettings(data=tiny_set, out=out, epochs=2, batch_size=4, workers=0, warmup_steps=2,
                                       resume=resume, progress=False)

    hmr_train.train(settings(tmp_path / "straight.pt"), tiny_config())
    save = hmr_train.save_checkpoint

    def save_then_stop(path, payload):
        save(path, payload)
        raise _Stop

    monkeypatch.setattr(hmr_train, "save_checkpoint", save_then_stop)
    with pytest.raises(_Stop):
        hmr_train.train(settings(tmp_path / "resumed.pt"), tiny_config())
    monkeypatch.undo()
    torch.manual_seed(12345)
    hmr_train.train(settings(tmp_path / "resumed.pt", resume=True), tiny_config())
    straight = torch.load(tmp_path / "straight.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed.pt", weights_only=True)
    assert resumed["epoch"] == straight["epoch"] == 1
    for name, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][name]), name


class _Result:
    def __init__(self, **changes):
        values = {"loss": torch.ones(2), "body_pose": torch.zeros(2, 69), "global_orient": torch.zeros(2, 3),
                  "betas": torch.zeros(2, 10), "transl": torch.tensor([[0.0, 0.0, 5.0]] * 2),
                  "joints": torch.tensor([0.0, 0.0, 5.0]).expand(2, 24, 3).clone()}
        values.update(changes)
        self.__dict__.update(values)


def test_fit_checks_name_divergence_and_bodies_behind_the_camera():
    check_fit("img", _Result(), [7, 8])
    with pytest.raises(DivergedError, match=r"img: person 8: the fit diverged \(non-finite loss\); check focal/keypoints"):
        check_fit("img", _Result(loss=torch.tensor([1.0, float("nan")])), [7, 8])
    joints = torch.tensor([0.0, 0.0, 5.0]).expand(2, 24, 3).clone()
    joints[0, :, 2] = -3.0
    with pytest.raises(DivergedError, match="img: person 7: the fitted body lies behind the camera"):
        check_fit("img", _Result(joints=joints), [7, 8])


def test_internal_errors_are_one_line_with_a_debug_hint(capsys, monkeypatch):
    monkeypatch.delenv("HMR_FLOW_DEBUG", raising=False)

    def bug():
        raise ZeroDivisionError("division by zero")

    assert run_guarded("hmr-flow", bug) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["hmr-flow: internal error: ZeroDivisionError: division by zero (a bug: please report it with the "
                   "traceback that --debug shows)"]
    with pytest.raises(ZeroDivisionError):
        run_guarded("hmr-flow", bug, debug=True)
    monkeypatch.setenv("HMR_FLOW_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        run_guarded("hmr-flow", bug)


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (UserInputError("--out x: is also an input"), 2, "hmr-flow: error: --out x: is also an input"),
        (FileNotFoundError("k.json: keypoint file not found"), 2, "hmr-flow: error: k.json: keypoint file not found"),
        (PermissionError(13, "Permission denied"), 2, "hmr-flow: error: [Errno 13] Permission denied"),
        # a plain ValueError is a bug of the library (a shape check inside it), not the user's input
        (ValueError("rotmats: expected (B, 24, 3, 3), got (2, 3)"), 1,
         "hmr-flow: internal error: ValueError: rotmats: expected (B, 24, 3, 3), got (2, 3) (a bug: please report it "
         "with the traceback that --debug shows)"),
    ],
)
def test_the_error_net_tells_user_input_from_bugs(error, code, line, capsys, monkeypatch):
    monkeypatch.delenv("HMR_FLOW_DEBUG", raising=False)

    def fail():
        raise error

    assert run_guarded("hmr-flow", fail) == code
    assert capsys.readouterr().err.strip().splitlines() == [line]


def test_debug_flag_is_accepted_before_and_after_the_command(tmp_path, capsys):
    for i, argv in enumerate((["--debug", "prior", "sample", "-n", "2"], ["prior", "sample", "-n", "2", "--debug"])):
        assert hmr_flow_main([*argv, "--out", str(tmp_path / f"s{i}.npz")]) == 0
    assert "wrote" in capsys.readouterr().out


PRIOR_TINY = ["--steps", "1", "--hidden", "8", "--val-subjects", "4", "--batch-size", "32"]


def test_prior_resume_with_relative_paths_is_the_same_run(tmp_path, monkeypatch, capsys):
    """The same files given by absolute paths, then by relative ones from their folder, are one run."""
    data = _pose_file(tmp_path / "poses.npz")
    out = tmp_path / "prior.pt"
    assert hmr_flow_main(["prior", "train", "--data", str(data), "--out", str(out), "--epochs", "1", *PRIOR_TINY]) == 0
    monkeypatch.chdir(tmp_path)
    status = hmr_flow_main(["prior", "train", "--data", "poses.npz", "--out", "prior.pt", "--epochs", "2", "--resume",
                            *PRIOR_TINY])
    assert status == 0, capsys.readouterr().err
    assert torch.load(tmp_path / "prior.state.pt", weights_only=True)["epoch"] == 2


def test_a_second_prior_train_on_one_out_is_refused_while_the_first_runs(tmp_path):
    """Two real processes on one --out: the second (even with --overwrite) gets one line naming the first's
    pid and exit 2; the first keeps running, and the log and state stay the first's alone."""
    import csv
    import os
    import subprocess
    import sys
    import time

    data = _pose_file(tmp_path / "poses.npz")
    out = tmp_path / "prior.pt"
    command = [sys.executable, "-m", "hmr_flow.cli", "prior", "train", "--data", str(data), "--out", str(out),
               *PRIOR_TINY, "--device", "cpu"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([*command, "--epochs", "100000"], env=environment, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    state = out.with_name("prior.state.pt")
    try:
        for _ in range(1200):  # wait (at most two minutes) until the first has saved a state (it holds the lock)
            if first.poll() is not None:
                pytest.fail(f"the first run ended early: {first.stderr.read()}")
            if state.is_file():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the first run never saved a state")
        second = subprocess.run([*command, "--epochs", "1", "--overwrite"], env=environment, capture_output=True,
                                text=True, timeout=120)
        errors = [line for line in second.stderr.splitlines() if ": error: " in line]
        assert second.returncode == 2 and len(errors) == 1, second.stderr
        assert f"--out {out}: another run (pid {first.pid})" in errors[0], errors[0]
        assert first.poll() is None, "the second run stopped the first"
        assert torch.load(state, weights_only=True)["config"]["epochs"] == 100000  # the first's state
        with open(out.with_name("prior.log.csv"), newline="") as handle:
            epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
        assert epochs == list(range(1, len(epochs) + 1)), epochs  # one run's epochs, not 1,1,2,2,…
    finally:
        first.terminate()
        first.wait(timeout=60)
    from hmr_flow.validation import lock_path

    # the operating system released the lock of the ended run: its lock file, if left, blocks no one
    third = subprocess.run([*command, "--epochs", "1", "--overwrite"], env=environment, capture_output=True,
                           text=True, timeout=120)
    assert third.returncode == 0 and not lock_path(out).exists(), third.stderr
