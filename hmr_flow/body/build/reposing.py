"""Re-pose MakeHuman's A-pose to SMPL's T-pose with linear blend skinning (batched over shapes).

Rotations are chosen geometrically, joint by joint in kinematic order: each listed joint turns its
bone (joint → child joint) onto a target direction — arms (shoulder→elbow, elbow→wrist,
wrist→knuckles) horizontal along ±X; legs (hip→knee, knee→ankle) vertical in the frontal (XY)
plane, keeping their natural forward/backward tilt. Every other joint keeps its rest rotation.
"""

from __future__ import annotations

import torch

from hmr_flow.body.skeleton import JOINT_NAMES, PARENTS

_J = {n: i for i, n in enumerate(JOINT_NAMES)}
#: (joint, child, target direction, frontal plane only)
T_POSE_BONES: tuple[tuple[str, str, tuple[float, float, float], bool], ...] = tuple(
    entry
    for side, sign in (("left", 1.0), ("right", -1.0))
    for entry in (
        (f"{side}_shoulder", f"{side}_elbow", (sign, 0.0, 0.0), False),
        (f"{side}_elbow", f"{side}_wrist", (sign, 0.0, 0.0), False),
        (f"{side}_wrist", f"{side}_hand", (sign, 0.0, 0.0), False),
        (f"{side}_hip", f"{side}_knee", (0.0, -1.0, 0.0), True),
        (f"{side}_knee", f"{side}_ankle", (0.0, -1.0, 0.0), True),
    )
)


def align_rotation(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(N, 3, 3)`` smallest rotations turning directions ``source (N, 3)`` onto ``target (N, 3)``."""
    a = torch.nn.functional.normalize(source, dim=-1)
    b = torch.nn.functional.normalize(target, dim=-1)
    axis = torch.cross(a, b, dim=-1)
    sin = axis.norm(dim=-1).clamp(min=1e-12)
    cos = (a * b).sum(-1)
    k = axis / sin[:, None]
    angle = torch.atan2(sin, cos)
    skew = torch.zeros(a.shape[0], 3, 3, dtype=a.dtype)
    skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    skew = skew - skew.transpose(1, 2)
    eye = torch.eye(3, dtype=a.dtype).expand_as(skew)
    return eye + torch.sin(angle)[:, None, None] * skew + (1 - torch.cos(angle))[:, None, None] * (skew @ skew)


def t_pose_transforms(joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World rigid transforms ``(N, 24, 3, 3)`` rotations and ``(N, 24, 3)`` translations (x ↦ R x + t)
    taking A-pose joints ``(N, 24, 3)`` to the T-pose."""
    n, dtype = joints.shape[0], joints.dtype
    rot = torch.eye(3, dtype=dtype).repeat(n, 24, 1, 1)
    trans = torch.zeros(n, 24, 3, dtype=dtype)
    specs = {_J[j]: (_J[c], torch.tensor(t, dtype=dtype), frontal) for j, c, t, frontal in T_POSE_BONES}
    for j, parent in enumerate(PARENTS):
        if parent < 0:
            continue
        r_p, t_p = rot[:, parent], trans[:, parent]
        if j not in specs:
            rot[:, j], trans[:, j] = r_p, t_p
            continue
        child, target, frontal = specs[j]
        bone = torch.einsum("nij,nj->ni", r_p, joints[:, child] - joints[:, j])
        target = target.expand_as(bone).clone()
        if frontal:
            bone = bone * torch.tensor([1.0, 1.0, 0.0], dtype=dtype)
        q = align_rotation(bone, target)
        pivot = torch.einsum("nij,nj->ni", r_p, joints[:, j]) + t_p
        rot[:, j] = q @ r_p
        trans[:, j] = torch.einsum("nij,nj->ni", q, t_p - pivot) + pivot
    return rot, trans


def skin(vertices: torch.Tensor, weights: torch.Tensor, rot: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
    """Linear blend skinning: ``(N, V, 3)`` vertices, ``(V, 24)`` weights, transforms as above."""
    blended_rot = torch.einsum("vj,njab->nvab", weights, rot)
    blended_trans = torch.einsum("vj,nja->nva", weights, trans)
    return torch.einsum("nvab,nvb->nva", blended_rot, vertices) + blended_trans


def apply_to_joints(joints: torch.Tensor, rot: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
    """Joints ``(N, 24, 3)`` carried by their own transforms (a joint does not move under its own rotation)."""
    return torch.einsum("njab,njb->nja", rot, joints) + trans
