"""The regressor's camera: a scale-and-shift ``(s, tx, ty)`` per crop, turned into a translation.

Convention. A crop is ``S × S`` pixels with a pinhole camera of focal ``f`` pixels and principal
point at the crop centre ``(S/2, S/2)``, OpenCV frame (x right, y down, z forward, metres; see
:mod:`hmr_flow.geometry.camera`). The network predicts ``camera = (s, tx, ty)``, ``s > 0``, and the
body's translation (what :class:`hmr_flow.body.BodyModel` adds to every point) is

    ``transl = (tx, ty, 2 f / (S s))``

so a point ``X`` near the body projects to normalised crop coordinates ``(u − S/2)/(S/2) ≈ s (X_xy + t_xy)``:
``s`` is what the image shows (the body's size in the crop), independent of the focal length, and the
depth follows from whatever focal is known (the synthetic renders' true one, or a default for photos).

For a crop cut from a full ``W × H`` image as the square with centre ``(bx, by)`` and side ``L``
pixels, scaled to ``S``, :func:`crop_to_full_translation` gives the translation in the *full-image*
camera (focal ``F``, principal point ``(cx, cy)``): the same depth ``2F/(L s)`` and the crop's offset
from the principal point folded into x and y (exact for the point at the body's origin depth).
"""

from __future__ import annotations

import torch
from torch import Tensor


def camera_to_translation(camera: Tensor, focal: Tensor | float, image_size: int) -> Tensor:
    """``camera (..., 3)`` = ``(s, tx, ty)`` and crop focal (scalar or ``(...)``, pixels) → ``(..., 3)`` metres."""
    focal = torch.as_tensor(focal, dtype=camera.dtype, device=camera.device)
    depth = 2.0 * focal / (image_size * camera[..., 0].clamp_min(1e-6))
    return torch.cat([camera[..., 1:], depth[..., None]], dim=-1)


def translation_to_camera(transl: Tensor, focal: Tensor | float, image_size: int) -> Tensor:
    """Inverse of :func:`camera_to_translation`: ``transl (..., 3)`` (z > 0) → ``(s, tx, ty) (..., 3)``."""
    focal = torch.as_tensor(focal, dtype=transl.dtype, device=transl.device)
    scale = 2.0 * focal / (image_size * transl[..., 2].clamp_min(1e-6))
    return torch.cat([scale[..., None], transl[..., :2]], dim=-1)


def crop_to_full_translation(
    camera: Tensor, box_centre: Tensor, box_size: Tensor, focal: Tensor | float, principal_point: Tensor
) -> Tensor:
    """Translation in the full image's camera of a body predicted on a square crop.

    Args:
        camera: ``(B, ..., 3)`` ``(s, tx, ty)`` predicted on the crop.
        box_centre: ``(B, 2)`` crop centre in full-image pixels; box_size: ``(B,)`` crop side ``L`` pixels.
        focal: full-image focal ``F`` (scalar or ``(B,)``, pixels); principal_point: ``(B, 2)`` pixels.

    Returns:
        ``(B, ..., 3)`` metres, full-image camera frame.
    """
    batch = camera.shape[0]
    extra = (1,) * (camera.dim() - 2)
    focal = torch.as_tensor(focal, dtype=camera.dtype, device=camera.device).expand(batch).reshape(batch, *extra)
    size = box_size.to(camera).reshape(batch, *extra)
    depth = 2.0 * focal / (size * camera[..., 0].clamp_min(1e-6))
    offset = (box_centre.to(camera) - principal_point.to(camera)).reshape(batch, *extra, 2)
    xy = camera[..., 1:] + offset * (depth / focal)[..., None]
    return torch.cat([xy, depth[..., None]], dim=-1)
