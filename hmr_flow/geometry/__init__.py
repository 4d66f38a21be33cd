"""Rotation conversions, forward kinematics, linear blend skinning and camera projection (see each module for
conventions)."""

from hmr_flow.geometry.camera import default_focal, project_points, smpl_to_camera_rotation
from hmr_flow.geometry.kinematics import forward_kinematics
from hmr_flow.geometry.skinning import linear_blend_skinning, pose_blend, shape_blend, skin_points
from hmr_flow.geometry.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_rot6d,
    matrix_to_axis_angle,
    matrix_to_rot6d,
    rot6d_to_axis_angle,
    rot6d_to_matrix,
)

__all__ = [
    "axis_angle_to_matrix",
    "axis_angle_to_rot6d",
    "default_focal",
    "forward_kinematics",
    "linear_blend_skinning",
    "matrix_to_axis_angle",
    "matrix_to_rot6d",
    "pose_blend",
    "project_points",
    "rot6d_to_axis_angle",
    "rot6d_to_matrix",
    "shape_blend",
    "skin_points",
    "smpl_to_camera_rotation",
]
