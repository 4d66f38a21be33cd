"""Non-maximum suppression (plain and MediaPipe's score-weighted variant)."""

from __future__ import annotations

import numpy as np

from hmr_flow.geometry.boxes import box_iou


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
