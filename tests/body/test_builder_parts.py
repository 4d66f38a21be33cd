"""Builder building blocks: macro blending, rig mapping, re-posing, stored metadata."""

from __future__ import annotations

import numpy as np
import torch

from hmr_flow.body.build import population
from hmr_flow.body.build.reposing import align_rotation, t_pose_transforms
from hmr_flow.body.build.rig_mapping import bone_joint, joint_bone
from hmr_flow.body import JOINT_NAMES, MODEL_FORMAT_VERSION


def test_macro_token_weights_blend_to_one_per_variable():
    macros = population.sample_macros(500, np.random.default_rng(0))
    w = population.token_weights(macros)
    groups = [("female", "male"), ("baby", "child", "young", "old"), ("african", "asian", "caucasian"),
              ("minmuscle", "averagemuscle", "maxmuscle"), ("minweight", "averageweight", "maxweight")]
    for group in groups:
        assert np.allclose(sum(w[t] for t in group), 1.0)
    assert (w["baby"] == 0).all()  # adults only
    assert np.allclose(population.age_years_to_macro([11, 25, 90]), [0.1875, 0.5, 1.0])


def test_rig_mapping_round_trips_for_every_joint():
    for joint in JOINT_NAMES:
        assert bone_joint(joint_bone(joint)) == joint
    assert bone_joint("thumb_02_l") == "left_wrist" and bone_joint("pinky_03_r") == "right_hand"


def test_align_rotation_and_t_pose_make_arms_horizontal():
    a, b = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    r = align_rotation(a, b)
    assert torch.allclose(torch.nn.functional.normalize(torch.einsum("nij,nj->ni", r, a), dim=-1),
                          torch.nn.functional.normalize(b, dim=-1), atol=1e-9)
    assert torch.allclose(r @ r.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(5, 3, 3), atol=1e-9)
    joints = torch.randn(2, 24, 3, dtype=torch.float64)
    rot, trans = t_pose_transforms(joints)
    posed = torch.einsum("njab,njb->nja", rot, joints) + trans
    for side in ("left", "right"):
        chain = [JOINT_NAMES.index(f"{side}_{p}") for p in ("shoulder", "elbow", "wrist", "hand")]
        assert torch.allclose(posed[:, chain, 1:], posed[:, chain[:1], 1:].expand(2, 4, 2), atol=1e-9)


def test_model_file_records_its_build(body_model):
    meta = body_model.meta
    assert meta["format_version"] == MODEL_FORMAT_VERSION and "CC0" in meta["license"]
    assert meta["num_vertices"] == body_model.num_vertices and meta["num_faces"] == len(body_model.faces)
    assert np.allclose(meta["sample_betas_std"], 1.0, atol=0.01)
    assert body_model.model_path.name == f"open_body_v{MODEL_FORMAT_VERSION}.npz"
