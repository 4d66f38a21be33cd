"""Rendered sets: ground truth matches the images, visibility is right, renders are reproducible."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from data_tools.synth.visibility import HIDDEN, OUTSIDE, VISIBLE, keypoint_visibility
from hmr_flow.body import JOINT_NAMES
from hmr_flow.data import SynthDataset, read_manifest
from hmr_flow.geometry import project_points
from tests.synth.conftest import COUNT, SEED, SIZE, render_cli


def _dilate(mask: np.ndarray) -> np.ndarray:
    """Mask grown by one pixel (8-neighbourhood)."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def _posed(body_model, sample):
    t = {k: torch.as_tensor(np.asarray(sample[k]))[None] for k in ("global_orient", "body_pose", "betas", "transl")}
    return body_model(**t)


def test_manifest_and_shards(synth_set):
    manifest = read_manifest(synth_set)
    assert manifest.count == COUNT and manifest.image_size == SIZE
    assert [s.count for s in manifest.shards] == [4, 2]
    assert manifest.info["split"] == "train" and manifest.info["seed"] == SEED
    subjects = {int(SynthDataset(synth_set).raw_sample(i)["subject"]) for i in range(COUNT)}
    assert subjects == {1}  # training subjects only


def test_ground_truth_reproduces_joints_and_keypoints(synth_set, body_model):
    data = SynthDataset(synth_set)
    for i in range(COUNT):
        s = data.raw_sample(i)
        out = _posed(body_model, s)
        assert np.abs(out.joints[0].numpy() - s["joints3d"]).max() < 1e-4
        uv = project_points(out.coco17, float(s["focal"]), image_size=(SIZE, SIZE))[0].numpy()
        assert np.abs(uv - s["keypoints2d"]).max() < 1e-2
        # the silhouette's box matches the projected mesh's (within a pixel), clipped to the crop
        proj = project_points(out.vertices, float(s["focal"]), image_size=(SIZE, SIZE))[0].numpy()
        lo, hi = np.clip(proj.min(0), 0, SIZE), np.clip(proj.max(0), 0, SIZE)
        assert np.abs(s["bbox"] - np.concatenate([lo, hi])).max() < 1.5


def test_visible_keypoints_lie_on_the_silhouette_and_not_on_occluders(synth_set):
    data = SynthDataset(synth_set)
    visible = 0
    for i in range(COUNT):
        s = data.raw_sample(i)
        fill = (s["bbox"][2:] - s["bbox"][:2]).max() / SIZE
        assert 0.4 < fill <= 1.0
        kp, vis = s["keypoints2d"], s["visibility"]
        cols, rows = np.floor(kp[:, 0]).astype(int), np.floor(kp[:, 1]).astype(int)
        inside = (cols >= 0) & (cols < SIZE) & (rows >= 0) & (rows < SIZE)
        assert np.array_equal(vis == OUTSIDE, ~inside)
        on = vis == VISIBLE
        visible += on.sum()
        assert _dilate(s["silhouette"])[rows[on], cols[on]].all()
        assert not (s["occluder"] & ~_dilate(~s["occluder"]))[rows[on], cols[on]].any()
        # the person is in the image: most body pixels differ from a flat colour
        assert s["image"][s["silhouette"]].std() > 5
    assert visible >= 0.4 * 17 * COUNT


def test_visibility_rules_on_a_hand_built_scene():
    """A flat 'head' wall at z = 2 m seen by a 32 px camera; keypoints at various depths/places."""
    size, focal = 32, 40.0
    depth = np.full((size, size), 2.0, dtype=np.float32)
    occluded = np.zeros((size, size), dtype=bool)
    occluded[:, :4] = True
    v, u = np.mgrid[-1:1:21j, -1:1:21j]
    vertices = np.stack([u.ravel(), v.ravel(), np.full(u.size, 2.0)], 1)
    part = np.full(len(vertices), JOINT_NAMES.index("head"))
    kp3d = np.zeros((17, 3))
    kp3d[:, 2] = 2.01  # just behind the wall surface: face points (0-4) visible
    kp3d[1, 2] = 2.3  # left eye 30 cm behind the surface: hidden
    kp2d = np.full((17, 2), 16.5)
    kp2d[2] = [2.5, 16.5]  # right eye on the occluder
    kp2d[3] = [40.0, 16.5]  # left ear outside the crop
    flags = keypoint_visibility(kp3d, kp2d, vertices, part, depth, occluded, focal)
    assert flags[0] == VISIBLE and flags[4] == VISIBLE
    assert flags[1] == HIDDEN and flags[2] == HIDDEN and flags[3] == OUTSIDE
    assert (flags[5:] == HIDDEN).all()  # body joints cannot be seen on the head part
    flags_bg = keypoint_visibility(kp3d, kp2d, vertices, part, np.zeros_like(depth), occluded, focal)
    assert (flags_bg[[0, 1, 2, 4]] == HIDDEN).all()  # nothing rendered there


def test_same_seed_gives_the_same_images(synth_set, tiny_poses, tmp_path):
    again = render_cli(tiny_poses, tmp_path / "again")
    other = render_cli(tiny_poses, tmp_path / "other", seed=SEED + 1)
    a, b, c = SynthDataset(synth_set), SynthDataset(again), SynthDataset(other)
    for i in range(COUNT):
        x, y, z = a.raw_sample(i), b.raw_sample(i), c.raw_sample(i)
        for key in x:
            assert np.array_equal(x[key], y[key]), key
        assert not np.array_equal(x["image"], z["image"])
        assert not np.allclose(x["global_orient"], z["global_orient"])
