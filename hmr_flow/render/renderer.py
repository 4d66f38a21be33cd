"""Headless mesh rendering with pyrender (EGL), in the project camera convention.

Inputs are in the **OpenCV camera frame** of :mod:`hmr_flow.geometry.camera` (x right, y down,
z forward, metres) with a pinhole camera given by focal length and principal point in pixels, so
that :func:`hmr_flow.geometry.camera.project_points` of the same points lands on the rendered pixels.
One ``pyrender.OffscreenRenderer`` is kept and reused (resized when the image size changes);
:func:`close_renderers` frees it (also called at interpreter exit).

pyrender (and PyOpenGL) are imported by :func:`load_pyrender` on the first render, not when this module
is imported: importing :mod:`hmr_flow` or any of its packages leaves OpenGL alone. Only then is
``PYOPENGL_PLATFORM`` set to ``egl`` (headless), and only if the user has not set it.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import trimesh

if TYPE_CHECKING:
    import pyrender

#: OpenCV camera frame → OpenGL camera frame (pyrender looks down -z with y up).
_CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def load_pyrender() -> ModuleType:
    """The ``pyrender`` module, imported on first use with ``PYOPENGL_PLATFORM`` defaulting to ``egl``
    (headless; a value the user set, e.g. ``osmesa``, is kept). PyOpenGL reads the variable once, at
    its first import."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    import pyrender

    return pyrender


@dataclass
class MeshSpec:
    """One mesh to draw: ``vertices (V, 3)`` camera frame metres, ``faces (F, 3)``, RGB(A) colour in [0, 1]."""

    vertices: np.ndarray
    faces: np.ndarray
    color: tuple[float, ...] = (0.65, 0.74, 0.86)


_RENDERER: list[pyrender.OffscreenRenderer] = []


def offscreen_renderer(width: int, height: int) -> pyrender.OffscreenRenderer:
    """The one shared offscreen renderer, resized to ``width × height`` if needed.

    A single renderer is kept (not one per size) because deleting a pyrender EGL renderer
    terminates the EGL display that every other renderer of the process shares.
    """
    if not _RENDERER:
        _RENDERER.append(load_pyrender().OffscreenRenderer(viewport_width=width, viewport_height=height))
    renderer = _RENDERER[0]
    if (renderer.viewport_width, renderer.viewport_height) != (width, height):
        renderer.viewport_width, renderer.viewport_height = width, height
    return renderer


def close_renderers() -> None:
    """Release the shared offscreen renderer (GL context); the next render creates a new one."""
    while _RENDERER:
        _RENDERER.pop().delete()


atexit.register(close_renderers)


def _check_mesh(mesh: MeshSpec, index: int) -> None:
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"meshes[{index}].vertices: expected (V, 3), got {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3 or (f.size and (f.min() < 0 or f.max() >= len(v))):
        raise ValueError(f"meshes[{index}].faces: expected (F, 3) indices into {len(v)} vertices")
    if not np.isfinite(v).all():
        raise ValueError(f"meshes[{index}].vertices: contains NaN or infinite values")


def render_meshes(
    meshes: list[MeshSpec],
    focal: float | tuple[float, float],
    image_size: tuple[int, int],
    principal_point: tuple[float, float] | None = None,
    background: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Render meshes seen by a pinhole camera at the origin of the OpenCV camera frame.

    Args:
        meshes: meshes in the camera frame (x right, y down, z forward; metres).
        focal: pixels, scalar or ``(fx, fy)``.
        image_size: ``(W, H)`` pixels.
        principal_point: ``(cx, cy)`` pixels; default the image centre.
        background: optional ``(H, W, 3)`` uint8 image drawn behind the meshes.

    Returns:
        ``rgb (H, W, 3)`` uint8 and ``depth (H, W)`` float32 metres along z (0 where empty).
    """
    pyrender = load_pyrender()
    width, height = int(image_size[0]), int(image_size[1])
    fx, fy = (focal, focal) if np.isscalar(focal) else focal
    cx, cy = principal_point if principal_point is not None else (width / 2.0, height / 2.0)
    if background is not None and (background.shape != (height, width, 3) or background.dtype != np.uint8):
        raise ValueError(f"background: expected ({height}, {width}, 3) uint8, got {background.shape} {background.dtype}")
    scene = pyrender.Scene(bg_color=(1.0, 1.0, 1.0, 0.0), ambient_light=(0.35, 0.35, 0.35))
    for i, mesh in enumerate(meshes):
        _check_mesh(mesh, i)
        material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=tuple(mesh.color) + (1.0,) * (4 - len(mesh.color)), metallicFactor=0.0, roughnessFactor=0.7
        )
        tm = trimesh.Trimesh(np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces), process=False)
        tm.apply_transform(_CV_TO_GL)
        scene.add(pyrender.Mesh.from_trimesh(tm, material=material, smooth=True))
    camera = pyrender.IntrinsicsCamera(fx=fx, fy=fy, cx=cx, cy=cy, znear=0.01, zfar=1000.0)
    scene.add(camera, pose=np.eye(4))
    scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=3.0), pose=np.eye(4))
    rgba, depth = offscreen_renderer(width, height).render(scene, flags=pyrender.RenderFlags.RGBA)
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    under = background.astype(np.float32) if background is not None else np.full((height, width, 3), 255.0)
    rgb = (rgba[..., :3].astype(np.float32) * alpha + under * (1.0 - alpha)).round().astype(np.uint8)
    return rgb, depth.astype(np.float32)


def side_view(mesh: MeshSpec, angle_deg: float = 90.0) -> MeshSpec:
    """The same mesh turned by ``angle_deg`` about the camera-frame vertical axis (y) through its
    bounding-box centre — e.g. a profile view next to a front view."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    centre = 0.5 * (vertices.min(0) + vertices.max(0))
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    return MeshSpec((vertices - centre) @ rot.T + centre, mesh.faces, mesh.color)
