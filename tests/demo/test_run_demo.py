"""The demo's pieces on a tiny budget: shipped poses, example render + COCO file, fit outputs, sampling,
scoring order (real > broken joint limits > random rotations), and the user wrappers."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import trimesh

from hmr_flow.body import BodyModel, JOINT_NAMES
from hmr_flow.fitting import FitConfig, Stage, read_keypoints
from hmr_flow.fitting.schedule import PARAMETERS

VALIDATION_SUBJECTS = {3, 6, 16, 135}
TINY = FitConfig(stages=(Stage("camera", 15, ("transl", "global_orient"), torso_only=True, depth_weight=100.0),
                         Stage("body", 40, PARAMETERS, prior_scale=4.0), Stage("refine", 30, PARAMETERS)))


@pytest.fixture(scope="module")
def example(run_demo, demo_poses):
    return run_demo.render_example(demo_poses, 0, size=160)


def test_demo_poses_are_small_varied_held_out_real_poses(run_demo, demo_poses):
    assert run_demo.DEMO_POSES.stat().st_size < 20_000
    n = len(demo_poses.body_pose)
    assert 6 <= n <= 12
    assert demo_poses.betas.shape == (n, 10) and demo_poses.global_orient.shape == (n, 3)
    assert len(set(demo_poses.labels)) >= 4
    with np.load(run_demo.DEMO_POSES) as data:
        assert set(data["subject"].tolist()) <= VALIDATION_SUBJECTS
        assert "mocap.cs.cmu.edu" in str(data["licence"])
    # real poses, not the rest pose: every one bends some joint by more than 20°
    angles = np.linalg.norm(demo_poses.body_pose.reshape(n, 23, 3), axis=-1)
    assert (angles.max(1) > np.deg2rad(20)).all()


def test_load_demo_poses_names_the_file(run_demo, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        run_demo.load_demo_poses(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, body_pose=np.zeros((2, 60)), global_orient=np.zeros((2, 3)), betas=np.zeros((2, 10)),
             labels=np.array(["a", "b"]), clip_names=np.array(["x", "y"]))
    with pytest.raises(ValueError, match=r"bad.npz.*body_pose \(N, 69\)"):
        run_demo.load_demo_poses(bad)


def test_example_render_and_coco_round_trip(run_demo, example, tmp_path):
    image = example["image"]
    assert image.shape == (160, 160, 3) and image.dtype == np.uint8 and image.std() > 10
    visible = example["visibility"] > 0
    assert visible.sum() >= 12  # no occluders, never truncated
    inside = (example["keypoints2d"] >= 0) & (example["keypoints2d"] < 160)
    assert inside[visible].all()
    cv2.imwrite(str(tmp_path / "example.png"), image[..., ::-1])
    path = run_demo.write_coco(tmp_path / "kp.json", "example.png", (160, 160), example["keypoints2d"], example["visibility"])
    [record] = read_keypoints(path, images=tmp_path)
    assert record.keypoint_format == "coco17" and record.image_size == (160, 160)
    assert np.allclose(record.keypoints[0, visible, :2], example["keypoints2d"][visible], atol=0.01)
    assert np.array_equal(record.keypoints[0, :, 2] > 0, visible)


def _check_fit_outputs(out, summary):
    for name in ("example.png", "example_keypoints.json", "example_overlay.png", "example_fit.obj", "example_params.npz"):
        assert (out / name).is_file(), name
    overlay = cv2.imread(str(out / "example_overlay.png"))
    assert overlay.shape == (160, 480, 3)
    mesh = trimesh.load(out / "example_fit.obj", process=False)
    assert mesh.vertices.shape == (BodyModel().num_vertices, 3)
    with np.load(out / "example_params.npz") as params:
        assert params["body_pose"].shape == (1, 69) and params["true_joints3d"].shape == (1, 24, 3)
        assert np.isclose(params["pck"], summary.pck)
    # a short fit already lands the 2D keypoints and gets the body's posture roughly right
    assert summary.pck >= 0.7
    assert summary.pa_mpjpe_mm < 150 and np.isfinite(summary.mpjpe_mm)


def test_fit_example_from_prior_samples(run_demo, example, flow_prior, tmp_path):
    summary = run_demo.fit_example(example, tmp_path, flow_prior, num_hypotheses=2, config=TINY, checkpoint=None)
    assert summary.initialisation == "prior samples"
    assert not (tmp_path / "example_hypotheses.png").exists()
    _check_fit_outputs(tmp_path, summary)


def test_fit_example_from_regression_hypotheses(run_demo, example, flow_prior, tmp_path):
    checkpoint = run_demo.shipped_regressor()
    if checkpoint is None:
        pytest.skip("no conditional-model checkpoint hmr_flow/assets/hmr_*.pt is shipped")
    summary = run_demo.fit_example(example, tmp_path, flow_prior, num_hypotheses=2, config=TINY, checkpoint=checkpoint)
    assert summary.initialisation == "regression"
    grid = cv2.imread(str(tmp_path / "example_hypotheses.png"))
    assert grid is not None and grid.shape[0] >= 240 and grid.shape[1] >= 5 * 200
    hidden = cv2.imread(str(tmp_path / "example_hypotheses_hidden_arm.png"))
    assert hidden is not None and hidden.shape == grid.shape
    assert not (hidden == grid).all()  # hiding the arm changes the hypotheses
    _check_fit_outputs(tmp_path, summary)


def test_sample_grid(run_demo, flow_prior, tmp_path):
    path = run_demo.sample_grid(flow_prior, tmp_path, count=2, columns=2)
    grid = cv2.imread(str(path))
    assert grid is not None and grid.shape[1] == 2 * 240
    assert (grid < 250).any(axis=-1).mean() > 0.02  # meshes were drawn on the white sheet


def test_broken_joints_bend_the_wrong_way(run_demo):
    body = BodyModel()
    rest = np.zeros((1, 69), np.float32)

    def joints(pose):
        return body(global_orient=torch.zeros(1, 3), body_pose=torch.from_numpy(pose)).joints[0].numpy()

    j = joints(run_demo.break_knees(rest))
    for knee, ankle in (("left_knee", "left_ankle"), ("right_knee", "right_ankle")):
        shin = j[JOINT_NAMES.index(ankle)] - j[JOINT_NAMES.index(knee)]
        assert shin[2] > 0.35  # body faces +z: the shin points forwards, i.e. the knee bends backwards
    j = joints(run_demo.break_elbows(rest))
    for elbow, wrist in (("left_elbow", "left_wrist"), ("right_elbow", "right_wrist")):
        forearm = j[JOINT_NAMES.index(wrist)] - j[JOINT_NAMES.index(elbow)]
        assert forearm[2] < -0.2  # the forearm points backwards
    random = run_demo.random_poses(50)
    assert random.shape == (50, 69)
    angles = np.linalg.norm(random.reshape(-1, 3), axis=1)
    assert abs(angles.mean() - (np.pi / 2 + 2 / np.pi)) < 0.06  # Haar-uniform: angle density (1 − cos θ)/π


def test_scores_order_real_above_broken_above_random(run_demo, demo_poses, flow_prior, tmp_path):
    rows = run_demo.score_table(flow_prior, demo_poses, tmp_path)
    n = len(demo_poses.body_pose)
    by_kind = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row["log_likelihood"])
    real = np.array(by_kind["real"])
    knees = np.array(by_kind["knees backwards 90°"])
    elbows = np.array(by_kind["elbows hyper-extended 90°"])
    random = np.array(by_kind["random rotations"])
    assert len(real) == len(knees) == len(elbows) == len(random) == n
    assert (real > knees).all() and (real > elbows).all()
    assert random.max() < min(knees.min(), elbows.min())
    with open(tmp_path / "scores.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 4 * n
    assert float(table[0]["log_likelihood"]) == pytest.approx(real[0], abs=0.01)
    assert "random rotations" in run_demo.format_scores(rows)


def test_fit_photo_detects_then_fits_the_real_photo(run_demo, flow_prior, tmp_path):
    from hmr_flow.wheels import WheelError

    try:
        summary = run_demo.fit_photo(run_demo.PHOTO, tmp_path, flow_prior, num_hypotheses=2, config=TINY,
                                     checkpoint=run_demo.shipped_regressor())
    except WheelError as err:
        pytest.skip(f"BlazePose networks unavailable (run 'make setup' once with network access): {err}")
    assert summary.name == "side_bend" and summary.people == 1 and summary.pck >= 0.8
    assert read_keypoints(tmp_path / "detected_keypoints.json")[0].image_path.resolve() == run_demo.PHOTO.resolve()
    with np.load(tmp_path / "side_bend_params.npz") as params:
        assert params["body_pose"].shape == (1, 69) and np.isfinite(params["joints"]).all()
    assert len(trimesh.load(tmp_path / "side_bend_1.obj", process=False).vertices) == BodyModel().num_vertices
    assert cv2.imread(str(tmp_path / "side_bend_overlay.png")).shape[0] == 720


def test_demo_script_runs_from_any_folder(tmp_path):
    """``python demo/run_demo.py`` finds the repository's data_tools (not installed) from any working folder."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "demo" / "run_demo.py"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(script), "--help"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "--device" in done.stdout


def test_demo_clip_is_a_small_held_out_clip(run_demo):
    clip = run_demo.load_demo_clip()
    assert run_demo.DEMO_CLIP.stat().st_size < 40_000
    assert clip["body_pose"].shape == (60, 69) and clip["betas"].shape == (10,) and clip["fps"] == 30.0
    with np.load(run_demo.DEMO_CLIP) as data:
        assert int(data["subject"]) in VALIDATION_SUBJECTS and "mocap.cs.cmu.edu" in str(data["licence"])
    # consecutive mocap frames: the joints mostly turn a little from frame to frame (punches are quick), and a
    # lot over the clip
    from hmr_flow.geometry import axis_angle_to_matrix

    rotations = axis_angle_to_matrix(torch.from_numpy(clip["body_pose"]).view(60, 23, 3))
    steps = (rotations[1:] - rotations[:-1]).flatten(2).norm(dim=-1).max(1).values
    assert steps.median() < 0.5 and (rotations[-1] - rotations[0]).flatten(1).norm(dim=-1).max() > 0.5


def test_demo_clip_rendered_fitted_and_compared(run_demo, tmp_path):
    from hmr_flow.fitting.sequence_io import read_sequence
    from hmr_flow.video import read_frames

    checkpoint = run_demo.shipped_regressor()
    if checkpoint is None or checkpoint.name != "hmr_keypoints.pt":
        pytest.skip("the clip needs the shipped keypoint model hmr_flow/assets/hmr_keypoints.pt")
    placed = run_demo.render_demo_clip(run_demo.load_demo_clip(), tmp_path, size=(96, 72), frames=8)
    frames = list(read_frames(tmp_path / "clip.mp4"))
    assert len(frames) == 8 and frames[0][1].shape == (72, 96, 3)
    assert (frames[0][1] != run_demo._backdrop((96, 72))).any(axis=-1).mean() > 0.03  # the body is drawn
    sequence = read_sequence(tmp_path / "clip.json")
    assert len(sequence.frames) == 8 and sequence.size == (96, 72)
    summary = run_demo.fit_demo_clip(tmp_path, placed.joints, checkpoint, num_hypotheses=2, config=TINY)
    assert summary.frames == 8 and 0 < summary.per_frame_bodies <= 8
    assert np.isfinite([summary.per_frame_pa_mpjpe_mm, summary.sequence_pa_mpjpe_mm]).all()
    assert summary.sequence_pa_mpjpe_mm < 150
    with np.load(tmp_path / "clip_track1.npz") as track:
        assert track["frame"].tolist() == list(range(8))
    gif = run_demo.side_by_side_gif(tmp_path)
    from PIL import Image

    with Image.open(gif) as picture:
        assert picture.n_frames == 8 and picture.size == (round(2 * 96 * 0.6), round(2 * 72 * 0.6))
