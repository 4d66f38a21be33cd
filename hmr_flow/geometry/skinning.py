"""Linear blend skinning as pure functions (smplx keeps its ``lbs.py`` the same way): shape and pose blend
shapes, then each point moved by the weighted blend of its joints' transforms from
:func:`~hmr_flow.geometry.kinematics.forward_kinematics`.

:class:`hmr_flow.body.KeypointBody` poses its 24 joints and 11 keypoint vertices with these;
:func:`linear_blend_skinning` on all of a model's vertices equals ``smplx.lbs.lbs`` (tested). Shapes:
``B`` bodies, ``S`` points, ``J`` joints, ``K`` shape coefficients, ``P = 9 (J - 1)`` pose features;
metres in the model frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from hmr_flow.geometry.kinematics import forward_kinematics


def shape_blend(template: torch.Tensor, shapedirs: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """Shaped rest points ``(B, S, 3)``: ``template (S, 3)`` plus the shape directions ``(S, 3, K)`` weighted
    by ``betas (B, K)`` (also for joints: the joint regressor applied to template and directions)."""
    return template + torch.einsum("scb,nb->nsc", shapedirs, betas)


def pose_blend(rotations: torch.Tensor, posedirs: torch.Tensor) -> torch.Tensor:
    """Pose-corrective offsets ``(B, S, 3)`` of ``rotations (B, J, 3, 3)`` (root first, which does not
    count): ``(R_j - I)`` of joints ``1..J-1`` flattened ``(B, P)`` times ``posedirs (P, 3S)``."""
    batch = rotations.shape[0]
    eye = torch.eye(3, dtype=rotations.dtype, device=rotations.device)
    pose_feature = (rotations[:, 1:] - eye).reshape(batch, -1)
    return (pose_feature @ posedirs).view(batch, -1, 3)


def skin_points(points: torch.Tensor, weights: torch.Tensor, world_rotations: torch.Tensor, posed_joints: torch.Tensor,
                rest_joints: torch.Tensor) -> torch.Tensor:
    """Posed points ``(B, S, 3)``: rest ``points (B, S, 3)`` moved by the blend, with ``weights (S, J)``, of
    the joints' transforms ``x ↦ R_j (x − J_j) + P_j`` (``world_rotations (B, J, 3, 3)``, ``posed_joints
    (B, J, 3)`` from :func:`forward_kinematics` of ``rest_joints (B, J, 3)``)."""
    offsets = posed_joints - torch.einsum("njab,njb->nja", world_rotations, rest_joints)
    skin_rot = torch.einsum("sj,njab->nsab", weights, world_rotations)
    skin_offset = torch.einsum("sj,nja->nsa", weights, offsets)
    return torch.einsum("nsab,nsb->nsa", skin_rot, points) + skin_offset


def linear_blend_skinning(betas: torch.Tensor, rotations: torch.Tensor, template: torch.Tensor,
                          shapedirs: torch.Tensor, posedirs: torch.Tensor, joint_template: torch.Tensor,
                          joint_shapedirs: torch.Tensor, weights: torch.Tensor,
                          parents: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(posed joints (B, J, 3), posed points (B, S, 3))`` of ``betas (B, K)`` and local ``rotations (B, J,
    3, 3)``: points ``template (S, 3)`` with ``shapedirs (S, 3, K)``, ``posedirs (P, 3S)`` and skinning
    ``weights (S, J)``; joints ``joint_template (J, 3)`` with ``joint_shapedirs (J, 3, K)`` (the joint
    regressor applied beforehand); ``parents`` as :func:`forward_kinematics` takes them. The root stays at
    its rest position (no translation)."""
    rest_joints = shape_blend(joint_template, joint_shapedirs, betas)
    points = shape_blend(template, shapedirs, betas) + pose_blend(rotations, posedirs)
    posed_joints, world_rotations = forward_kinematics(rotations, rest_joints, parents)
    return posed_joints, skin_points(points, weights, world_rotations, posed_joints, rest_joints)
