"""Pick the keypoint vertices (nose, eyes, ears, big/small toes, heels) on the T-pose template.

Rules (template: metres, Y up, facing +Z, subject's left at x > 0):
- nose: the most forward (max z) vertex within 1 cm of the midline above the neck joint;
- eye: the vertex nearest to the eye-cube centre moved 1 cm forward (front of the eyeball);
- ear: the most lateral head vertex between 4 cm below and 1 cm above the eye centre, behind it;
- big/small toe: the most forward foot vertex on the medial 40 % / lateral 25 % of the foot width;
- heel: the most backward foot vertex in the lowest 4 cm of the foot.
Left points are picked; right points are their mirror twins.
"""

from __future__ import annotations

import numpy as np

from hmr_flow.body.skeleton import JOINT_NAMES

_J = {n: i for i, n in enumerate(JOINT_NAMES)}


def _argmax_where(values: np.ndarray, mask: np.ndarray, what: str) -> int:
    if not mask.any():
        raise RuntimeError(f"landmarks: no candidate vertex for {what}")
    return int(np.flatnonzero(mask)[np.argmax(values[mask])])


def pick_keypoint_vertices(
    vertices: np.ndarray, joints: np.ndarray, left_eye: np.ndarray, mirror: np.ndarray
) -> dict[str, int]:
    """smplx-keyed vertex ids (``nose``, ``leye``, ``reye``, ``lear``, ``rear``, ``LBigToe`` ...).

    Args:
        vertices: ``(V, 3)`` template; joints: ``(24, 3)``; left_eye: ``(3,)`` left eyeball centre;
        mirror: ``(V,)`` left/right twin of each vertex.
    """
    x, y, z = vertices.T
    ids: dict[str, int] = {}
    ids["nose"] = _argmax_where(z, (np.abs(x) < 0.01) & (y > joints[_J["neck"]][1]), "nose")
    ids["leye"] = int(np.argmin(np.linalg.norm(vertices - (left_eye + [0.0, 0.0, 0.01]), axis=1)))
    ear_band = (y > left_eye[1] - 0.04) & (y < left_eye[1] + 0.01) & (z < left_eye[2]) & (x > 0)
    ids["lear"] = _argmax_where(x, ear_band & (y > joints[_J["neck"]][1]), "left ear")
    ankle = joints[_J["left_ankle"]]
    foot = (x > 0) & (y < ankle[1] - 0.02) & (np.abs(x - ankle[0]) < 0.1)
    lo, hi = x[foot].min(), x[foot].max()
    medial, lateral = x < lo + 0.4 * (hi - lo), x > lo + 0.75 * (hi - lo)
    ids["LBigToe"] = _argmax_where(z, foot & medial, "left big toe")
    ids["LSmallToe"] = _argmax_where(z, foot & lateral, "left small toe")
    ids["LHeel"] = _argmax_where(-z, foot & (y < y[foot].min() + 0.04), "left heel")
    for left, right in (("leye", "reye"), ("lear", "rear"), ("LBigToe", "RBigToe"), ("LSmallToe", "RSmallToe"), ("LHeel", "RHeel")):
        ids[right] = int(mirror[ids[left]])
    return ids
