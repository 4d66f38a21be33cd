"""Retargeting real clips of every supported rig (needs ../shared/data), rig detection, pose file."""

from __future__ import annotations

import numpy as np
import pytest

from data_tools.mocap.convert import convert_clip, infer_subject
from data_tools.mocap.dataset import load_poses, pack_clips, save_npz
from data_tools.mocap.retarget import MATCHED_NAMES
from data_tools.mocap.rigs import UnknownRigError, detect_rig
from data_tools.mocap.skeleton import TargetSkeleton

# An SMPL-like T-pose skeleton (metres, Y up, facing +Z) written for the tests, so they need no model file.
_REST = np.array([
    [0.0, 0.0, 0.0], [0.07, -0.09, 0.0], [-0.07, -0.09, 0.0], [0.0, 0.11, -0.01], [0.10, -0.47, 0.0],
    [-0.10, -0.47, 0.0], [0.0, 0.24, 0.0], [0.09, -0.88, -0.04], [-0.09, -0.88, -0.04], [0.0, 0.30, 0.0],
    [0.11, -0.94, 0.08], [-0.11, -0.94, 0.08], [0.0, 0.51, -0.03], [0.07, 0.41, -0.03], [-0.07, 0.41, -0.03],
    [0.0, 0.58, 0.01], [0.18, 0.46, -0.04], [-0.18, 0.46, -0.04], [0.44, 0.44, -0.05], [-0.44, 0.44, -0.05],
    [0.70, 0.45, -0.05], [-0.70, 0.45, -0.05], [0.79, 0.44, -0.06], [-0.79, 0.44, -0.06],
])  # fmt: skip
TARGET = TargetSkeleton(_REST, "test skeleton")

# The smallest clip of each rig in ../shared/data/mocap, and the error bound it meets on TARGET (metres).
CLIPS = {
    "cmu_mb31": "cmu_mb31/02_01.bvh",
    "cmu_mb31_2010": "cmu_mb31/131_01.bvh",
    "cmu_asf31": "cmu_mb31/16_01.bvh",
    "cmu_daz43": "cmu_daz43/misc/02_03.bvh",
    "cmu_iclone": "cmu_iclone/003/003_02.bvh",
}

SINGLE_CHILD = [("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("left_shoulder", "left_elbow"),
                ("right_elbow", "right_wrist"), ("spine1", "spine2"), ("neck", "head")]


@pytest.mark.parametrize("rig", sorted(CLIPS))
def test_rig_converts_real_clip(shared_data, rig):
    path = shared_data / "mocap" / CLIPS[rig]
    clip = convert_clip(path, TARGET, fps=30.0)
    assert clip.rig == rig
    n = len(clip.frame)
    assert clip.body_pose.shape == (n, 69) and clip.global_orient.shape == (n, 3) and clip.transl.shape == (n, 3)
    assert np.isfinite(clip.body_pose).all() and np.isfinite(clip.transl).all()
    assert clip.errors.shape == (n, len(MATCHED_NAMES))
    # the measure itself: proportions differ between rigs and the target, so errors are a few cm, not 0
    assert 0.005 < np.median(clip.errors) < 0.10
    assert np.percentile(clip.errors, 95) < 0.25
    # people stand upright: the posed head is above the pelvis in nearly every frame
    posed = _posed(clip)
    assert (posed[:, 15, 1] > posed[:, 0, 1]).mean() > 0.95


def _posed(clip):
    import roma
    import torch

    aa = np.concatenate([clip.global_orient, clip.body_pose], axis=1).reshape(-1, 24, 3)
    rot = roma.rotvec_to_rotmat(torch.from_numpy(aa)).numpy()
    return TARGET.forward_kinematics(rot, clip.transl)


@pytest.mark.parametrize("rig", ["cmu_mb31", "cmu_daz43", "cmu_iclone"])
def test_single_child_bones_follow_rig_directions(shared_data, rig):
    """Bone directions of joints with one child match the rig's exactly (rest-pose alignment)."""
    from data_tools.mocap.bvh import read_bvh
    from data_tools.mocap.retarget import retarget

    path = shared_data / "mocap" / CLIPS[rig]
    motion = read_bvh(path)
    spec = detect_rig(motion.names, str(path))
    grot, gpos = motion.forward_kinematics(slice(0, None, 10))
    result = retarget(spec, motion.names, grot, gpos, TARGET)
    posed = TARGET.forward_kinematics(result.local_rot, result.transl)
    names = TargetSkeleton.names
    for a, b in SINGLE_CHILD:
        i, j = names.index(a), names.index(b)
        ours = posed[:, j] - posed[:, i]
        theirs = result.rig_joints[:, j] - result.rig_joints[:, i]
        cos = np.sum(ours * theirs, -1) / np.linalg.norm(ours, axis=-1) / np.linalg.norm(theirs, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.5, (a, b)


def test_resampling_and_ids(shared_data):
    path = shared_data / "mocap" / CLIPS["cmu_daz43"]  # 174 frames at 120 fps
    clip = convert_clip(path, TARGET, fps=30.0)
    assert len(clip.frame) == 44 and clip.native_fps == pytest.approx(120.0, rel=1e-4)
    half = convert_clip(path, TARGET, fps=30.0, native_fps=60.0)  # same file read as 60 fps: twice as long
    assert len(half.frame) == 87
    assert clip.subject == infer_subject(path) == 2
    deduped = convert_clip(path, TARGET, fps=30.0, dedupe_deg=10.0)
    assert 1 <= len(deduped.frame) < len(clip.frame)


def test_pose_file_round_trip(shared_data, tmp_path):
    clip = convert_clip(shared_data / "mocap" / CLIPS["cmu_mb31"], TARGET)
    path = save_npz(tmp_path / "poses.npz", pack_clips([clip]))
    data = load_poses(path)
    assert data["body_pose"].dtype == np.float32 and data["body_pose"].shape == (len(clip.frame), 69)
    assert data["source_names"].tolist() == ["cmu_mb31"] and float(data["fps"]) == 30.0
    np.testing.assert_allclose(data["transl"], clip.transl, atol=1e-5)


def test_unknown_rig_lists_supported_rigs():
    with pytest.raises(UnknownRigError, match=r"unknown BVH rig.*cmu_mb31.*cmu_daz43.*cmu_iclone.*RigSpec"):
        detect_rig(["Root", "Thigh", "Shin"], "x.bvh")


def test_pose_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="pose file not found"):
        load_poses(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, body_pose=np.zeros((2, 69)))
    with pytest.raises(ValueError, match="missing keys"):
        load_poses(bad)


def test_subject_inference_errors(tmp_path):
    assert infer_subject(tmp_path / "martial_135" / "03.bvh") == 135
    with pytest.raises(ValueError, match="cannot infer the subject"):
        infer_subject(tmp_path / "salsa_60_61" / "03.bvh")
