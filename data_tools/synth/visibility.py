"""COCO-17 keypoint visibility from the depth buffer.

A keypoint inside the crop is **visible** (2) when the surface seen at its pixel

1. belongs to the body, not to an occluder (the full-scene depth equals the body-only depth there);
2. belongs to the keypoint's own body parts — its joint, the joint's parent and children (face
   points: the head) — judged by the dominant skinning joint of the body vertex nearest to the
   unprojected surface point; this rejects e.g. a wrist behind the torso (shoulders also accept the
   upper back, where annotators still mark them seen from behind);
3. is at most ``tolerance`` metres in front of the keypoint (joints lie inside limbs; face points are
   surface vertices, so theirs is small); this rejects far-side joints seen through their own part.

Otherwise it is **hidden** (1); keypoints outside the crop get 0.
"""

from __future__ import annotations

import numpy as np

from hmr_flow.body import COCO17_NAMES, JOINT_NAMES, PARENTS

_FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")

#: Metres the seen surface may lie in front of the keypoint, by keypoint kind.
TOLERANCE = {"face": 0.04, "shoulder": 0.15, "elbow": 0.10, "wrist": 0.08, "hip": 0.20, "knee": 0.12, "ankle": 0.10}


#: Parts accepted beyond the joint, its parent and its children.
_EXTRA_PARTS = {"left_shoulder": ("spine3",), "right_shoulder": ("spine3",)}


def _allowed_parts(name: str) -> list[int]:
    if name in _FACE:
        return [JOINT_NAMES.index("head")]
    joint = JOINT_NAMES.index(name)
    children = [j for j, p in enumerate(PARENTS) if p == joint]
    return [joint, PARENTS[joint], *children, *(JOINT_NAMES.index(n) for n in _EXTRA_PARTS.get(name, ()))]


def _tolerance(name: str) -> float:
    return TOLERANCE["face"] if name in _FACE else TOLERANCE[name.split("_", 1)[1]]


#: ``(17, 24)`` bool: parts on which each COCO keypoint may be seen; ``(17,)`` tolerances.
ALLOWED = np.zeros((len(COCO17_NAMES), len(JOINT_NAMES)), dtype=bool)
for _k, _name in enumerate(COCO17_NAMES):
    ALLOWED[_k, _allowed_parts(_name)] = True
TOLERANCES = np.array([_tolerance(n) for n in COCO17_NAMES])

OUTSIDE, HIDDEN, VISIBLE = 0, 1, 2


def keypoint_visibility(
    keypoints3d: np.ndarray,
    keypoints2d: np.ndarray,
    vertices: np.ndarray,
    part: np.ndarray,
    body_depth: np.ndarray,
    occluded: np.ndarray,
    focal: float,
) -> np.ndarray:
    """Visibility flags ``(17,)`` uint8 (0 outside, 1 hidden, 2 visible).

    Args:
        keypoints3d: ``(17, 3)`` COCO keypoints, camera frame, metres.
        keypoints2d: ``(17, 2)`` their projections (pixels, principal point at the crop centre).
        vertices: ``(V, 3)`` posed body vertices, camera frame; part: ``(V,)`` dominant skinning joint.
        body_depth: ``(S, S)`` depth of the body alone (0 = background), metres along z.
        occluded: ``(S, S)`` bool, body pixels covered by an occluder.
        focal: pixels.
    """
    size = body_depth.shape[0]
    flags = np.full(len(keypoints2d), OUTSIDE, dtype=np.uint8)
    cols, rows = np.floor(keypoints2d[:, 0]).astype(int), np.floor(keypoints2d[:, 1]).astype(int)
    inside = (cols >= 0) & (cols < size) & (rows >= 0) & (rows < size)
    flags[inside] = HIDDEN
    k = np.nonzero(inside)[0]
    depth = body_depth[rows[k], cols[k]]
    candidates = k[(depth > 0) & ~occluded[rows[k], cols[k]]]
    if candidates.size == 0:
        return flags
    d = body_depth[rows[candidates], cols[candidates]]
    uv = keypoints2d[candidates] - size / 2.0
    seen = np.concatenate([uv * (d / focal)[:, None], d[:, None]], axis=1)  # (K, 3) surface points
    nearest = np.argmin(((seen[:, None, :] - vertices[None, :, :]) ** 2).sum(-1), axis=1)
    on_part = ALLOWED[candidates, part[nearest]]
    close = keypoints3d[candidates, 2] - d < TOLERANCES[candidates]
    flags[candidates[on_part & close]] = VISIBLE
    return flags
