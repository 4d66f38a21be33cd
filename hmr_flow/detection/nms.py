"""Box overlap and non-maximum suppression (plain and MediaPipe's score-weighted variant)."""

from __future__ import annotations

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` intersection over union of boxes ``a (N, 4)`` and ``b (M, 4)``, ``(x0, y0, x1, y1)``
    (0 where both are empty)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    area = lambda x: np.prod(np.clip(x[:, 2:] - x[:, :2], 0.0, None), axis=1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Indices kept by greedy NMS, best score first: a box is dropped when its IoU with a kept,
    better-scoring box exceeds ``threshold``."""
    order = list(np.argsort(-np.asarray(scores), kind="stable"))
    iou = box_iou(boxes, boxes)
    kept: list[int] = []
    for i in order:
        if all(iou[i, k] <= threshold for k in kept):
            kept.append(int(i))
    return kept


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[np.ndarray]:
    """MediaPipe's weighted NMS: repeatedly take the best remaining candidate and every remaining one
    overlapping it by IoU > ``threshold``; each such cluster is returned as its member indices (best
    first). Callers average the members' coordinates with the scores as weights."""
    remaining = np.argsort(-np.asarray(scores), kind="stable")
    iou = box_iou(boxes, boxes)
    clusters = []
    while len(remaining):
        best = remaining[0]
        members = remaining[iou[best, remaining] > threshold]
        members = members if best in members else np.concatenate([[best], members])
        clusters.append(members)
        remaining = remaining[~np.isin(remaining, members)]
    return clusters


def match_boxes(reference: np.ndarray, found: np.ndarray, min_iou: float) -> list[tuple[int, int]]:
    """Greedy one-to-one matching by IoU, best pairs first: ``(reference index, found index)`` pairs
    with IoU ≥ ``min_iou`` (e.g. annotated people against detected ones)."""
    if len(reference) == 0 or len(found) == 0:
        return []
    iou = box_iou(reference, found)
    pairs = []
    used_ref, used_found = set(), set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        r, f = np.unravel_index(flat, iou.shape)
        if iou[r, f] < min_iou:
            break
        if r not in used_ref and f not in used_found:
            pairs.append((int(r), int(f)))
            used_ref.add(r)
            used_found.add(f)
    return pairs
