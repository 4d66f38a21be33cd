"""A contact sheet of body poses rendered on the body model (for ``prior sample --render``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hmr_flow.images import write_image

#: Model frame (Y up, facing +Z) → OpenCV camera frame (y down) seen from the front.
_MODEL_TO_CAMERA = np.diag([1.0, -1.0, -1.0])


def upright_orientation(direction: torch.Tensor) -> torch.Tensor:
    """Axis-angle ``(3,)`` of the smallest rotation taking ``direction (3,)`` to the model's up axis +Y."""
    unit = direction / direction.norm().clamp_min(1e-9)
    up = torch.tensor([0.0, 1.0, 0.0], dtype=unit.dtype)
    axis = torch.linalg.cross(unit, up)
    sine, cosine = axis.norm(), torch.dot(unit, up)
    if sine < 1e-9:  # already up, or exactly down: turn about x
        return torch.tensor([0.0 if cosine > 0 else torch.pi, 0.0, 0.0], dtype=unit.dtype)
    return axis / sine * torch.atan2(sine, cosine)


@torch.no_grad()
def render_pose_grid(body_pose: torch.Tensor, out: str | Path, columns: int = 4, labels: list[str] | None = None,
                     tile: tuple[int, int] = (240, 320), yaw_deg: float = 25.0, model=None) -> np.ndarray:
    """Render body poses ``(N, 69)`` axis-angle (zero global orientation, mean shape) as a grid PNG.

    A body pose has no global orientation, so each body is displayed with its trunk (pelvis → neck)
    upright (the smallest rotation doing so); each tile (``tile = (W, H)`` pixels) shows it from the front,
    turned ``yaw_deg`` about the vertical, centred, with the same camera for all. ``model`` defaults to the open
    :class:`~hmr_flow.body.BodyModel`. Returns the ``(rows·H, columns·W, 3)`` uint8 image.
    """
    from hmr_flow.body import BodyModel
    from hmr_flow.render import MeshSpec, contact_sheet, render_meshes, side_view

    model = model if model is not None else BodyModel()
    pose = torch.as_tensor(body_pose, dtype=torch.float32)
    if pose.dim() != 2 or pose.shape[1] != 69:
        raise ValueError(f"body_pose: expected (N, 69) axis-angle, got {tuple(pose.shape)}")
    width, height = tile
    distance = 3.0
    focal = 0.85 * height * distance / 2.2  # a 2.2 m tall box fills 85 % of the tile height
    images = []
    for row in pose:
        trunk = model(global_orient=torch.zeros(1, 3), body_pose=row[None]).joints[0]
        output = model(global_orient=upright_orientation(trunk[12] - trunk[0])[None], body_pose=row[None])
        vertices = output.vertices[0].numpy().astype(np.float64) @ _MODEL_TO_CAMERA.T
        vertices -= 0.5 * (vertices.min(0) + vertices.max(0))
        vertices[:, 2] += distance
        mesh = side_view(MeshSpec(vertices, model.faces), yaw_deg)
        images.append(render_meshes([mesh], focal, (width, height))[0])
    sheet = contact_sheet(images, labels, columns)
    write_image(out, sheet)
    return sheet
