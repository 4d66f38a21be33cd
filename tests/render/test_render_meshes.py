"""Rendering agrees with the projector; compositing, side view and contact sheets."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from hmr_flow.geometry import project_points, smpl_to_camera_rotation
from hmr_flow.render import MeshSpec, close_renderers, contact_sheet, render_meshes, side_view

SIZE, FOCAL, CENTRE = (240, 320), 300.0, (110.0, 170.0)  # off-centre principal point on purpose


def _dilate(mask: np.ndarray) -> np.ndarray:
    """Mask grown by one pixel (8-neighbourhood)."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def _posed_camera_frame(body_model):
    pose = torch.zeros(1, 72)
    pose[0, 3 * 16 + 2], pose[0, 3 * 17 + 2] = -1.1, 1.1  # arms down-ish: joints well inside the silhouette
    out = body_model(pose, transl=None)
    rot = smpl_to_camera_rotation()
    shift = torch.tensor([0.05, 0.1, 3.2])
    return out.vertices @ rot.T + shift, out.joints @ rot.T + shift


def test_projected_joints_land_on_rendered_silhouette(body_model):
    vertices, joints = _posed_camera_frame(body_model)
    rgb, depth = render_meshes([MeshSpec(vertices[0].numpy(), body_model.faces)], FOCAL, SIZE, CENTRE)
    assert rgb.shape == (320, 240, 3) and rgb.dtype == np.uint8 and depth.shape == (320, 240)
    silhouette = depth > 0
    uv = project_points(joints, FOCAL, CENTRE)[0].floor().long().numpy()  # pixel (i, j) covers [j, j+1) × [i, i+1)
    inside = silhouette[uv[:, 1], uv[:, 0]]
    assert inside[:22].all()
    # SMPL's hand joints sit at the knuckles of a hand seen edge-on here: allow one pixel
    assert _dilate(silhouette)[uv[22:, 1], uv[22:, 0]].all()
    # the silhouette's bounding box matches the projected vertices' to within 2 pixels
    proj = project_points(vertices, FOCAL, CENTRE)[0].numpy()
    rows, cols = np.nonzero(silhouette)
    assert abs(cols.min() - proj[:, 0].min()) < 2 and abs(cols.max() + 1 - proj[:, 0].max()) < 2
    assert abs(rows.min() - proj[:, 1].min()) < 2 and abs(rows.max() + 1 - proj[:, 1].max()) < 2
    # depth is the camera-frame z of the surface
    assert 3.0 < depth[silhouette].min() < depth[silhouette].max() < 3.5


def test_background_shows_where_there_is_no_mesh_and_side_view_is_narrower(body_model):
    vertices, _ = _posed_camera_frame(body_model)
    mesh = MeshSpec(vertices[0].numpy(), body_model.faces, color=(1.0, 0.2, 0.2))
    background = np.zeros((320, 240, 3), dtype=np.uint8)
    background[..., 1] = 200
    rgb, depth = render_meshes([mesh], FOCAL, SIZE, CENTRE, background=background)
    assert (rgb[~_dilate(depth > 0)] == [0, 200, 0]).all()  # edge pixels are anti-aliased
    assert rgb[depth > 0][:, 0].mean() > rgb[depth > 0][:, 1].mean()  # red mesh over the green background
    _, side_depth = render_meshes([side_view(mesh)], FOCAL, SIZE, CENTRE)
    width = lambda d: np.ptp(np.nonzero(d > 0)[1])  # noqa: E731
    assert width(side_depth) < 0.7 * width(depth)
    close_renderers()


def test_bad_mesh_raises():
    with pytest.raises(ValueError, match=r"meshes\[0\].faces"):
        render_meshes([MeshSpec(np.zeros((3, 3)), np.array([[0, 1, 5]]))], 100.0, (32, 32))


def test_contact_sheet_tiles_images():
    images = [np.full((20, 30, 3), v, dtype=np.uint8) for v in (0, 100, 200)]
    sheet = contact_sheet(images, ["a", "b", "c"], columns=2)
    assert sheet.shape == (40, 60, 3)
    assert (sheet[30:, 45:] == 255).all() and sheet[38, 25, 0] == 200 and sheet[18, 50, 0] == 100
    with pytest.raises(ValueError, match=r"images\[1\]"):
        contact_sheet([images[0], np.zeros((5, 5, 3), np.uint8)])
