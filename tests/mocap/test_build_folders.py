"""The shared build's folders (``mocap build --folders``), HDM05's subjects and the one validation split."""

from __future__ import annotations

import numpy as np
import pytest

from data_tools.mocap.build import SHARED_FOLDERS, VALIDATION_SUBJECTS, folder_counts, shared_jobs, split_by_subject
from data_tools.mocap.convert import HDM05_SUBJECTS


def test_hdm05_jobs_and_folder_choice(shared_data):
    root = shared_data / "mocap"
    hdm05 = shared_jobs(root, ("hdm05",))
    assert len(hdm05) == 232 and {job.subject for job in hdm05} == {1001, 1002, 1003, 1004}
    assert all(job.clip.startswith("hdm05/HDM_") and job.native_fps is None for job in hdm05)
    cmu = shared_jobs(root, ("cmu_mb31", "cmu_daz43", "cmu_iclone", "cmu_deepmimic"))
    everything = shared_jobs(root)
    assert [job.clip for job in everything] == [job.clip for job in cmu + hdm05]  # SHARED_FOLDERS order
    with pytest.raises(ValueError, match=r"unknown shared mocap folders \['cmu'\]"):
        shared_jobs(root, ("cmu",))


def test_validation_subjects_are_one_list():
    """The build's split and the prior trainer's default hold out the same subjects; HDM05's ids cannot
    clash with CMU's (1–144)."""
    from hmr_flow.prior.train import DEFAULT_VAL_SUBJECTS

    assert DEFAULT_VAL_SUBJECTS == VALIDATION_SUBJECTS and HDM05_SUBJECTS["bd"] in VALIDATION_SUBJECTS
    assert min(HDM05_SUBJECTS.values()) > 144 and set(SHARED_FOLDERS) >= {"hdm05", "cmu_deepmimic"}


def test_split_and_folder_counts_follow_subjects_only():
    """A file built from fewer folders keeps the validation frames of the folders it has: the split reads
    subjects only."""
    arrays = {"clip_names": np.array(["cmu_mb31/16_01", "hdm05/HDM_bd_x_001_120", "hdm05/HDM_bk_x_001_120"]),
              "clip": np.array([0, 0, 1, 1, 1, 2]), "subject": np.array([16, 16, 1001, 1001, 1001, 1002])}
    split = split_by_subject(arrays["subject"])
    assert split["val"].tolist() == [0, 1, 2, 3, 4] and split["train"].tolist() == [5]
    assert folder_counts(arrays, split) == {"cmu_mb31": {"frames": 2, "train": 0, "val": 2},
                                            "hdm05": {"frames": 4, "train": 1, "val": 3}}
    cmu_only = split_by_subject(arrays["subject"][:2])
    assert cmu_only["val"].tolist() == [0, 1]


def test_demo_poses_come_from_cmu_validation_frames_only(tmp_path):
    """The demo's poses ship under CMU's terms: HDM05's validation actor (CC BY-SA) is never drawn."""
    from data_tools.demo_assets import load_validation

    n = 6
    np.savez(tmp_path / "poses.npz", global_orient=np.zeros((n, 3)), body_pose=np.zeros((n, 69)),
             transl=np.zeros((n, 3)), betas=np.zeros((n, 10)), subject=np.array([3, 3, 1001, 1001, 7, 16]),
             clip=np.zeros(n, int), source=np.zeros(n, int), frame=np.arange(n), fps=30.0,
             clip_names=np.array(["a"]), source_names=np.array(["cmu_mb31"]))
    np.savez(tmp_path / "split.npz", val=np.array([0, 1, 2, 3, 5]))
    _, rows = load_validation(tmp_path / "poses.npz", tmp_path / "split.npz")
    assert rows.tolist() == [0, 1, 5]
    np.savez(tmp_path / "split.npz", val=np.array([2, 3]))
    with pytest.raises(ValueError, match="no CMU frames among the validation rows"):
        load_validation(tmp_path / "poses.npz", tmp_path / "split.npz")


def test_build_refuses_an_unknown_folder(tmp_path, capfd):
    from data_tools.__main__ import main

    assert main(["mocap", "build", "--folders", "cmu", "--out", str(tmp_path / "m")]) == 2
    err = capfd.readouterr().err
    assert "--folders: invalid choice: 'cmu'" in err and "hdm05" in err
    assert not (tmp_path / "m").exists()
