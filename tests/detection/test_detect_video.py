"""``hmr-flow fit --video``: the people of every frame detected, written as a COCO file numbered by frame,
linked into a track and fitted."""

from __future__ import annotations

import json

import cv2
import numpy as np

from hmr_flow.cli import main
from hmr_flow.fitting.sequence_io import read_sequence


def test_fit_video_detects_tracks_and_fits(blazepose, t_pose_photo, tmp_path):
    photo = cv2.imread(str(t_pose_photo))
    photo = cv2.resize(photo, (photo.shape[1] // 2 * 2, photo.shape[0] // 2 * 2))
    video = tmp_path / "walk.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (photo.shape[1], photo.shape[0]))
    for shift in range(0, 20, 4):  # five frames, the man moving 4 px right per frame
        writer.write(np.roll(photo, shift, axis=1))
    writer.release()
    out = tmp_path / "out"
    assert main(["fit", "--video", str(video), "--every", "2", "--out", str(out), "--iterations", "6",
                 "--min-track-frames", "2", "--threads", "1"]) == 0
    coco = json.loads((out / "detected_keypoints.json").read_text())
    assert [image["id"] for image in coco["images"]] == [0, 2, 4]  # frame numbers of the video
    assert sorted({a["image_id"] for a in coco["annotations"]}) == [0, 2, 4]
    assert len(read_sequence(out / "detected_keypoints.json").frames) == 3
    with np.load(out / "walk_track1.npz") as track:
        assert track["frame"].tolist() == [0, 2, 4] and track["detected"].all()
        assert track["fps"] == 30.0 and tuple(track["image_size"]) == (photo.shape[1], photo.shape[0])
        hips = track["keypoints_observed"][:, 11:13, 0].mean(1)
        assert np.all(np.diff(hips) > 4)  # 8 px between the frames kept
    assert not list(out.glob("walk_track2.npz"))
