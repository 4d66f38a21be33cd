"""Learn the joint regressor (24 × V, non-negative rows summing to 1) from sampled shapes.

For each joint, candidate vertices are the body vertices around its mean position; non-negative
least squares fits weights so that, over every sampled body, the weighted vertex mean lands on the
anatomical joint (the MakeHuman joint-cube centre carried to the T-pose), with a stiff extra row
pulling the weights to sum to 1 (rows are renormalised afterwards). Left-side and midline joints are
fitted; right-side rows are the mirror images of the left ones and midline rows are symmetrised.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls
from tqdm import tqdm

from hmr_flow.body.skeleton import JOINT_NAMES, mirror_name

#: Candidate radius: vertices within (nearest distance + margin) of the joint, at most max_candidates.
CANDIDATE_MARGIN_M = 0.05
MAX_CANDIDATES = 300
SUM_TO_ONE_WEIGHT = 10.0


def _fit_row(vertices: np.ndarray, target: np.ndarray, mean_joint: np.ndarray, mean_vertices: np.ndarray) -> np.ndarray:
    """NNLS weights ``(V,)`` for one joint; ``vertices (S, V, 3)``, ``target (S, 3)``."""
    dist = np.linalg.norm(mean_vertices - mean_joint, axis=1)
    order = np.argsort(dist)
    cand = order[: MAX_CANDIDATES][dist[order[:MAX_CANDIDATES]] <= dist[order[0]] + CANDIDATE_MARGIN_M]
    design = vertices[:, cand, :].transpose(0, 2, 1).reshape(-1, cand.size)
    rhs = target.reshape(-1)
    design = np.vstack([design, np.full((1, cand.size), SUM_TO_ONE_WEIGHT)])
    rhs = np.append(rhs, SUM_TO_ONE_WEIGHT)
    coeffs, _ = nnls(design, rhs, maxiter=50 * cand.size)
    row = np.zeros(mean_vertices.shape[0])
    row[cand] = coeffs
    if row.sum() <= 0:
        raise RuntimeError("joint regressor: NNLS returned all-zero weights")
    return row / row.sum()


def fit_joint_regressor(vertices: np.ndarray, joints: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """Joint regressor ``(24, V)``.

    Args:
        vertices: ``(S, V, 3)`` metres, T-posed sampled bodies.
        joints: ``(S, 24, 3)`` target joint centres of the same bodies.
        mirror: ``(V,)`` left/right twin of each vertex (an involution).
    """
    mean_vertices = vertices.mean(0)
    regressor = np.zeros((len(JOINT_NAMES), vertices.shape[1]))
    fitted = [j for j, n in enumerate(JOINT_NAMES) if not n.startswith("right_")]
    for j in tqdm(fitted, desc="joint regressor (NNLS)", leave=False):
        regressor[j] = _fit_row(vertices, joints[:, j], joints[:, j].mean(0), mean_vertices)
    for j, name in enumerate(JOINT_NAMES):
        twin = JOINT_NAMES.index(mirror_name(name))
        if name.startswith("right_"):
            regressor[j, mirror] = regressor[twin]
        elif twin == j:
            symmetric = np.zeros_like(regressor[j])
            symmetric[mirror] = regressor[j]
            regressor[j] = 0.5 * (regressor[j] + symmetric)
    return regressor
