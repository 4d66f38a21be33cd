"""Retarget BVH motion onto the SMPL skeleton by matching global bone directions and twist.

For every SMPL joint ``j`` and frame, the global rotation ``G_j`` is the rotation that best maps
(Wahba / Kabsch, SVD) the SMPL rest-pose unit bone vectors from ``j`` to its children onto the rig's
current unit vectors between the same points (see :class:`~data_tools.mocap.rigs.RigSpec`), together
with one twist vector: the rig joint's local forward (or, for ankles/feet, up) axis in world
coordinates, matched to SMPL's world +Z (or +Y), both made orthogonal to the first bone. A joint with
one child therefore matches its bone direction exactly and takes its twist from the rig. The head,
which has no child among SMPL's 24 joints, copies the rig head frame (forward/up axes); the hands and
feet keep an identity local rotation (fingers and toes are not retargeted).

Rig positions are scaled by ``scale = H_smpl / H_rig`` where ``H`` is the skeletal height: the path
ankle → knee → hip → pelvis → spine1 → spine2 → spine3 → neck → head (legs averaged over both sides).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_tools.mocap.rigs import RigSpec
from data_tools.mocap.skeleton import TargetSkeleton
from hmr_flow.body.skeleton import JOINT_NAMES

_IDX = {n: i for i, n in enumerate(JOINT_NAMES)}
_Y, _Z = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
#: Joints with several SMPL children: the trunk child gives the direction, the left-right vector of the
#: side children gives the rotation about it (robust to differing hip/shoulder placement).
_PRIMARY_CHILD = {"pelvis": "spine1", "spine3": "neck"}
_LATERAL = {"pelvis": ("left_hip", "right_hip"), "spine3": ("left_collar", "right_collar")}
_UP_JOINTS = {"left_ankle", "right_ankle", "left_foot", "right_foot"}
#: SMPL joints whose rotation is left at identity (no SMPL child: fingers/toes are not in the rigs' map).
_IDENTITY_LEAVES = ("left_foot", "right_foot", "left_hand", "right_hand")
#: Joints on the skeletal-height path (both legs are averaged).
_HEIGHT_PATH = ("pelvis", "spine1", "spine2", "spine3", "neck", "head")
#: Joints compared with the rig (those with an anatomical counterpart in every supported rig).
MATCHED_NAMES = (
    "pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "neck", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)  # fmt: skip
MATCHED_JOINTS = [_IDX[n] for n in MATCHED_NAMES]
_LEGS = (("left_ankle", "left_knee", "left_hip"), ("right_ankle", "right_knee", "right_hip"))


def _children(j: int) -> list[int]:
    return [c for c in range(24) if TargetSkeleton.parents[c] == j]


def skeletal_height(points: np.ndarray) -> np.ndarray:
    """Skeletal height of joints ``(..., 24, 3)`` in SMPL order → ``(...)`` (see module docstring)."""

    def seg(a: str, b: str) -> np.ndarray:
        return np.linalg.norm(points[..., _IDX[a], :] - points[..., _IDX[b], :], axis=-1)

    legs = sum(seg(a, b) + seg(b, c) + seg(c, "pelvis") for a, b, c in _LEGS) / 2
    return legs + sum(seg(a, b) for a, b in zip(_HEIGHT_PATH[:-1], _HEIGHT_PATH[1:]))


def _unit(v: np.ndarray, what: str) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    if (n < 1e-9).any():
        raise ValueError(f"degenerate direction for {what}: two rig points coincide")
    return v / n


def _orthogonal(v: np.ndarray, axis: np.ndarray, what: str) -> np.ndarray:
    """``v`` made orthogonal to unit ``axis`` and normalised (broadcasting over leading dims)."""
    return _unit(v - np.sum(v * axis, axis=-1, keepdims=True) * axis, what)


def wahba(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotations ``R (F, 3, 3)`` minimising ``sum_k |R a_k - b_k|²``.

    Args:
        source: ``(K, 3)`` or ``(F, K, 3)`` vectors ``a_k``; target: ``(F, K, 3)`` vectors ``b_k``.
    """
    b = np.einsum("fki,fkj->fij", target, np.broadcast_to(source, target.shape))
    u, _, vt = np.linalg.svd(b)
    d = np.sign(np.linalg.det(u @ vt))
    u[:, :, 2] *= d[:, None]
    return u @ vt


@dataclass
class Retargeted:
    """SMPL motion of one clip (``F`` frames).

    Attributes:
        local_rot: ``(F, 24, 3, 3)`` local joint rotations (index 0 = global orientation), SMPL order.
        transl: ``(F, 3)`` metres; SMPL convention (joints = FK(rest joints) + transl), chosen so the
            matched joints of the target best fit (least squares) the scaled rig's.
        rig_joints: ``(F, 24, 3)`` the rig's SMPL-joint points, scaled to the target's skeletal height.
        scale: target height / rig height (rig units → metres on the target).
    """

    local_rot: np.ndarray
    transl: np.ndarray
    rig_joints: np.ndarray
    scale: float


def retarget(
    rig: RigSpec, names: list[str], grot: np.ndarray, gpos: np.ndarray, target: TargetSkeleton,
    scale: float | None = None,
) -> Retargeted:
    """Retarget rig frames onto ``target``.

    Args:
        rig: the rig's spec; names: rig joint names; grot: ``(F, J, 3, 3)`` rig global rotations;
        gpos: ``(F, J, 3)`` rig global positions (rig units, Y up); target: SMPL skeleton.
        scale: rig units → target metres; ``None`` = ratio of skeletal heights (median over frames).
    """
    index = {n: i for i, n in enumerate(names)}
    points = rig.point_positions(names, gpos)
    if scale is None:
        scale = float(target_height(target) / np.median(skeletal_height(points)))
    rest = target.rest_joints
    fwd, up = np.asarray(rig.forward), np.asarray(rig.up)
    n = gpos.shape[0]
    glob = np.empty((n, 24, 3, 3))
    for j, name in enumerate(JOINT_NAMES):
        if name in _IDENTITY_LEAVES:
            glob[:, j] = glob[:, TargetSkeleton.parents[j]]
            continue
        twist_rot = grot[:, index[rig.twist[name]]]
        if name == "head":
            src = np.stack([_Y, _Z])
            tgt = np.stack([twist_rot @ _Y, twist_rot @ fwd], axis=1)
            tgt[:, 1] = _orthogonal(tgt[:, 1], tgt[:, 0], f"{rig.name} head forward axis")
            glob[:, j] = wahba(src, tgt)
            continue
        child = _PRIMARY_CHILD.get(name) or JOINT_NAMES[_children(j)[0]]
        what = f"{rig.name} bone {name}->{child}"
        src = _unit(rest[_IDX[child]] - rest[j], what)
        tgt = _unit(points[:, _IDX[child]] - points[:, j], what)
        if name in _LATERAL:
            left, right = (_IDX[k] for k in _LATERAL[name])
            src_2 = _orthogonal(rest[left] - rest[right], src, f"{name} lateral axis")
            tgt_2 = _orthogonal(points[:, left] - points[:, right], tgt, f"{rig.name} {name} lateral axis")
        else:
            world_axis, local_axis = (_Y, up) if name in _UP_JOINTS else (_Z, fwd)
            src_2 = _orthogonal(world_axis, src, f"{name} twist reference")
            tgt_2 = _orthogonal(twist_rot @ local_axis, tgt, f"{rig.name} {rig.twist[name]} twist axis")
        glob[:, j] = wahba(np.stack([src, src_2]), np.stack([tgt, tgt_2], axis=1))
    local = glob.copy()
    parents = TargetSkeleton.parents
    local[:, 1:] = np.swapaxes(glob[:, parents[1:]], -1, -2) @ glob[:, 1:]
    scaled = points * scale
    posed = target.forward_kinematics(local)
    transl = (scaled[:, MATCHED_JOINTS] - posed[:, MATCHED_JOINTS]).mean(axis=1)
    return Retargeted(local, transl, scaled, scale)


def target_height(target: TargetSkeleton) -> float:
    """Skeletal height of the target's rest pose, metres."""
    return float(skeletal_height(target.rest_joints))
