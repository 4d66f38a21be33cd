"""Known poses and their synthetic keypoints for the fitting tests."""

from __future__ import annotations

import torch

from hmr_flow.body import JOINT_NAMES
from hmr_flow.fitting import relaxed_pose
from hmr_flow.fitting.initialisation import FACING_CAMERA
from hmr_flow.geometry import axis_angle_to_matrix, project_points

FOCAL = 1414.0
CENTRE = (500.0, 500.0)


def frontal_pose() -> torch.Tensor:
    """``(69,)`` a pose whose limbs move in the image plane (recoverable from 2D without a prior)."""
    pose = relaxed_pose(0.8).view(23, 3).clone()
    joint = JOINT_NAMES.index
    pose[joint("left_elbow") - 1, 2] = -0.7
    pose[joint("right_elbow") - 1, 2] = 0.4
    pose[joint("left_hip") - 1, 2] = 0.3
    pose[joint("spine1") - 1, 2] = 0.1
    pose[joint("neck") - 1, 2] = -0.2
    return pose.reshape(69)


def render_keypoints(keypoint_body, body_pose, yaw=0.3, transl=(0.1, 0.2, 5.0), fmt="coco17"):
    """Project a posed mean-shape body: ``(keypoints (P, K, 3) with confidence 1, joints (P, 24, 3))``."""
    people = body_pose.shape[0]
    orient = (FACING_CAMERA + torch.tensor([0.0, yaw, 0.0])).expand(people, 3)
    rotmats = torch.cat([axis_angle_to_matrix(orient)[:, None], axis_angle_to_matrix(body_pose.view(people, 23, 3))], 1)
    with torch.no_grad():
        sources = keypoint_body(rotmats, torch.zeros(people, 10), torch.tensor([transl]).expand(people, 3))
    uv = project_points(keypoint_body.keypoint_matrix(fmt) @ sources, FOCAL, CENTRE)
    return torch.cat([uv, torch.ones(*uv.shape[:2], 1)], -1), sources[:, :24]
