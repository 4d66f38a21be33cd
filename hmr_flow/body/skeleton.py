"""The 24-joint SMPL skeleton: joint names and kinematic parents (identical for the open model and
official SMPL files, so SMPL pose parameters from elsewhere mean the same posture).

Left/right are the subject's: with the body facing +Z and Y up, ``left_*`` joints have x > 0.
"""

from __future__ import annotations

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hand", "right_hand",
)

#: ``PARENTS[j]`` is the parent joint index of joint ``j`` (-1 for the root).
PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)

NUM_JOINTS = len(JOINT_NAMES)
#: Shape coefficients (``betas``) of the open model, which the shipped models predict (SMPL's count too).
NUM_BETAS = 10


def mirror_name(name: str) -> str:
    """``'left_knee'`` ↔ ``'right_knee'`` (also ``l``/``r`` prefixes of smplx vertex keys); other names unchanged."""
    for a, b in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(a):
            return b + name[len(a):]
    return name


def flip_permutation(names: tuple[str, ...] | list[str]) -> list[int]:
    """Indices ``p`` such that ``points[..., p, :]`` swaps left and right entries of ``names``."""
    index = {n: i for i, n in enumerate(names)}
    return [index[mirror_name(n)] for n in names]


JOINT_FLIP_PERMUTATION: tuple[int, ...] = tuple(flip_permutation(JOINT_NAMES))
#: The same for the 23 body joints (pose without the pelvis).
BODY_FLIP_PERMUTATION: tuple[int, ...] = tuple(j - 1 for j in JOINT_FLIP_PERMUTATION[1:])


def mirror_pose(pose):
    """The mirror image (x → −x, left ↔ right) of axis-angle poses ``(..., 24, 3)`` (global orientation
    first) or ``(..., 23, 3)`` (body joints only), numpy or torch; returns a new array of the same kind.

    A rotation ``R`` mirrors to ``M R M`` with ``M = diag(−1, 1, 1)``: its axis-angle ``(x, y, z)``
    becomes ``(x, −y, −z)``, moved to the mirrored joint. Exact for a left/right symmetric rest pose.
    """
    joints = pose.shape[-2]
    if joints not in (24, 23) or pose.shape[-1] != 3:
        raise ValueError(f"pose: expected (..., 24, 3) or (..., 23, 3) axis-angle, got {tuple(pose.shape)}")
    mirrored = pose[..., list(JOINT_FLIP_PERMUTATION if joints == 24 else BODY_FLIP_PERMUTATION), :]
    mirrored[..., 1:] *= -1
    return mirrored
