"""Pinhole perspective projection in the project's single camera convention.

**Camera frame = OpenCV convention**: x to the right, y **down**, z forward (away from the camera);
pixel ``(u, v)`` has u along image columns (right) and v along rows (down), origin at the top-left
corner of the top-left pixel. SMPL meshes are Y-up and face +Z, so a body seen from the front is
first rotated 180° about the X axis (:func:`smpl_to_camera_rotation`) and then translated along +z.
:mod:`hmr_flow.render` renders in exactly this convention, so projected joints land on the
rendered silhouette (tested).
"""

from __future__ import annotations

import torch

__all__ = ["project_points", "smpl_to_camera_rotation", "default_focal"]


def smpl_to_camera_rotation(dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """``(3, 3)`` rotation by 180° about X: maps a Y-up, +Z-facing body into the camera frame so
    that it stands upright in the image and faces the camera."""
    return torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=dtype, device=device))


def default_focal(width: int, height: int) -> float:
    """Common focal length (pixels) for a full image with unknown intrinsics: ``sqrt(W² + H²)``."""
    return float((width**2 + height**2) ** 0.5)


def project_points(
    points: torch.Tensor,
    focal: torch.Tensor | float,
    principal_point: torch.Tensor | tuple[float, float] | None = None,
    image_size: tuple[int, int] | None = None,
    min_depth: float = 1e-6,
) -> torch.Tensor:
    """Project camera-frame points to pixels.

    Args:
        points: ``(B, N, 3)`` metres, camera frame (x right, y down, z forward).
        focal: scalar, ``(B,)`` or ``(B, 2)`` (fx, fy) in pixels.
        principal_point: ``(2,)`` or ``(B, 2)`` pixels (cx, cy); if ``None``, the image centre
            ``(W/2, H/2)`` of ``image_size`` = ``(W, H)``.
        min_depth: depths are clamped to this value (metres) to keep gradients finite for points
            behind the camera.

    Returns:
        ``(B, N, 2)`` pixel coordinates ``(u, v)``.
    """
    if not isinstance(points, torch.Tensor) or points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(f"points: expected a (B, N, 3) tensor, got {getattr(points, 'shape', type(points))}")
    batch = points.shape[0]
    focal = torch.as_tensor(focal, dtype=points.dtype, device=points.device)
    if focal.dim() == 0:
        focal = focal.expand(batch, 2)
    elif focal.dim() == 1:
        if focal.shape[0] != batch:
            raise ValueError(f"focal: expected shape ({batch},), got {tuple(focal.shape)}")
        focal = focal[:, None].expand(batch, 2)
    elif tuple(focal.shape) != (batch, 2):
        raise ValueError(f"focal: expected a scalar, ({batch},) or ({batch}, 2), got {tuple(focal.shape)}")
    if principal_point is None:
        if image_size is None:
            raise ValueError("principal_point: give it, or image_size=(W, H) to use the image centre")
        principal_point = (image_size[0] / 2.0, image_size[1] / 2.0)
    centre = torch.as_tensor(principal_point, dtype=points.dtype, device=points.device)
    if centre.shape[-1] != 2 or centre.dim() > 2:
        raise ValueError(f"principal_point: expected (2,) or (B, 2), got {tuple(centre.shape)}")
    centre = centre.expand(batch, 2)
    depth = points[..., 2:3].clamp(min=min_depth)
    return points[..., :2] / depth * focal[:, None, :] + centre[:, None, :]
