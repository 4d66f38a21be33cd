"""Linking the people of consecutive frames into tracks, from their 2D keypoints alone.

Frames are processed in order. Each live track remembers the keypoints of its last detection; the cost of
giving detection ``j`` to track ``i`` is

``cost = (1 − IoU(box_i, box_j)) + d_ij``, ``d_ij`` = the mean distance of the keypoints both have seen
(confidence > 0), over the longer side of track ``i``'s keypoint box (the boxes' centres when they share
fewer than :data:`MIN_SHARED` keypoints),

and the frame's assignment is the one of least total cost (the Hungarian method,
:func:`scipy.optimize.linear_sum_assignment`) among the pairs that overlap (IoU > 0) or lie within
:attr:`TrackerSettings.max_distance` person sizes (allowed to grow by :attr:`TrackerSettings.gap_growth` per
missed frame). A detection left over starts a new track; a track unmatched for more than
:attr:`TrackerSettings.max_gap` frames ends (shorter gaps are bridged: the frames in between become missed
frames of the track). Tracks with fewer than :attr:`TrackerSettings.min_detections` detections are
dropped (a detector's flicker); the rest are numbered 1, 2, … in order of their first frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from hmr_flow.geometry.boxes import box_iou

#: Fewest keypoints two detections must share for the keypoint distance (else box centres are compared).
MIN_SHARED = 3
_FORBIDDEN = 1e6


@dataclass(frozen=True)
class TrackerSettings:
    """How tracks are linked (see the module docstring); distances in person sizes, gaps in frames."""

    max_gap: int = 15
    max_distance: float = 1.0
    gap_growth: float = 0.25
    min_detections: int = 3

    def __post_init__(self):
        if self.max_gap < 0 or self.min_detections < 1 or not self.max_distance > 0 or self.gap_growth < 0:
            raise ValueError(f"TrackerSettings: expected max_gap ≥ 0, min_detections ≥ 1, max_distance > 0 and "
                             f"gap_growth ≥ 0, got {self}")


@dataclass
class Track:
    """One person across frames ``start … start + T − 1`` (indices into the sequence's frames).

    Attributes:
        track_id: 1, 2, … in order of the first frame.
        start: the first frame (a detection; so is the last).
        keypoints: ``(T, K, 3)`` ``(u, v, confidence)`` px; zeros on missed frames.
        detected: ``(T,)`` bool. person_ids: ``(T,)`` the detection's index in its frame (−1 when missed).
    """

    track_id: int
    start: int
    keypoints: np.ndarray
    detected: np.ndarray
    person_ids: np.ndarray

    @property
    def frames(self) -> np.ndarray:
        """``(T,)`` the frames (indices into the sequence) the track spans."""
        return np.arange(self.start, self.start + len(self.detected))


def keypoint_box(keypoints: np.ndarray) -> np.ndarray:
    """``(4,)`` ``x0 y0 x1 y1`` box of the keypoints ``(K, 3)`` of positive confidence (at least one)."""
    seen = keypoints[keypoints[:, 2] > 0, :2]
    return np.concatenate([seen.min(0), seen.max(0)])


def keypoint_distance(reference: np.ndarray, other: np.ndarray) -> float:
    """Mean distance of the keypoints ``(K, 3)`` both have seen, over the longer side of ``reference``'s
    box (box centres when fewer than :data:`MIN_SHARED` are shared); person sizes."""
    box = keypoint_box(reference)
    size = max(float(np.max(box[2:] - box[:2])), 1.0)
    shared = (reference[:, 2] > 0) & (other[:, 2] > 0)
    if shared.sum() >= MIN_SHARED:
        return float(np.linalg.norm(reference[shared, :2] - other[shared, :2], axis=1).mean() / size)
    other_box = keypoint_box(other)
    return float(np.linalg.norm((box[:2] + box[2:]) / 2 - (other_box[:2] + other_box[2:]) / 2) / size)


@dataclass
class _Live:
    first: int
    last: int
    keypoints: np.ndarray
    steps: list[tuple[int, int, np.ndarray]] = field(default_factory=list)  # (frame, person, keypoints)


def _costs(live: list[_Live], people: np.ndarray, frame: int, settings: TrackerSettings) -> np.ndarray:
    costs = np.full((len(live), len(people)), _FORBIDDEN)
    for i, track in enumerate(live):
        reach = settings.max_distance * (1.0 + settings.gap_growth * (frame - track.last - 1))
        box = keypoint_box(track.keypoints)
        for j, person in enumerate(people):
            overlap = float(box_iou(box, keypoint_box(person))[0, 0])
            distance = keypoint_distance(track.keypoints, person)
            if overlap > 0 or distance <= reach:
                costs[i, j] = (1.0 - overlap) + distance
    return costs


def track_people(frames: list[np.ndarray], settings: TrackerSettings = TrackerSettings()) -> list[Track]:
    """Tracks of the people in ``frames`` (one ``(P_t, K, 3)`` keypoint array per frame, in order; every
    person with at least one keypoint of positive confidence), see the module docstring."""
    live: list[_Live] = []
    ended: list[_Live] = []
    for frame, people in enumerate(frames):
        people = np.asarray(people)
        still = [t for t in live if frame - t.last - 1 <= settings.max_gap]
        ended += [t for t in live if frame - t.last - 1 > settings.max_gap]
        live = still
        taken: set[int] = set()
        if live and len(people):
            costs = _costs(live, people, frame, settings)
            for i, j in zip(*linear_sum_assignment(costs)):
                if costs[i, j] < _FORBIDDEN:
                    live[i].last, live[i].keypoints = frame, people[j]
                    live[i].steps.append((frame, int(j), people[j]))
                    taken.add(int(j))
        for j, person in enumerate(people):
            if j not in taken:
                live.append(_Live(frame, frame, person, [(frame, j, person)]))
    kept = sorted((t for t in ended + live if len(t.steps) >= settings.min_detections), key=lambda t: t.first)
    return [_as_track(number, t) for number, t in enumerate(kept, start=1)]


def _as_track(number: int, live: _Live) -> Track:
    length = live.last - live.first + 1
    keypoints = np.zeros((length, *live.keypoints.shape), np.float32)
    detected = np.zeros(length, bool)
    person_ids = np.full(length, -1, np.int64)
    for frame, person, points in live.steps:
        keypoints[frame - live.first] = points
        detected[frame - live.first] = True
        person_ids[frame - live.first] = person
    return Track(number, live.first, keypoints, detected, person_ids)
