"""Camera conventions: (s, tx, ty) ↔ translation, crop → full image, crops and heatmaps."""

from __future__ import annotations

import numpy as np
import torch

from hmr_flow.geometry import project_points
from hmr_flow.models import camera_to_translation, crop_to_full_translation, translation_to_camera
from hmr_flow.models.heatmaps import keypoint_heatmaps
from hmr_flow.models.regress import BOX_SCALE, crop_person, keypoint_boxes


def test_camera_translation_round_trip_and_scale_meaning():
    transl = torch.tensor([[0.2, -0.1, 5.0], [-0.3, 0.4, 12.0]])
    focal = torch.tensor([600.0, 1500.0])
    camera = translation_to_camera(transl, focal, 128)
    torch.testing.assert_close(camera_to_translation(camera, focal, 128), transl)
    # a 1 m offset at the body's depth spans s·(S/2) pixels
    point = torch.stack([transl, transl + torch.tensor([1.0, 0.0, 0.0])], dim=1)
    uv = project_points(point, focal, principal_point=(64.0, 64.0))
    torch.testing.assert_close(uv[:, 1, 0] - uv[:, 0, 0], camera[:, 0] * 64.0)


def test_crop_to_full_matches_the_crop_projection():
    width, height, focal = 640, 480, 800.0
    box_centre, box_size, size = torch.tensor([[450.0, 300.0]]), torch.tensor([200.0]), 128
    camera = torch.tensor([[[0.9, 0.05, -0.1]]])  # (B, n, 3)
    full = crop_to_full_translation(camera, box_centre, box_size, focal, torch.tensor([[width / 2, height / 2]]))
    # the body origin (the point at transl) seen by the full camera ...
    uv_full = project_points(full.reshape(1, 1, 3), focal, principal_point=(width / 2, height / 2))[0, 0]
    # ... lands where the crop camera (focal F·S/L, principal point at the crop centre) puts it, mapped back
    crop_focal = focal * size / box_size
    crop_t = camera_to_translation(camera[0], crop_focal, size)
    uv_crop = project_points(crop_t.reshape(1, 1, 3), crop_focal, principal_point=(size / 2, size / 2))[0, 0]
    torch.testing.assert_close(uv_full, (uv_crop - size / 2) * box_size[0] / size + box_centre[0])


def test_crop_person_samples_the_right_pixels():
    image = np.zeros((200, 300, 3), np.uint8)
    image[100:110, 150:160] = 255  # a 10 px square centred at (155, 105)
    box = np.array([135.0, 85.0, 175.0, 125.0])  # 40 px box centred on it
    crop, centre, side = crop_person(image, box, 64)
    assert side == BOX_SCALE * 40 and np.allclose(centre, [155, 105])
    ys, xs = np.nonzero(crop[..., 0] > 127)
    assert abs(xs.mean() + 0.5 - 32) < 0.6 and abs(ys.mean() + 0.5 - 32) < 0.6
    assert abs((xs.max() - xs.min() + 1) - 10 * 64 / side) < 1.5


def test_keypoint_boxes_and_heatmap_peaks():
    keypoints = np.array([[[10, 20, 1.0], [50, 100, 0.9], [500, 500, 0.0]]])
    box = keypoint_boxes(keypoints)[0]
    assert np.allclose([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], [30, 60])
    assert np.isclose(box[3] - box[1], 80 * 1.15)
    maps = keypoint_heatmaps(torch.tensor([[[10.5, 20.5], [3.0, 3.0]]]), torch.tensor([[1.0, 0.0]]), 32, 2.0)
    assert maps.shape == (1, 2, 32, 32)
    peak = divmod(int(maps[0, 0].argmax()), 32)
    assert peak == (20, 10) and abs(float(maps[0, 0].max()) - 1.0) < 1e-6
    assert float(maps[0, 1].abs().max()) == 0.0
