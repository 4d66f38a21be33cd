"""Fitting a track: missed frames filled by interpolation, windows that cover every frame once, and a fit
that lands the keypoints, fills the missed frames near the truth and moves less between frames than
frame-by-frame fitting."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fitting_cases import CENTRE, FOCAL, frontal_pose
from hmr_flow.fitting import scaled_config
from hmr_flow.fitting.initialisation import FACING_CAMERA
from hmr_flow.fitting.sequence import SequenceConfig, TrackStart, _windows, fill_missed, fit_track
from hmr_flow.geometry import axis_angle_to_matrix, project_points
from hmr_flow.metrics import acceleration_error

FRAMES = 18


def test_fill_missed_interpolates_rotations_hand_case():
    orient = torch.tensor([[0.0, 0.0, 0.0], [9.0, 9.0, 9.0], [0.0, 0.0, 0.6]])  # the middle row is missed
    pose = torch.zeros(3, 69)
    pose[0, 3], pose[2, 3] = 0.2, 0.4  # joint 2 about x: 0.2 → 0.4
    pose[1] = 5.0
    detected = torch.tensor([True, False, True])
    filled_orient, filled_pose = fill_missed(orient, pose, detected)
    assert filled_orient[1].tolist() == pytest.approx([0.0, 0.0, 0.3], abs=1e-3)  # halfway about z
    assert filled_pose[1, 3].item() == pytest.approx(0.3, abs=1e-3) and filled_pose[1, 4:].abs().max() < 1e-5
    assert torch.equal(filled_orient[[0, 2]], orient[[0, 2]]) and torch.equal(filled_pose[[0, 2]], pose[[0, 2]])


@pytest.mark.parametrize(("frames", "window", "overlap"), [(10, 150, 16), (300, 150, 16), (151, 150, 16), (40, 16, 4)])
def test_windows_keep_every_frame_once_and_hold_the_seam(frames, window, overlap):
    spans = _windows(frames, window, overlap)
    kept = np.concatenate([np.arange(fixed, keep) for _, _, fixed, keep in spans])
    assert kept.tolist() == list(range(frames))
    for (start, stop, fixed, keep), before in zip(spans, [None] + spans[:-1]):
        assert stop - start <= window and start <= fixed <= keep <= stop
        if before is not None:
            assert fixed == before[3] and fixed - start == overlap // 2  # held frames: the last ones kept before
            assert before[1] - keep <= 0 or before[1] - fixed == overlap // 2  # each kept frame saw future frames


def _clip(keypoint_body, frames=FRAMES):
    """A mean-shape body walking sideways while raising its left arm: ``(keypoints (T, 17, 3), joints (T, 24, 3),
    body_pose (T, 69))``."""
    pose = frontal_pose().expand(frames, 69).clone()
    pose[:, 47] = -0.8 + 0.6 * torch.sin(torch.linspace(0, math.pi, frames))  # left shoulder about z
    orient = (FACING_CAMERA + torch.tensor([0.0, 0.3, 0.0])).expand(frames, 3)
    transl = torch.stack([torch.linspace(-0.3, 0.3, frames), torch.full((frames,), 0.2), torch.full((frames,), 5.0)], 1)
    rotations = torch.cat([axis_angle_to_matrix(orient)[:, None], axis_angle_to_matrix(pose.view(frames, 23, 3))], 1)
    with torch.no_grad():
        sources = keypoint_body(rotations, torch.zeros(frames, 10), transl)
    uv = project_points(keypoint_body.coco17_matrix @ sources, FOCAL, CENTRE)
    return torch.cat([uv, torch.ones(frames, 17, 1)], -1), sources[:, :24], pose


def _start(frames: int) -> TrackStart:
    orient = FACING_CAMERA.expand(frames, 3).clone()
    return TrackStart(orient, frontal_pose().expand(frames, 69).clone(), torch.zeros(10))


def test_track_fit_lands_the_keypoints_and_fills_missed_frames(keypoint_body):
    keypoints, joints, _ = _clip(keypoint_body)
    detected = torch.ones(FRAMES, dtype=torch.bool)
    detected[8:11] = False
    config = SequenceConfig(fit=scaled_config(90))
    done = []
    fit = fit_track(keypoint_body, keypoints, detected, "coco17", FOCAL, CENTRE, _start(FRAMES), config=config,
                    progress=done.append)
    assert done == [FRAMES]  # one window
    assert fit.betas.shape == (10,) and fit.joints.shape == (FRAMES, 24, 3) and fit.keypoints_2d.shape == (FRAMES, 17, 2)
    error = (fit.keypoints_2d - keypoints[..., :2]).norm(dim=-1).mean(-1)
    assert error[detected].max() < 4.0  # px, on a ~400 px tall person
    assert error[~detected].max() < 8.0  # the filled frames follow the motion the neighbours show
    assert (fit.data_loss[~detected] == 0).all() and (fit.data_loss[detected] > 0).all()
    assert torch.isnan(fit.prior_log_prob).all() and (fit.prior_loss[detected] == 0).all()  # no prior given
    assert torch.isnan(fit.prior_loss[~detected]).all()
    relative = (fit.joints - fit.joints[:, :1]) - (joints - joints[:, :1])
    assert relative[~detected].norm(dim=-1).mean() < 0.06  # m


def test_temporal_term_smooths_noisy_keypoints_and_windows_join(keypoint_body):
    keypoints, joints, _ = _clip(keypoint_body, 24)
    noisy = keypoints.clone()
    noisy[..., :2] += 4.0 * torch.randn(24, 17, 2, generator=torch.Generator().manual_seed(0))
    detected = torch.ones(24, dtype=torch.bool)
    config = SequenceConfig(fit=scaled_config(60))
    fits, done = {}, []
    for name, sigma, window in (("free", 1e3, 150), ("smooth", 0.005, 150), ("windows", 0.005, 16)):
        fits[name] = fit_track(keypoint_body, noisy, detected, "coco17", FOCAL, CENTRE, _start(24), progress=done.append,
                               config=SequenceConfig(fit=config.fit, acceleration_sigma=sigma, window=window, overlap=4))
    assert done[2:] == [14, 10]  # the windows: frames 0–13 kept, then 14–23 (12–13 held)
    accel = {name: float(acceleration_error(fit.joints, joints).mean()) for name, fit in fits.items()}
    assert accel["smooth"] < 0.5 * accel["free"]
    assert accel["windows"] < 0.6 * accel["free"]  # the seam at frames 14–16 does not jump
    assert fits["windows"].joints.shape == (24, 24, 3) and torch.isfinite(fits["windows"].temporal_loss).all()


def test_track_fit_refuses_tracks_that_do_not_start_on_a_detection(keypoint_body):
    keypoints, _, _ = _clip(keypoint_body, 4)
    with pytest.raises(ValueError, match="starts and ends on a detected frame"):
        fit_track(keypoint_body, keypoints, torch.tensor([False, True, True, True]), "coco17", FOCAL, CENTRE,
                  _start(4))
    with pytest.raises(ValueError, match="overlap"):
        SequenceConfig(window=10, overlap=8)
