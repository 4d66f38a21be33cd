"""People linked across frames: assignment by overlap and keypoint distance, gaps bridged, tracks started,
ended and numbered in order of appearance."""

from __future__ import annotations

import numpy as np
import pytest

from hmr_flow.video import TrackerSettings, track_people
from hmr_flow.geometry.boxes import box_iou
from hmr_flow.video.tracking import keypoint_box, keypoint_distance


def _person(x: float, y: float = 100.0, height: float = 100.0) -> np.ndarray:
    """``(17, 3)`` keypoints of a stick person whose box is ``height/2 × height`` at ``(x, y)`` (top-left)."""
    across = np.random.default_rng(0).uniform(0, 1, 17)
    across[:2] = 0, 1  # the box spans the full half height
    points = np.stack([x + across * height / 2, y + np.linspace(0, height, 17)], 1)
    return np.concatenate([points, np.ones((17, 1))], 1).astype(np.float32)


def test_box_helpers_hand_cases():
    points = np.array([[0, 0, 1], [10, 20, 1], [50, 50, 0]], np.float32)  # the unseen one is not in the box
    assert keypoint_box(points).tolist() == [0, 0, 10, 20]
    assert box_iou(np.array([0, 0, 2, 2]), np.array([1, 0, 3, 2])) == pytest.approx(2 / 6)
    assert box_iou(np.array([0, 0, 1, 1]), np.array([2, 2, 3, 3])) == 0.0
    a = _person(0)
    b = a.copy()
    b[:, 0] += 10  # every keypoint 10 px right; the box's longer side is 100 px
    assert keypoint_distance(a, b) == pytest.approx(0.1)


def test_two_people_keep_their_tracks_when_listed_in_another_order():
    frames = []
    for t in range(6):
        left, right = _person(100 + 5 * t), _person(400 - 5 * t)
        frames.append(np.stack([left, right] if t % 2 == 0 else [right, left]))
    tracks = track_people(frames)
    assert [t.track_id for t in tracks] == [1, 2]
    for track, first in zip(tracks, (100.0, 400.0)):
        assert track.start == 0 and track.detected.all()
        assert track.keypoints[0, :, 0].min() == pytest.approx(first, abs=1.0)
        # each track follows one person: its x moves steadily by 5 px per frame
        assert np.allclose(np.diff(track.keypoints[:, :, 0].min(1)), 5 * np.sign(250 - first), atol=1.0)
    assert tracks[0].person_ids.tolist() == [0, 1, 0, 1, 0, 1]


def test_the_least_total_cost_wins_over_the_nearest_pair():
    # Tracks a (x=100) and b (x=160); detections at 190 and 130. a→130, b→130 and b→190 cost the same
    # (1.05: IoU 0.25, 0.3 sizes apart), a→190 costs 1.9: taking b→130 first (greedy) would leave a→190;
    # the least total cost is a→130, b→190.
    frames = [np.stack([_person(100), _person(160)]), np.stack([_person(190), _person(130)])]
    tracks = track_people(frames, TrackerSettings(min_detections=1))
    assert [t.person_ids.tolist() for t in tracks] == [[0, 1], [1, 0]]


def test_gaps_are_bridged_tracks_end_and_start():
    person = [np.stack([_person(100 + 2 * t)]) for t in range(12)]
    nobody = np.zeros((0, 17, 3), np.float32)
    frames = person[:4] + [nobody] * 3 + person[7:12]  # missed in frames 4–6
    [track] = track_people(frames, TrackerSettings(max_gap=3))
    assert track.start == 0 and len(track.detected) == 12
    assert track.detected.tolist() == [True] * 4 + [False] * 3 + [True] * 5
    assert track.person_ids[4:7].tolist() == [-1, -1, -1] and not track.keypoints[4:7].any()
    # a gap longer than max_gap ends the track; the person comes back as a new one
    first, second = track_people(frames, TrackerSettings(max_gap=2))
    assert (first.start, len(first.detected), second.start, len(second.detected)) == (0, 4, 7, 5)


def test_far_jumps_start_a_new_track_and_flicker_is_dropped():
    frames = [np.stack([_person(100)]), np.stack([_person(102)]), np.stack([_person(104)]),
              np.stack([_person(104), _person(900)]),  # someone far away for one frame: flicker
              np.stack([_person(106)])]
    tracks = track_people(frames, TrackerSettings(min_detections=2))
    assert len(tracks) == 1 and tracks[0].detected.all() and len(tracks[0].detected) == 5
    assert [len(t.detected) for t in track_people(frames, TrackerSettings(min_detections=1))] == [5, 1]
    with pytest.raises(ValueError, match="TrackerSettings"):
        TrackerSettings(min_detections=0)
