"""2D-detector keypoint formats (COCO-17, OpenPose BODY_25) defined on the body model: the one owner of
what a keypoint format is. A format is its names in :data:`KEYPOINT_NAMES` (a new format is one entry
there); everything else — the matrix that makes it from the posed body (:func:`keypoint_matrix`, the
``<format>_matrix`` buffers of :class:`KeypointMatrices`), its check (:func:`check_format`), its size,
COCO-17 from it (:func:`to_coco17`), what :class:`~hmr_flow.body.BodyOutput` carries — follows.

Every keypoint is a fixed linear combination of *source points*: the 24 posed SMPL joints followed
by the 11 surface vertices in :data:`VERTEX_KEYPOINTS` (smplx's key names and order, so that
``smplx``'s ``VertexJointSelector`` output ``(B, 24 + 11, 3)`` is exactly the source array).

- Face (nose, eyes, ears) and foot (big toe, small toe, heel) points are mesh vertices, chosen on
  each mesh (stored in the open model file; smplx's published ids for official SMPL).
- Shoulders, elbows, wrists, hips, knees, ankles are SMPL joints. SMPL hips sit inside the pelvis,
  away from where annotators click: fitters usually down-weight them.
- BODY_25 ``neck`` is the midpoint of the two SMPL shoulder joints and ``mid_hip`` the midpoint of
  the two SMPL hip joints (OpenPose places them there, not at SMPL's neck/pelvis joints).
"""

from __future__ import annotations

import numpy as np
import torch

from hmr_flow.body.skeleton import JOINT_NAMES, flip_permutation

#: Surface-vertex keypoints, in smplx ``VertexJointSelector`` order (face then feet).
VERTEX_KEYPOINTS: tuple[str, ...] = (
    "nose", "reye", "leye", "rear", "lear",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)

#: Source-point names: 24 joints then the vertex keypoints, with readable names.
_VERTEX_SOURCE_NAMES = (
    "nose", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)
SOURCE_NAMES: tuple[str, ...] = JOINT_NAMES + _VERTEX_SOURCE_NAMES
NUM_SOURCES = len(SOURCE_NAMES)

COCO17_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

BODY25_NAMES: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe",
    "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)

#: Names of each keypoint format, by its name (``keypoint_format``): the registry of formats.
KEYPOINT_NAMES: dict[str, tuple[str, ...]] = {"coco17": COCO17_NAMES, "body25": BODY25_NAMES}

#: Keypoints that are midpoints of two source points rather than a source point itself.
_MIDPOINTS: dict[str, tuple[str, str]] = {
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
}

COCO17_FLIP_PERMUTATION: tuple[int, ...] = tuple(flip_permutation(COCO17_NAMES))
BODY25_FLIP_PERMUTATION: tuple[int, ...] = tuple(flip_permutation(BODY25_NAMES))


def keypoint_matrix(names: tuple[str, ...]) -> torch.Tensor:
    """``(K, NUM_SOURCES)`` float matrix mapping source points to the keypoints ``names``.

    Rows are one-hot (a joint or a vertex) or two halves (the midpoints above); each row sums to 1.
    """
    index = {n: i for i, n in enumerate(SOURCE_NAMES)}
    matrix = torch.zeros(len(names), NUM_SOURCES)
    for row, name in enumerate(names):
        parts = _MIDPOINTS.get(name, (name,))
        for part in parts:
            if part not in index:
                raise KeyError(f"keypoint {name!r}: no source point named {part!r}")
            matrix[row, index[part]] += 1.0 / len(parts)
    return matrix


def check_format(keypoint_format: str) -> str:
    """``keypoint_format`` if it is a key of :data:`KEYPOINT_NAMES`, else a ``ValueError`` listing them."""
    if keypoint_format not in KEYPOINT_NAMES:
        expected = " or ".join(repr(name) for name in KEYPOINT_NAMES)
        raise ValueError(f"keypoint_format: expected {expected}, got {keypoint_format!r}")
    return keypoint_format


def num_keypoints(keypoint_format: str) -> int:
    """``K``, the number of keypoints of ``keypoint_format``."""
    return len(KEYPOINT_NAMES[check_format(keypoint_format)])


def to_coco17(keypoints: np.ndarray, keypoint_format: str) -> np.ndarray:
    """``(P, 17, 3)`` COCO-17 keypoints of ``keypoints (P, K, 3)`` in ``keypoint_format`` (its rows
    reordered: every format carries the 17 COCO keypoints; BODY_25 → COCO-17 drops neck, mid-hip and feet)."""
    names = KEYPOINT_NAMES[check_format(keypoint_format)]
    if names == COCO17_NAMES:
        return keypoints
    return keypoints[:, [names.index(name) for name in COCO17_NAMES]]


class KeypointMatrices:
    """Mixin of the body modules whose output includes the source points (:class:`~hmr_flow.body.BodyModel`,
    :class:`~hmr_flow.body.KeypointBody`): a buffer ``<format>_matrix (K, NUM_SOURCES)`` per format of
    :data:`KEYPOINT_NAMES` (e.g. ``coco17_matrix``) and :meth:`keypoint_matrix` to pick one."""

    def _add_keypoint_matrices(self, persistent: bool = True) -> None:
        for keypoint_format, names in KEYPOINT_NAMES.items():
            self.register_buffer(f"{keypoint_format}_matrix", keypoint_matrix(names), persistent=persistent)

    def keypoint_matrix(self, keypoint_format: str) -> torch.Tensor:
        """``(K, NUM_SOURCES)`` matrix mapping source points to the keypoints of ``keypoint_format``."""
        return getattr(self, f"{check_format(keypoint_format)}_matrix")
