"""Writing fit results: meshes (``.obj``/``.ply``/``.glb``), overlay images (``.png``) and each image's
result set (:func:`write_fit_set`: parameters, meshes and overlay, replaced together).

All files are written atomically (:mod:`hmr_flow.files`: a temporary file in the same folder, then
``os.replace``), under any file name (images through :func:`hmr_flow.images.write_image`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from hmr_flow.files import bytes_writer, npz_writer, write_set, write_with
from hmr_flow.images import image_writer

if TYPE_CHECKING:
    from hmr_flow.render import MeshSpec

#: Colours of successive people in overlays (RGB, 0–1).
PERSON_COLOURS = ((0.65, 0.74, 0.86), (0.90, 0.62, 0.50), (0.60, 0.85, 0.60), (0.88, 0.80, 0.50), (0.75, 0.62, 0.88))


#: Mesh file formats :func:`save_mesh` writes (binary PLY by the library itself, the others by trimesh).
MESH_FORMATS = ("obj", "ply", "glb")
_OBJ_HEADER = "hmr-flow: metres, OpenCV camera frame (x right, y down, z forward)"


def ply_bytes(vertices: np.ndarray, faces: np.ndarray) -> bytes:
    """A binary little-endian PLY of a triangle mesh, laid out as trimesh writes one (float32 ``x y z`` per
    vertex, each face a uchar count 3 and three int32 indices): ``vertices (V, 3)``, ``faces (F, 3)`` 0-based.
    Written here because importing trimesh takes ~1.5 s, more than writing a hundred meshes."""
    vertices = np.ascontiguousarray(vertices, dtype="<f4")
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"expected vertices (V, 3) and triangles (F, 3), got {vertices.shape} and {faces.shape}")
    header = (f"ply\nformat binary_little_endian 1.0\ncomment {_OBJ_HEADER}\nelement vertex {len(vertices)}\n"
              f"property float x\nproperty float y\nproperty float z\nelement face {len(faces)}\n"
              f"property list uchar int vertex_indices\nend_header\n")
    records = np.empty(len(faces), dtype=[("count", "u1"), ("indices", "<i4", (3,))])
    records["count"] = 3
    records["indices"] = faces
    return header.encode("ascii") + vertices.tobytes() + records.tobytes()


def mesh_writer(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> Callable[[Path], object]:
    """``write(tmp)`` of a triangle mesh in the format of ``path``'s suffix (:data:`MESH_FORMATS`: Wavefront
    ``.obj``, binary ``.ply`` (:func:`ply_bytes`), binary glTF ``.glb``): ``vertices (V, 3)`` as given (metres,
    camera frame: x right, y down, z forward — not glTF's y-up convention), ``faces (F, 3)`` 0-based."""
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in MESH_FORMATS:
        raise ValueError(f"{path}: mesh format must be one of {', '.join(MESH_FORMATS)} (by the suffix)")
    if kind == "ply":
        return bytes_writer(ply_bytes(vertices, faces))
    import trimesh  # only when writing .obj or .glb meshes

    mesh = trimesh.Trimesh(np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64), process=False)
    options = {"header": _OBJ_HEADER, "include_normals": False} if kind == "obj" else {}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            mesh.export(handle, file_type=kind, **options)

    return write


def save_mesh(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """Write a triangle mesh atomically (:func:`mesh_writer`); returns ``path``."""
    return write_with(path, mesh_writer(path, vertices, faces))


def _earlier_set(out: Path, name: str) -> list[Path]:
    """The files of an earlier result set of image ``name`` in ``out``: its parameters, the meshes of the
    people its parameters list (any mesh format), its overlay."""
    params = out / f"{name}_params.npz"
    people: list[int] = []
    if params.is_file():
        try:
            with np.load(params, allow_pickle=False) as data:
                people = data["person_ids"].tolist() if "person_ids" in data.files else []
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            pass
    meshes = [out / f"{name}_{person}.{kind}" for person in people for kind in MESH_FORMATS]
    return [path for path in (params, *meshes, out / f"{name}_overlay.png") if path.is_file()]


def write_fit_set(out: Path, name: str, arrays: dict[str, np.ndarray], meshes: dict[int, np.ndarray],
                  faces: np.ndarray, mesh_format: str, overlay: np.ndarray | None = None) -> list[Path]:
    """One image's results in ``out``, replaced together (:func:`hmr_flow.files.write_set`): ``<name>_params.npz``
    (``arrays``), ``<name>_<person>.<mesh_format>`` per person (``meshes``: person id → vertices ``(V, 3)``)
    and ``<name>_overlay.png`` (``overlay``, if given). A failure leaves the earlier set of ``name`` whole; on
    success none of its files is left beside the new ones (a person no longer there, an old overlay)."""
    writes = {out / f"{name}_params.npz": npz_writer(arrays)}
    for person, vertices in meshes.items():
        path = out / f"{name}_{person}.{mesh_format}"
        writes[path] = mesh_writer(path, vertices, faces)
    if overlay is not None:
        writes[out / f"{name}_overlay.png"] = image_writer(".png", overlay)
    return write_set(writes, stale=_earlier_set(out, name))


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
