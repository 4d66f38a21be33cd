"""The open body model through ``BodyModel``: structure, rest pose, skinning, keypoints, inputs."""

from __future__ import annotations

import numpy as np
import pytest
import smplx
import torch
import trimesh

from hmr_flow.body import COCO17_NAMES, JOINT_NAMES, BODY25_NAMES, PARENTS

J = {n: i for i, n in enumerate(JOINT_NAMES)}


def test_loads_through_smplx_with_documented_sizes(body_model):
    assert isinstance(body_model.smpl, smplx.SMPL)
    assert 5000 <= body_model.num_vertices <= 14000
    assert body_model.parents == PARENTS and body_model.joint_names == JOINT_NAMES
    mesh = trimesh.Trimesh(body_model.rest_vertices().numpy(), body_model.faces, process=False)
    assert mesh.is_watertight and mesh.volume > 0.03  # one closed, outward-facing surface (m³)


def test_zero_pose_returns_template(body_model):
    out = body_model(torch.zeros(1, 72))
    assert torch.allclose(out.vertices[0], body_model.rest_vertices(), atol=1e-6)
    assert torch.allclose(out.joints[0], body_model.rest_joints(), atol=1e-6)


def test_rest_pose_is_a_t_pose_in_metres_y_up_facing_z(body_model):
    joints = body_model.rest_joints()
    for side in ("left", "right"):
        for part in ("elbow", "wrist", "hand"):
            assert abs(joints[J[f"{side}_{part}"], 1] - joints[J[f"{side}_shoulder"], 1]) < 0.03
    assert joints[J["left_wrist"], 0] > 0.5 and joints[J["right_wrist"], 0] < -0.5
    height = body_model.rest_vertices()[:, 1]
    assert 1.55 < float(height.max() - height.min()) < 1.85
    assert joints[J["head"], 1] > joints[J["pelvis"], 1] > joints[J["left_knee"], 1]


def test_left_and_right_joints_mirror(body_model):
    betas = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    joints = body_model.rest_joints(betas)
    mirrored = joints * torch.tensor([-1.0, 1.0, 1.0])
    flip = [JOINT_NAMES.index(n.replace("left_", "#").replace("right_", "left_").replace("#", "right_")) for n in JOINT_NAMES]
    assert (mirrored[:, flip] - joints).norm(dim=-1).max() < 0.01


def test_regressor_and_weight_rows_sum_to_one(body_model):
    regressor, weights = body_model.smpl.J_regressor, body_model.smpl.lbs_weights
    assert (regressor >= 0).all() and torch.allclose(regressor.sum(1), torch.ones(24), atol=1e-5)
    assert (weights >= 0).all() and torch.allclose(weights.sum(1), torch.ones(weights.shape[0]), atol=1e-5)


def test_height_over_first_beta_spans_adult_range(body_model):
    betas = torch.zeros(2, 10)
    betas[:, 0] = torch.tensor([-2.0, 2.0])
    y = body_model.rest_vertices(betas)[..., 1]
    heights = (y.max(1).values - y.min(1).values).tolist()
    assert 1.40 < min(heights) < 1.55 and 1.80 < max(heights) < 2.00


def test_bending_one_elbow_moves_only_that_forearm_and_hand(body_model):
    pose = torch.zeros(1, 72)
    pose[0, 3 * J["left_elbow"] + 1] = -np.pi / 2
    moved = (body_model(pose).vertices[0] - body_model.rest_vertices()).norm(dim=-1)
    weights = body_model.smpl.lbs_weights
    forearm = weights[:, [J["left_elbow"], J["left_wrist"], J["left_hand"]]].sum(1) > 0
    assert moved[~forearm].max() < 1e-3
    assert moved[forearm].max() > 0.25  # the fingertips swing by ~ the forearm + hand length


def test_rest_keypoints_are_where_they_should_be(body_model):
    out = body_model()
    coco = dict(zip(COCO17_NAMES, out.coco17[0]))
    joints = out.joints[0]
    assert coco["nose"][2] > joints[J["head"], 2] + 0.05  # nose in front of the head
    assert coco["nose"][1] > coco["left_shoulder"][1] and coco["left_eye"][1] > coco["nose"][1]
    assert coco["left_eye"][0] > 0 > coco["right_eye"][0] and coco["left_ear"][0] > coco["left_eye"][0]
    lowest = min(coco, key=lambda n: coco[n][1])
    assert lowest in ("left_ankle", "right_ankle")
    body25 = dict(zip(BODY25_NAMES, out.body25[0]))
    assert torch.allclose(body25["neck"], 0.5 * (coco["left_shoulder"] + coco["right_shoulder"]))
    for side in ("left", "right"):
        assert body25[f"{side}_heel"][2] < joints[J[f"{side}_ankle"], 2] < body25[f"{side}_big_toe"][2]
        assert body25[f"{side}_big_toe"][1] < joints[J[f"{side}_ankle"], 1] - 0.05


def test_rotation_matrices_axis_angle_and_split_inputs_agree(body_model):
    pose = 0.3 * torch.randn(3, 72, generator=torch.Generator().manual_seed(1))
    betas, transl = torch.randn(3, 10), torch.randn(3, 3)
    a = body_model(pose, betas, transl)
    b = body_model(body_model_rotmats(pose), betas, transl)
    c = body_model(betas=betas, transl=transl, global_orient=pose[:, :3], body_pose=pose[:, 3:])
    for other in (b, c):
        assert torch.allclose(a.vertices, other.vertices, atol=1e-5)
        assert torch.allclose(a.coco17, other.coco17, atol=1e-5)
    assert a.body25.shape == (3, 25, 3) and a.joints.shape == (3, 24, 3)


def body_model_rotmats(pose: torch.Tensor) -> torch.Tensor:
    from hmr_flow.geometry import axis_angle_to_matrix

    return axis_angle_to_matrix(pose.view(-1, 24, 3))


def test_differentiable_in_pose_betas_and_transl(body_model):
    pose = torch.zeros(2, 72, requires_grad=True)
    betas = torch.zeros(2, 10, requires_grad=True)
    transl = torch.zeros(2, 3, requires_grad=True)
    body_model(pose, betas, transl).coco17.square().sum().backward()
    for tensor in (pose, betas, transl):
        assert tensor.grad is not None and tensor.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pose": torch.zeros(2, 69)}, "pose"),
        ({"pose": torch.full((1, 72), float("nan"))}, "pose"),
        ({"pose": torch.zeros(2, 72), "betas": torch.zeros(3, 10)}, "betas"),
        ({"betas": torch.zeros(1, 7)}, "betas"),
        ({"pose": torch.zeros(1, 72), "transl": torch.zeros(1, 2)}, "transl"),
        ({"global_orient": torch.zeros(1, 3)}, "global_orient"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(body_model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        body_model(**kwargs)


def test_smplx_shape_coefficient_note_is_silenced_where_the_model_is_made(capfd):
    """smplx prints "You are using a SMPL model, with only 10 shape coefficients." for every model it makes;
    the project's BodyModel keeps it off the user's screen (and leaves smplx itself alone)."""
    from hmr_flow.body import BodyModel, load_model_file

    body = BodyModel()
    assert "shape coefficients" not in capfd.readouterr().out
    arrays = load_model_file(body.model_path)[0]
    smplx.SMPL(model_path=str(body.model_path), data_struct=smplx.utils.Struct(**arrays), num_betas=10)
    assert "with only 10 shape coefficients" in capfd.readouterr().out
