"""``KeypointBody``: the body model reduced to what 2D fitting needs (joints and keypoints).

Running the full model (≈13k vertices, pose blend shapes on all of them) for every step of a
batched fit is wasteful: the reprojection loss only sees the 24 joints and the 11 surface vertices
that define face/foot keypoints. This module precomputes the joint regressor applied to the template
and shape directions, and keeps only those vertices' template, shape/pose blend shapes and skinning
weights, so that one forward pass costs a few hundred floats per body; the skinning itself is
:func:`hmr_flow.geometry.skinning.linear_blend_skinning`. Outputs equal :class:`hmr_flow.body.BodyModel`
(tested).
"""

from __future__ import annotations

import torch
from torch import nn

from hmr_flow.body.keypoints import KeypointMatrices
from hmr_flow.body.model import BodyModel
from hmr_flow.body.skeleton import NUM_JOINTS
from hmr_flow.geometry.skinning import linear_blend_skinning


class KeypointBody(KeypointMatrices, nn.Module):
    """Joints and detector keypoints of ``body`` without the full mesh.

    Args:
        body: the :class:`BodyModel` to reduce (its buffers are copied, not shared).
    """

    def __init__(self, body: BodyModel):
        super().__init__()
        smpl = body.smpl
        vertex_ids = smpl.vertex_joint_selector.extra_joints_idxs.long()
        j_reg = smpl.J_regressor
        self.num_betas = body.num_betas
        self.register_buffer("joint_template", j_reg @ smpl.v_template)  # (24, 3)
        self.register_buffer("joint_shapedirs", torch.einsum("jv,vcb->jcb", j_reg, smpl.shapedirs))  # (24, 3, B)
        self.register_buffer("vertex_template", smpl.v_template[vertex_ids])  # (S, 3)
        self.register_buffer("vertex_shapedirs", smpl.shapedirs[vertex_ids])  # (S, 3, B)
        posedirs = smpl.posedirs.view(smpl.posedirs.shape[0], -1, 3)[:, vertex_ids]  # (207, S, 3)
        self.register_buffer("vertex_posedirs", posedirs.reshape(posedirs.shape[0], -1))
        self.register_buffer("vertex_weights", smpl.lbs_weights[vertex_ids])  # (S, 24)
        self.parents = tuple(int(p) for p in smpl.parents.tolist())
        self._add_keypoint_matrices()

    def forward(self, rotmats: torch.Tensor, betas: torch.Tensor, transl: torch.Tensor) -> torch.Tensor:
        """Posed source points.

        Args:
            rotmats: ``(B, 24, 3, 3)`` joint rotations (global orientation first).
            betas: ``(B, num_betas)``.
            transl: ``(B, 3)`` metres, added to every point.

        Returns:
            ``(B, 35, 3)``: the 24 joints then the 11 keypoint vertices, in the frame of ``rotmats``
            plus ``transl`` (multiply by :meth:`keypoint_matrix` to get keypoints).
        """
        if tuple(rotmats.shape[1:]) != (NUM_JOINTS, 3, 3):
            raise ValueError(f"rotmats: expected (B, {NUM_JOINTS}, 3, 3), got {tuple(rotmats.shape)}")
        posed_joints, posed_verts = linear_blend_skinning(
            betas, rotmats, self.vertex_template, self.vertex_shapedirs, self.vertex_posedirs, self.joint_template,
            self.joint_shapedirs, self.vertex_weights, self.parents)
        return torch.cat([posed_joints, posed_verts], dim=1) + transl[:, None, :]
