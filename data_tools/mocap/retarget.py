"""Retarget BVH motion onto the SMPL skeleton by matching global bone directions and twist.

For every SMPL joint ``j`` and frame, the global rotation ``G_j`` is the rotation that best maps
(Wahba / Kabsch, SVD) the SMPL rest-pose unit bone vectors from ``j`` to its children onto the rig's
current unit vectors between the same points (see :class:`~data_tools.mocap.rigs.RigSpec`), together
with one twist vector: the rig joint's local forward (or, for ankles/feet, up) axis in world
coordinates, matched to SMPL's world +Z (or +Y), both made orthogonal to the first bone. A joint with
one child therefore matches its bone direction exactly and takes its twist from the rig. The head,
which has no child among SMPL's 24 joints, copies the rig head frame (forward/up axes); the hands and
feet keep an identity local rotation (fingers and toes are not retargeted).

Rest-pose alignment: SMPL's rest trunk is curved differently from every rig's (on the open model
pelvis→spine1 leans back by ~37°, while the rigs' lumbar segments lean 0–15°), so matching trunk bones
to SMPL's own rest directions would tilt the pelvis and bend hips and spine to compensate: standing
poses would carry ~60° of spurious hip and spine flexion. The trunk joints (:data:`TRUNK_NAMES`)
therefore take their source directions from the rig's zero pose, turned about the vertical to face
SMPL's +Z (:func:`rest_alignment`): an upright rig gives identity trunk rotations, and the trunk's
posture relative to its rest is what is transferred. Limbs keep SMPL's T-pose directions, since their
bone directions are anatomically comparable between skeletons.

Rig positions are multiplied by ``scale`` (rig units → metres on the target), which
:func:`data_tools.mocap.shape.fit_shape` fits to the rig's bone lengths together with the target's shape.
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
#: Joints whose source directions come from the rig's aligned zero pose (see the module docstring).
TRUNK_NAMES = frozenset({"pelvis", "spine1", "spine2", "spine3", "neck"})
_UP_JOINTS = {"left_ankle", "right_ankle", "left_foot", "right_foot"}
#: SMPL joints whose rotation is left at identity (no SMPL child: fingers/toes are not in the rigs' map).
_IDENTITY_LEAVES = ("left_foot", "right_foot", "left_hand", "right_hand")
#: Joints compared with the rig (those with an anatomical counterpart in every supported rig).
MATCHED_NAMES = (
    "pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "neck", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
MATCHED_JOINTS = [_IDX[n] for n in MATCHED_NAMES]


def _children(j: int) -> list[int]:
    return [c for c in range(24) if TargetSkeleton.parents[c] == j]


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


def rest_alignment(rig_rest: np.ndarray) -> np.ndarray:
    """Rotation ``(3, 3)`` about the vertical turning a rig's zero pose to face SMPL's +Z.

    Args:
        rig_rest: ``(24, 3)`` the rig's SMPL-joint points in its zero pose (Y up); its left hip is
            turned towards +X, as SMPL's.
    """
    x = _orthogonal(rig_rest[_IDX["left_hip"]] - rig_rest[_IDX["right_hip"]], _Y, "rig zero-pose hip axis")
    return np.stack([x, _Y, np.cross(x, _Y)])


@dataclass
class Retargeted:
    """SMPL motion of one clip (``F`` frames).

    Attributes:
        local_rot: ``(F, 24, 3, 3)`` local joint rotations (index 0 = global orientation), SMPL order.
        transl: ``(F, 3)`` metres; SMPL convention (joints = FK(rest joints) + transl), chosen so the
            matched joints of the target best fit (least squares) the scaled rig's.
        rig_joints: ``(F, 24, 3)`` the rig's SMPL-joint points times ``scale``.
        scale: rig units → metres on the target.
    """

    local_rot: np.ndarray
    transl: np.ndarray
    rig_joints: np.ndarray
    scale: float


def retarget(
    rig: RigSpec, names: list[str], grot: np.ndarray, gpos: np.ndarray, target: TargetSkeleton, scale: float,
    rest_gpos: np.ndarray,
) -> Retargeted:
    """Retarget rig frames onto ``target``.

    Args:
        rig: the rig's spec; names: rig joint names; grot: ``(F, J, 3, 3)`` rig global rotations;
        gpos: ``(F, J, 3)`` rig global positions (rig units, Y up); target: SMPL skeleton (shaped).
        scale: rig units → target metres (see :func:`data_tools.mocap.shape.fit_shape`).
        rest_gpos: ``(J, 3)`` rig joint positions in the rig's zero pose (trunk rest-pose alignment).
    """
    index = {n: i for i, n in enumerate(names)}
    points = rig.point_positions(names, gpos)
    smpl_rest = target.rest_joints
    rig_rest = rig.point_positions(names, rest_gpos[None])[0]
    trunk_rest = rig_rest @ rest_alignment(rig_rest).T
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
        rest = trunk_rest if name in TRUNK_NAMES else smpl_rest
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

