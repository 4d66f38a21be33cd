"""Writing fit results: parameters (``.npz``), meshes (``.obj``) and overlay images (``.png``).

All files are written atomically (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from hmr_flow.render import MeshSpec

#: Colours of successive people in overlays (RGB, 0–1).
PERSON_COLOURS = ((0.65, 0.74, 0.86), (0.90, 0.62, 0.50), (0.60, 0.85, 0.60), (0.88, 0.80, 0.50), (0.75, 0.62, 0.88))


def _atomic(path: Path, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise OSError(f"{path}: cannot write ({err.strerror or err})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def save_params(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` as an uncompressed ``.npz`` (no pickles: every value must be a plain array)."""
    return _atomic(Path(path), lambda tmp: np.savez(tmp, **arrays))


@functools.lru_cache(maxsize=4)
def _face_lines(faces: bytes, count: int) -> str:
    """OBJ ``f`` lines (1-based) of ``count`` int64 triangles given as raw bytes (cached: every person
    of a fit shares the body's faces)."""
    triangles = np.frombuffer(faces, dtype=np.int64).reshape(count, 3) + 1
    return ("f %d %d %d\n" * count) % tuple(triangles.ravel().tolist())


def save_obj(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """Write a Wavefront OBJ: ``vertices (V, 3)`` (metres, camera frame), ``faces (F, 3)`` 0-based."""
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="ascii") as handle:
            handle.write("# hmr-flow fit: metres, OpenCV camera frame (x right, y down, z forward)\n")
            # the text np.savetxt writes, formatted in one go (5× faster: OBJs dominated batch fits)
            handle.write(("v %.6f %.6f %.6f\n" * len(vertices)) % tuple(vertices.ravel().tolist()))
            handle.write(_face_lines(faces.tobytes(), len(faces)))

    return _atomic(Path(path), write)


def save_image(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an ``(H, W, 3)`` uint8 RGB image as PNG."""
    path = Path(path)

    def write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise OSError(f"{path}: could not write image")

    return _atomic(path, write)


def _draw_keypoints(image: np.ndarray, observed: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Observed keypoints (green dots) and fitted ones (red dots), joined by thin lines."""
    out = image.copy()
    radius = max(2, round(min(image.shape[:2]) / 250))
    for people_obs, people_fit in zip(observed, fitted):
        for (u, v, c), (fu, fv) in zip(people_obs, people_fit):
            if c <= 0:
                continue
            cv2.line(out, (round(u), round(v)), (round(fu), round(fv)), (255, 255, 0), 1, cv2.LINE_AA)
            cv2.circle(out, (round(u), round(v)), radius, (0, 200, 0), -1, cv2.LINE_AA)
            cv2.circle(out, (round(fu), round(fv)), radius, (230, 30, 30), -1, cv2.LINE_AA)
    return out


def _framed_side_view(meshes: list[MeshSpec], focal: float, size: tuple[int, int]) -> list[MeshSpec]:
    """All people turned 90° together about the vertical axis through their common centre, then
    moved so that they fill about 80 % of the width or height of an image of ``size`` ``(W, H)``
    seen with ``focal`` (whichever binds first)."""
    from hmr_flow.render import MeshSpec, side_view

    counts = np.cumsum([0] + [len(m.vertices) for m in meshes])
    merged = MeshSpec(np.concatenate([m.vertices for m in meshes]), meshes[0].faces)
    turned = np.asarray(side_view(merged).vertices)
    low, high = turned.min(0), turned.max(0)
    centre = 0.5 * (low + high)
    depth = focal * max((high[0] - low[0]) / (0.8 * size[0]), (high[1] - low[1]) / (0.8 * size[1])) + 0.5 * (high[2] - low[2])
    turned = turned - centre + np.array([0.0, 0.0, depth])
    return [MeshSpec(turned[counts[i] : counts[i + 1]], m.faces, m.color) for i, m in enumerate(meshes)]


def render_overlay(
    image: np.ndarray,
    vertices: np.ndarray,
    faces: np.ndarray,
    focal: float,
    principal_point: tuple[float, float],
    observed: np.ndarray,
    fitted: np.ndarray,
) -> np.ndarray:
    """Three panels side by side: keypoints (observed green, fitted red), meshes over the image, and
    a side view of the meshes.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        vertices: ``(P, V, 3)`` camera frame, metres. faces: ``(F, 3)``.
        observed: ``(P, K, 3)`` ``(u, v, confidence)``; fitted: ``(P, K, 2)`` pixels.

    Returns:
        ``(H, 3W, 3)`` uint8 RGB.
    """
    from hmr_flow.render import MeshSpec, render_meshes  # the renderer's import is slow: only when drawing

    height, width = image.shape[:2]
    meshes = [MeshSpec(v, faces, PERSON_COLOURS[i % len(PERSON_COLOURS)]) for i, v in enumerate(vertices)]
    front, _ = render_meshes(meshes, focal, (width, height), principal_point, background=image)
    side, _ = render_meshes(_framed_side_view(meshes, focal, (width, height)), focal, (width, height))
    return np.concatenate([_draw_keypoints(image, observed, fitted), front, side], axis=1)
