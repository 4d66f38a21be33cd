"""Preview sheet of the body model: front and side views at betas 0 / ±2 and in a few poses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hmr_flow.body import JOINT_NAMES, BodyModel
from hmr_flow.geometry import smpl_to_camera_rotation
from hmr_flow.images import write_image
from hmr_flow.render import MeshSpec, contact_sheet, render_meshes, side_view

IMAGE_SIZE = (360, 420)
FOCAL = 520.0
DISTANCE_M = 3.6
_J = {n: i for i, n in enumerate(JOINT_NAMES)}


def _pose(**rotations: tuple[float, float, float]) -> torch.Tensor:
    """``(1, 72)`` axis-angle with the given joints set (degrees about x, y, z combined as a rotation vector)."""
    pose = torch.zeros(1, 72)
    for joint, vector in rotations.items():
        pose[0, 3 * _J[joint] : 3 * _J[joint] + 3] = torch.tensor(vector) * np.pi / 180.0
    return pose


POSES: dict[str, torch.Tensor] = {
    "arms down": _pose(left_shoulder=(0, 0, -70), right_shoulder=(0, 0, 70)),
    "walking": _pose(left_hip=(-30, 0, 0), right_hip=(25, 0, 0), right_knee=(40, 0, 0),
                     left_shoulder=(0, 0, -65), right_shoulder=(0, 0, 65), left_elbow=(0, -30, 0)),
    "sitting": _pose(left_hip=(-90, 0, 0), right_hip=(-90, 0, 0), left_knee=(90, 0, 0), right_knee=(90, 0, 0),
                     left_shoulder=(0, 0, -60), right_shoulder=(0, 0, 60)),
    "elbows 90": _pose(left_elbow=(0, -90, 0), right_elbow=(0, 90, 0)),
}


def _to_camera(vertices: np.ndarray) -> np.ndarray:
    """Model-frame ``(V, 3)`` → camera frame, body centred in front of the camera."""
    rot = smpl_to_camera_rotation(dtype=torch.float64).numpy()
    cam = vertices @ rot.T
    centre = 0.5 * (cam.min(0) + cam.max(0))
    return cam - centre + np.array([0.0, 0.0, DISTANCE_M])


def render_preview(model: BodyModel, out: Path, components: int = 3) -> Path:
    """Render the sheet to ``out`` (PNG); row 1..: shapes, last rows: poses; front + side each."""
    tiles: list[tuple[str, torch.Tensor, torch.Tensor]] = [("betas 0", torch.zeros(1, 72), torch.zeros(1, model.num_betas))]
    for k in range(min(components, model.num_betas)):
        for sign in (-2.0, 2.0):
            betas = torch.zeros(1, model.num_betas)
            betas[0, k] = sign
            tiles.append((f"beta{k} {sign:+.0f}", torch.zeros(1, 72), betas))
    tiles += [(name, pose, torch.zeros(1, model.num_betas)) for name, pose in POSES.items()]
    images, labels = [], []
    with torch.no_grad():
        for label, pose, betas in tqdm(tiles, desc="preview", leave=False):
            vertices = model(pose, betas).vertices[0].double().numpy()
            front = MeshSpec(_to_camera(vertices), model.faces)
            height = vertices[:, 1].max() - vertices[:, 1].min()
            for view, mesh in (("front", front), ("side", side_view(front))):
                images.append(render_meshes([mesh], FOCAL, IMAGE_SIZE)[0])
                labels.append(f"{label} {view} h={height:.2f}m")
    sheet = contact_sheet(images, labels, columns=6)
    return write_image(out, sheet)
