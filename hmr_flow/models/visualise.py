"""Grid render of regression hypotheses: one tile per hypothesis, every person's mesh over the photo."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from hmr_flow.body import BodyModel
from hmr_flow.models.regress import Hypotheses
from hmr_flow.render import MeshSpec, contact_sheet, render_meshes

_COLOURS = ((0.65, 0.74, 0.86), (0.86, 0.68, 0.62), (0.66, 0.84, 0.66), (0.85, 0.80, 0.55))


@torch.no_grad()
def hypothesis_grid(
    image: np.ndarray, hypotheses: Hypotheses, body: BodyModel | None = None, tile: int = 320, columns: int = 4
) -> np.ndarray:
    """``(rows·h, columns·w, 3)`` uint8 sheet: the photo with the person boxes, then hypothesis 0
    ("mode"), 1, … rendered over the photo, each tile scaled so its longer side is ``tile`` pixels."""
    body = body if body is not None else BodyModel()
    height, width = image.shape[:2]
    scale = tile / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    people, n = hypotheses.pose.shape[:2]
    output = body(hypotheses.pose.reshape(people * n, 72).float().cpu(), hypotheses.betas.reshape(people * n, -1).float().cpu(),
                  hypotheses.transl.reshape(people * n, 3).float().cpu())
    vertices = output.vertices.reshape(people, n, -1, 3).numpy()
    boxed = small.copy()
    for x0, y0, x1, y1 in (hypotheses.boxes.cpu().numpy() * scale).round().astype(int):
        cv2.rectangle(boxed, (x0, y0), (x1, y1), (255, 60, 60), 2)
    tiles, labels = [boxed], ["input"]
    principal = tuple((hypotheses.principal_point.cpu().numpy() * scale).tolist())
    for k in range(n):
        meshes = [MeshSpec(vertices[p, k], body.faces, _COLOURS[p % len(_COLOURS)]) for p in range(people)]
        rgb, _ = render_meshes(meshes, hypotheses.focal * scale, size, principal, background=small)
        tiles.append(rgb)
        labels.append("mode" if k == 0 else f"sample {k}")
    return contact_sheet(tiles, labels, columns)
