"""The dataset class: augmentation keeps labels consistent with images; corrupt data fails clearly."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from hmr_flow.data import AugmentConfig, SynthDataError, SynthDataset, flip_sample, rotate_scale_sample
from hmr_flow.geometry import project_points
from tests.synth.conftest import COUNT, SIZE


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def _camera_mesh(body_model, sample):
    t = {k: torch.as_tensor(np.asarray(sample[k]))[None] for k in ("global_orient", "body_pose", "betas", "transl")}
    out = body_model(**t)
    return out.vertices[0].double().numpy(), out


def test_flipped_pose_renders_as_the_flipped_image(synth_set, body_model, renderer):
    data = SynthDataset(synth_set)
    for i in range(COUNT):
        sample = data.raw_sample(i)
        flipped = flip_sample(sample)
        vertices, out = _camera_mesh(body_model, flipped)
        rendered = renderer.silhouette(vertices, float(flipped["focal"]))
        assert _iou(rendered, flipped["silhouette"]) > 0.95
        assert _iou(rendered, sample["silhouette"]) < _iou(rendered, flipped["silhouette"])
        assert np.abs(out.joints[0].numpy() - flipped["joints3d"]).max() < 1e-3
        uv = project_points(out.coco17, float(flipped["focal"]), image_size=(SIZE, SIZE))[0].numpy()
        assert np.abs(uv - flipped["keypoints2d"]).max() < 0.05
        assert np.array_equal(flipped["image"], sample["image"][:, ::-1])
        twice = flip_sample(flipped)
        for key in ("global_orient", "body_pose", "transl", "joints3d", "keypoints2d", "bbox"):
            np.testing.assert_allclose(twice[key], sample[key], atol=1e-5, err_msg=key)


def test_rotation_and_scale_keep_labels_consistent(synth_set, body_model, renderer):
    sample = SynthDataset(synth_set).raw_sample(1)
    moved = rotate_scale_sample(sample, angle_deg=25.0, scale=0.85)
    assert moved["focal"] == pytest.approx(0.85 * sample["focal"])
    vertices, out = _camera_mesh(body_model, moved)
    assert np.abs(out.joints[0].numpy() - moved["joints3d"]).max() < 1e-4
    uv = project_points(out.coco17, float(moved["focal"]), image_size=(SIZE, SIZE))[0].numpy()
    assert np.abs(uv - moved["keypoints2d"]).max() < 0.05
    assert _iou(renderer.silhouette(vertices, float(moved["focal"])), moved["silhouette"]) > 0.9
    # the image moved with the silhouette: body pixels keep the body's colours, not the border's
    assert moved["image"][moved["silhouette"]].mean(0) == pytest.approx(sample["image"][sample["silhouette"]].mean(0), abs=12)


def test_augmented_items_are_tensors_and_reproducible(synth_set):
    data = SynthDataset(synth_set, augment=AugmentConfig(flip_prob=0.5, rotation_prob=1.0))
    torch.manual_seed(0)
    first = [data[i] for i in range(COUNT)]
    torch.manual_seed(0)
    data_again = SynthDataset(synth_set, augment=AugmentConfig(flip_prob=0.5, rotation_prob=1.0))
    second = [data_again[i] for i in range(COUNT)]
    item = first[0]
    assert item["image"].shape == (3, SIZE, SIZE) and item["image"].dtype == torch.float32
    assert 0.0 <= item["image"].min() and item["image"].max() <= 1.0
    assert item["body_pose"].shape == (69,) and item["keypoints2d"].shape == (17, 2)
    assert item["visibility"].dtype == torch.int64 and item["silhouette"].dtype == torch.bool
    for a, b in zip(first, second):
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["global_orient"], b["global_orient"])
    plain = SynthDataset(synth_set)
    assert not all(torch.equal(a["image"], plain[i]["image"]) for i, a in enumerate(first))
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=3)))
    assert batch["image"].shape == (3, 3, SIZE, SIZE)


def test_corrupt_or_missing_files_raise_errors_naming_them(synth_set, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(synth_set, broken)
    shard = broken / "shard_00001.npz"
    shard.write_bytes(shard.read_bytes()[:5000])
    with pytest.raises(SynthDataError, match="shard_00001.npz.*checksum"):
        SynthDataset(broken)[5]
    with pytest.raises(SynthDataError, match="shard_00001.npz.*corrupt"):
        SynthDataset(broken, verify=False)[5]
    assert SynthDataset(broken)[0]["image"].shape == (3, SIZE, SIZE)  # the intact shard still reads
    shard.unlink()
    with pytest.raises(SynthDataError, match="shard_00001.npz.*missing"):
        SynthDataset(broken)[4]
    (broken / "manifest.json").write_text("{not json")
    with pytest.raises(SynthDataError, match="manifest.json.*corrupt"):
        SynthDataset(broken)
    with pytest.raises(SynthDataError, match="manifest not found"):
        SynthDataset(tmp_path / "nowhere")
