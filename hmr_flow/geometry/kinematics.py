"""Forward kinematics of a kinematic tree (SMPL's 24 joints, or any tree with parents before children).

The one implementation in the project: :class:`hmr_flow.body.KeypointBody` (fitting and training),
the mocap retargeting target and its Gauss–Newton refinement (``data_tools.mocap``) all call it.
:class:`hmr_flow.body.BodyModel` runs the same kinematics inside ``smplx`` (tested equal).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def forward_kinematics(rotations: torch.Tensor, rest_joints: torch.Tensor,
                       parents: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Posed joints and world rotations from local joint rotations, as SMPL poses its skeleton.

    Args:
        rotations: ``(B, J, 3, 3)`` local rotation matrices, each relative to its parent joint's frame;
            joint 0 (the root) holds the global orientation (for SMPL ``J = 24``).
        rest_joints: ``(B, J, 3)`` rest-pose joint positions (metres for SMPL; ``(J, 3)`` broadcasts
            over the batch).
        parents: ``J`` parent indices, ``parents[j] < j``, ``-1`` for the root (SMPL:
            :data:`hmr_flow.body.skeleton.PARENTS`).

    Returns:
        ``joints (B, J, 3)``: posed positions; the root stays at its rest position (SMPL rotates about
        the rest pelvis, translation is added by the caller), and ``joints[j] = joints[p] +
        world[p] @ (rest[j] - rest[p])`` for ``p = parents[j]``.
        ``world (B, J, 3, 3)``: world rotations, ``world[j] = world[p] @ rotations[j]``.
        Joint ``j``'s world transform maps a rest-pose point ``x`` to ``world[j] @ (x - rest[j]) +
        joints[j]`` (what linear blend skinning blends).

    Per-joint tensors are stacked once at the end (cheaper backward pass than in-place writes into
    one tensor). Dtype and device follow ``rotations``; the result is differentiable in both inputs.
    """
    if rotations.dim() != 4 or tuple(rotations.shape[-2:]) != (3, 3) or rotations.shape[1] != len(parents):
        raise ValueError(f"rotations: expected (B, {len(parents)}, 3, 3), got {tuple(rotations.shape)}")
    if tuple(rest_joints.shape[-2:]) != (len(parents), 3):
        raise ValueError(f"rest_joints: expected (B, {len(parents)}, 3) or ({len(parents)}, 3), got "
                         f"{tuple(rest_joints.shape)}")
    rest_joints = rest_joints.expand(rotations.shape[0], len(parents), 3)
    local, rest = rotations.unbind(1), rest_joints.unbind(1)
    world: list[torch.Tensor] = []
    joints: list[torch.Tensor] = []
    for j, parent in enumerate(parents):
        if parent < 0:
            world.append(local[j])
            joints.append(rest[j])
            continue
        world.append(world[parent] @ local[j])
        bone = (rest[j] - rest[parent])[..., None]
        joints.append(joints[parent] + (world[parent] @ bone)[..., 0])
    return torch.stack(joints, dim=1), torch.stack(world, dim=1)
