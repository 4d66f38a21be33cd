"""Fixtures: the shipped priors, and real validation-subject poses converted from two shared clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hmr_flow.prior import load_prior

#: Clips of validation subjects (16: jumps/runs, 135: martial arts); the priors never saw them.
VALIDATION_CLIPS = ("cmu_mb31/16_01.bvh", "cmu_daz43/martial_135/03.bvh")


@pytest.fixture(scope="session")
def gmm_prior():
    return load_prior("gmm")


@pytest.fixture(scope="session")
def cnf_prior():
    """The shipped continuous-flow prior (``hmr_flow/assets/prior_cnf.pt``)."""
    return load_prior("cnf")


@pytest.fixture
def shipped(flow_prior, cnf_prior, gmm_prior):
    """The shipped density priors by kind."""
    return {"flow": flow_prior, "cnf": cnf_prior, "gmm": gmm_prior}


@pytest.fixture(scope="session")
def val_poses(shared_data) -> torch.Tensor:
    """``(N, 69)`` axis-angle body poses of two held-out clips, every 4th frame at 30 fps."""
    from data_tools.mocap.convert import convert_clip
    from data_tools.mocap.skeleton import TargetSkeleton

    target = TargetSkeleton.load()
    poses = [convert_clip(shared_data / "mocap" / clip, target, fps=30.0).body_pose[::4] for clip in VALIDATION_CLIPS]
    return torch.from_numpy(np.concatenate(poses)).float()
