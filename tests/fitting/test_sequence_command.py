"""``hmr-flow fit --sequence`` end to end: one file per track with the documented keys, missed frames filled,
meshes and the overlay video on request, ``prior score`` reading a track, and the clip options refused
where they do not apply."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest
import torch
from fitting_cases import FOCAL, frontal_pose, render_keypoints

from hmr_flow.cli import main

FRAMES = 10
#: The walk is drawn at a quarter of fitting_cases' 1000 px camera (a small overlay video renders fast).
SCALE = 0.25
QUICK = ["--iterations", "12", "--threads", "1", "--focal", str(FOCAL * SCALE)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory, keypoint_body):
    """A COCO file of two people walking across 10 frames of a 250 × 250 image; the right one is listed first
    and missed in walk frames 3–4; the image ids run backwards (sequence frame ``s`` is walk frame ``9 − s``)."""
    folder = tmp_path_factory.mktemp("clip")
    images, annotations = [], []
    for frame in range(FRAMES):
        people = []
        for side in (-1.0, 1.0):
            if side > 0 and frame in (3, 4):
                continue
            transl = (side * 0.8 + 0.02 * frame, 0.2, 5.0 + 0.5 * side)
            keypoints, _ = render_keypoints(keypoint_body, frontal_pose()[None], transl=transl)
            people.append(keypoints[0] * torch.tensor([SCALE, SCALE, 1.0]))
        image_id = 100 - frame
        images.append({"id": image_id, "file_name": f"f{frame}.jpg", "width": 250, "height": 250})
        for person in reversed(people):
            points = torch.cat([person[:, :2], 2 * person[:, 2:]], 1)
            annotations.append({"id": len(annotations), "image_id": image_id, "keypoints": points.flatten().tolist()})
    path = folder / "walk.json"
    path.write_text(json.dumps({"images": images[::-1], "annotations": annotations}))
    return path


@pytest.fixture(scope="module")
def fitted(clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    assert main(["fit", "--keypoints", str(clip), "--sequence", "--out", str(out), "--render", "--mesh-format", "obj",
                 *QUICK]) == 0
    return out


def test_each_track_gets_a_file_with_every_frame(fitted):
    # track 1: the person listed first in the first frame (the right one)
    with np.load(fitted / "walk_track2.npz") as left, np.load(fitted / "walk_track1.npz") as right:
        for track in (left, right):
            assert track["frame"].tolist() == list(range(FRAMES))
            assert track["global_orient"].shape == (FRAMES, 3) and track["body_pose"].shape == (FRAMES, 69)
            assert track["betas"].shape == (10,) and track["transl"].shape == (FRAMES, 3)
            assert track["joints"].shape == (FRAMES, 24, 3) and track["keypoints_2d"].shape == (FRAMES, 17, 2)
            assert np.isfinite(track["joints"]).all() and (track["joints"][:, 0, 2] > 0).all()
            assert str(track["prior"]) == "conditional" and str(track["body_model"]).startswith("open-")
            assert np.isfinite(track["prior_log_prob"][track["detected"]]).all()
        assert left["detected"].all() and int(left["track_id"]) == 2
        assert right["detected"].tolist() == [True] * 5 + [False] * 2 + [True] * 3  # walk frames 4, 3 missed
        assert (right["person_ids"][~right["detected"]] == -1).all()
        assert (left["transl"][:, 0] < 0).all() and (right["transl"][:, 0] > 0).all()  # each track keeps its person
        # the filled frames (5, 6) lie between their detected neighbours (4, 7), which keep the walk's direction
        x = right["joints"][:, 0, 0]
        assert min(x[4], x[7]) < x[5] < max(x[4], x[7]) and min(x[4], x[7]) < x[6] < max(x[4], x[7])
        assert x[0] > x[4] > x[7] > x[9]  # the walk runs backwards in sequence order


@pytest.mark.parametrize("options", [["--prior", "flow", "--hypotheses", "2"], ["--prior", "none", "--init-from", "prior"],
                                     ["--prior", "conditional", "--init-from", "prior", "--hypotheses", "2"],
                                     ["--prior", "gmm", "--optimizer", "lbfgs"]],
                         ids=["flow-prior-best-of-2", "no-prior-no-model", "conditional-prior-default-starts", "lbfgs"])
def test_other_priors_and_starts(clip, tmp_path, options):
    out = tmp_path / "out"
    assert main(["fit", "--keypoints", str(clip), "--sequence", "--out", str(out), *options, *QUICK]) == 0
    with np.load(out / "walk_track1.npz") as track:
        assert str(track["prior"]) == options[1] and np.isfinite(track["joints"]).all()
        assert np.isfinite(track["prior_log_prob"][track["detected"]]).all() == (options[1] != "none")
        residual = np.linalg.norm(track["keypoints_2d"] - track["keypoints_observed"][..., :2], axis=-1)
        assert np.median(residual[track["detected"]]) < 6.0  # px, on a ~100 px person


def test_meshes_and_overlay_video_on_request(fitted):
    assert len(list(fitted.glob("walk_track1_*.obj"))) == FRAMES and (fitted / "walk_track2_000005.obj").is_file()
    video = cv2.VideoCapture(str(fitted / "walk_overlay.mp4"))
    frames = 0
    while True:
        ok, frame = video.read()
        if not ok:
            break
        assert frame.shape == (250, 500, 3)
        frames += 1
    assert frames == FRAMES


def test_prior_score_reads_a_track_file(fitted, tmp_path):
    out = tmp_path / "scores.csv"
    assert main(["prior", "score", "--poses", str(fitted / "walk_track2.npz"), "--out", str(out)]) == 0
    with open(out, newline="") as handle:
        assert len(list(csv.DictReader(handle))) == FRAMES


def test_clip_options_refused_where_they_do_not_apply(clip, tmp_path, capsys):
    out = str(tmp_path / "o")
    cases = [
        (["--keypoints", str(clip), "--every", "2"], "--every: needs --video or --sequence"),
        (["--keypoints", str(clip), "--render"], "--render: needs --video or --sequence"),
        (["--sequence"], "--sequence: needs --keypoints"),
        (["--keypoints", str(clip), "--sequence", "--overlays"], "--overlays: per image only"),
        (["--keypoints", str(clip), "--sequence", "--min-track-frames", "11"], "no person seen in 11 or more frames"),
    ]
    for argv, message in cases:
        assert main(["fit", *argv, "--out", out, *QUICK]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_a_rerun_needs_overwrite_and_replaces_the_tracks_whole(clip, fitted, tmp_path, capsys):
    """fit's output rules (issue 29) hold for clips: an earlier run's tracks are replaced only with --overwrite,
    and then together with their meshes (a track the new run does not have is not left beside the new ones)."""
    from hmr_flow.validation import file_kinds as kinds
    from hmr_flow.validation import identify

    assert identify(fitted / "walk_track1.npz") is kinds.TRACK_PARAMETERS
    assert identify(fitted / "walk_overlay.mp4") is kinds.VIDEO
    out = tmp_path / "out"
    out.mkdir()
    for name in ("walk_track1.npz", "walk_track2.npz", "walk_track1_000003.obj"):
        (out / name).write_bytes((fitted / name).read_bytes())
    (out / "walk_track3.npz").write_bytes((fitted / "walk_track1.npz").read_bytes())  # a track of an earlier run
    before = (out / "walk_track1.npz").read_bytes()
    rerun = ["fit", "--keypoints", str(clip), "--sequence", "--out", str(out), "--prior", "none", "--init-from", "prior",
             *QUICK]
    assert main(rerun) == 2
    assert "already holds walk_track1.npz (an earlier run's results); pass --overwrite" in capsys.readouterr().err
    assert (out / "walk_track1.npz").read_bytes() == before
    assert main([*rerun, "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["walk_track1.npz", "walk_track2.npz"]
    with np.load(out / "walk_track1.npz") as track:
        assert str(track["prior"]) == "none"
