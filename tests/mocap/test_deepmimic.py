"""DeepMimic clips: the humanoid's kinematics by hand, refused files, and real clips of ../shared/data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from data_tools.mocap.build import shared_jobs
from data_tools.mocap.convert import convert_clip, read_motion
from data_tools.mocap.deepmimic import END_SITES, DeepMimicError, read_deepmimic
from data_tools.mocap.rigs import detect_rig

# A humanoid with the DeepMimic joint layout and round offsets (metres, Y up, facing +X, right at +Z).
_JOINTS = [
    ("root", "none", -1, (0, 0, 0)), ("chest", "spherical", 0, (0, 0.24, 0)), ("neck", "spherical", 1, (0, 0.22, 0)),
    ("right_hip", "spherical", 0, (0, 0, 0.08)), ("right_knee", "revolute", 3, (0, -0.42, 0)),
    ("right_ankle", "spherical", 4, (0, -0.41, 0)), ("right_shoulder", "spherical", 1, (0, 0.24, 0.18)),
    ("right_elbow", "revolute", 6, (0, -0.27, 0)), ("right_wrist", "fixed", 7, (0, -0.26, 0)),
    ("left_hip", "spherical", 0, (0, 0, -0.08)), ("left_knee", "revolute", 9, (0, -0.42, 0)),
    ("left_ankle", "spherical", 10, (0, -0.41, 0)), ("left_shoulder", "spherical", 1, (0, 0.24, -0.18)),
    ("left_elbow", "revolute", 12, (0, -0.27, 0)), ("left_wrist", "fixed", 13, (0, -0.26, 0)),
]
_IDENTITY = [1.0, 0.0, 0.0, 0.0]
_WIDTH = 44


def _frame(root=(0.0, 0.9, 0.0), root_quat=_IDENTITY, right_knee=0.0, duration=1 / 30) -> list[float]:
    row = [duration, *root, *root_quat]
    for name, kind, _, _ in _JOINTS[1:]:
        if kind == "spherical":
            row += _IDENTITY
        elif kind == "revolute":
            row.append(right_knee if name == "right_knee" else 0.0)
    return row


@pytest.fixture()
def folder(tmp_path):
    skeleton = {"joints": [{"id": i, "name": n, "type": k, "parent": p, "offset": list(o)}
                           for i, (n, k, p, o) in enumerate(_JOINTS)]}
    (tmp_path / "humanoid3d_skeleton.json").write_text(json.dumps(skeleton))
    (tmp_path / "11").mkdir()
    return tmp_path


def _clip(folder, frames, name="11/11_01.txt"):
    path = folder / name
    path.write_text(json.dumps({"Loop": "none", "Frames": frames}))
    return path


def test_kinematics_by_hand(folder):
    """A knee bent 90° about its Z axis puts the ankle 0.41 m ahead of the knee; a root quaternion of
    90° about Y turns the right hip (+Z) to +X; the root position carries everything; the end sites hang
    from their joints."""
    half = math.sqrt(0.5)
    frames = [_frame(right_knee=math.pi / 2), _frame(root=(1.0, 0.9, 2.0), root_quat=[half, 0, half, 0], duration=0)]
    motion = read_deepmimic(_clip(folder, frames))
    assert motion.fps == pytest.approx(30.0) and motion.num_frames == 2
    rot, pos = motion.forward_kinematics()
    names = motion.names
    knee, ankle = pos[0, names.index("right_knee")], pos[0, names.index("right_ankle")]
    np.testing.assert_allclose(ankle - knee, [0.41, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(knee, [0.0, 0.9 - 0.42, 0.08], atol=1e-12)
    np.testing.assert_allclose(pos[1, names.index("right_hip")], [1.08, 0.9, 2.0], atol=1e-12)
    np.testing.assert_allclose(rot[1, 0] @ [1.0, 0.0, 0.0], [0.0, 0.0, -1.0], atol=1e-12)
    for site, (parent, offset) in END_SITES.items():
        np.testing.assert_allclose(pos[0, names.index(site)] - pos[0, names.index(parent)],
                                   rot[0, names.index(parent)] @ np.asarray(offset), atol=1e-12)
    np.testing.assert_allclose(motion.rest_positions()[names.index("right_ankle")], [0.0, -0.83, 0.08], atol=1e-12)
    assert detect_rig(names).name == "cmu_deepmimic"


@pytest.mark.parametrize(
    "frames, problem",
    [
        ([_frame()[:-1]], "frame 0 has 43 values, the humanoid needs 44"),
        ([_frame(), _frame()[:30]], "frame 1 has 30 values"),
        ([_frame(), [math.nan] * _WIDTH], "frame 1 holds NaN"),
        ([_frame(root_quat=[0, 0, 0, 0])], "frame 0 has a zero quaternion"),
        ([_frame(duration=0.1), _frame(duration=0.02), _frame()], "frame durations must be one positive value"),
        ([], "no frame rows"),
        ([["a"] * _WIDTH], "numbers only"),
    ],
)
def test_bad_clips_are_refused_naming_file_and_frame(folder, frames, problem):
    path = _clip(folder, frames)
    with pytest.raises(DeepMimicError, match=problem) as error:
        read_deepmimic(path)
    assert str(path) in str(error.value)


def test_missing_skeleton_and_bad_json(tmp_path, folder):
    (tmp_path / "alone").mkdir()
    lonely = tmp_path / "alone" / "x" / "01_01.txt"
    lonely.parent.mkdir()
    lonely.write_text(json.dumps({"Frames": [_frame()]}))
    with pytest.raises(DeepMimicError, match="no humanoid3d_skeleton.json"):
        read_deepmimic(lonely)
    broken = folder / "11" / "11_02.txt"
    broken.write_text("{not json")
    with pytest.raises(DeepMimicError, match="11_02.txt: not a DeepMimic motion JSON"):
        read_motion(broken)


def test_shared_build_includes_every_deepmimic_subject(shared_data):
    jobs = shared_jobs(shared_data / "mocap")
    deepmimic = {job.subject for job in jobs if "cmu_deepmimic" in job.clip}
    assert deepmimic == {2, 6, 7, 10, 11, 16, 43, 49, 85, 88, 90, 127, 139, 140}
    assert sum("cmu_deepmimic" in job.clip for job in jobs) == 72


def test_real_clip_retargets_upright(shared_data, open_target):
    """A jump of subject 11 (in no other folder): people stay upright; the error of the open model
    (median 1.3 cm, p95 2.9 cm over the 72 clips) stays within the rigs' targets (3 / 6 cm)."""
    clip = convert_clip(shared_data / "mocap" / "cmu_deepmimic" / "11" / "11_01.txt", open_target)
    assert clip.rig == "cmu_deepmimic" and clip.subject == 11 and clip.native_fps == pytest.approx(30.0)
    assert np.median(clip.errors) < 0.02 and np.percentile(clip.errors, 95) < 0.045
    shaped = open_target.shaped(clip.betas[0])
    posed = shaped.forward_kinematics(
        np.concatenate([_rotmats(clip.global_orient[:, None]), _rotmats(clip.body_pose.reshape(-1, 23, 3))], 1),
        clip.transl)
    assert (posed[:, 15, 1] > posed[:, 0, 1] + 0.3).all()  # head well above the pelvis


def _rotmats(axis_angle: np.ndarray) -> np.ndarray:
    import torch

    from hmr_flow.geometry import axis_angle_to_matrix

    return axis_angle_to_matrix(torch.from_numpy(axis_angle)).numpy()


def test_partial_rig_frames_never_validate():
    """Frames of a rig with undriven joints (DeepMimic: spine1, spine3, wrists) train when their subject
    trains, and are in neither split when it is a validation subject."""
    from data_tools.mocap.build import split_by_subject
    from data_tools.mocap.rigs import DEEPMIMIC

    assert set(DEEPMIMIC.undriven) == {"spine1", "spine3", "left_wrist", "right_wrist"}
    subjects = np.array([1, 1, 3, 3, 3, 2])
    partial = np.array([False, True, False, True, True, False])
    split = split_by_subject(subjects, validation=(3,), partial=partial)
    assert split["train"].tolist() == [0, 1, 5] and split["val"].tolist() == [2]
    assert split["excluded"].tolist() == [3, 4]


def test_prior_split_leaves_partial_frames_out_of_validation(tmp_path):
    from hmr_flow.prior.train import load_split

    rng = np.random.default_rng(0)
    path = tmp_path / "poses.npz"
    np.savez(path, body_pose=(0.2 * rng.standard_normal((6, 69))).astype(np.float32),
             subject=np.array([1, 1, 3, 3, 3, 2], dtype=np.int32),
             partial=np.array([False, True, False, True, True, False]))
    split = load_split(path, (3,))
    assert len(split.train) == 3 and len(split.val) == 1
    np.savez(path, body_pose=np.zeros((2, 69), np.float32), subject=np.array([1, 3], np.int32),
             partial=np.array([False, True]))
    with pytest.raises(ValueError, match="empty training or validation"):
        load_split(path, (3,))
