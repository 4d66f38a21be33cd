"""Load and validate an SMPL-format model file (the open ``.npz`` or an official ``.npz``/``.pkl``).

Required arrays (V vertices, F faces, P ≥ 1 shape components):
``v_template (V, 3)``, ``f (F, 3)``, ``J_regressor (24, V)``, ``weights (V, 24)``,
``kintree_table (2, 24)``, ``shapedirs (V, 3, P)``, ``posedirs (V, 3, 207)`` (or ``(3V, 207)``).
Optional: ``vertex_ids_names``/``vertex_ids_values`` (keypoint vertices, smplx key names),
``meta_json`` (build description of the open model).

**Unpacked copies.** Inflating a compressed ``.npz`` costs every process that loads it: the open model's
``posedirs`` alone (33 MB of zeros, it has no pose correctives) take 0.2–0.4 s, a quarter of a one-person
fit's start-up beyond torch. So the first load of a compressed ``.npz`` in the user cache (the open model;
other files are left alone) also writes its arrays uncompressed under ``<cache_dir>/unpacked/``
(:func:`unpacked_path`: the name carries the file's size and modification time, so a changed file never
reuses a stale copy), and later loads read that copy; where it cannot be written, the file is read as before.
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from hmr_flow.body.keypoints import VERTEX_KEYPOINTS
from hmr_flow.body.paths import cache_dir
from hmr_flow.body.skeleton import NUM_JOINTS, PARENTS
from hmr_flow.body.smpl_pickle import load_smpl_pickle
from hmr_flow.files import save_npz
from hmr_flow.validation import UserInputError

log = logging.getLogger(__name__)

SMPL_NUM_VERTICES = 6890


class BodyModelFileError(UserInputError):
    """A model file is missing, corrupt or has arrays of the wrong shape/content."""


def unpacked_path(path: Path) -> Path:
    """Where the uncompressed copy of the model file ``path`` lives (see the module docstring)."""
    stat = path.stat()
    return cache_dir() / "unpacked" / f"{path.stem}-{stat.st_size}-{stat.st_mtime_ns}.npz"


def _read_npz(path: Path) -> dict[str, Any]:
    """The arrays of ``path``, from its uncompressed copy when there is one (made here for a compressed file in
    the user cache)."""
    copy = unpacked_path(path) if path.resolve().parent == cache_dir().resolve() else None
    source = copy if copy is not None and copy.is_file() else path
    try:
        with np.load(source, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
            compressed = any(info.compress_type != zipfile.ZIP_STORED for info in data.zip.infolist())
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise BodyModelFileError(f"{source}: corrupt or unreadable .npz ({err})") from None
    if copy is not None and source == path and compressed:
        try:
            save_npz(arrays, copy)  # creates the folder
        except OSError as err:  # a read-only cache: every load inflates the file, as before
            log.debug("no unpacked copy of %s: %s", path, err)
    return arrays


def _read_raw(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise BodyModelFileError(f"{path}: model file not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _read_npz(path)
    if suffix == ".pkl":
        try:
            return load_smpl_pickle(path)
        except ValueError as err:
            raise BodyModelFileError(str(err)) from None
    raise BodyModelFileError(f"{path}: unsupported model file type {suffix!r} (expected .npz or .pkl)")


def _array(raw: dict[str, Any], key: str, path: Path) -> np.ndarray:
    if key not in raw:
        raise BodyModelFileError(f"{path}: missing array {key!r}")
    value = raw[key]
    if hasattr(value, "toarray"):
        value = value.toarray()
    try:
        array = np.asarray(value)
    except Exception as err:
        raise BodyModelFileError(f"{path}: {key!r} is not an array ({err})") from None
    if array.dtype.kind not in "fiu":
        raise BodyModelFileError(f"{path}: {key!r} has non-numeric dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise BodyModelFileError(f"{path}: {key!r} contains NaN or infinite values")
    return array


def _expect(array: np.ndarray, shape: tuple, key: str, path: Path) -> None:
    ok = array.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, array.shape))
    if not ok:
        text = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise BodyModelFileError(f"{path}: {key!r} has shape {array.shape}, expected {text}")


def _vertex_ids(raw: dict[str, Any], num_vertices: int, path: Path) -> dict[str, int]:
    if "vertex_ids_names" in raw and "vertex_ids_values" in raw:
        ids = {str(n): int(v) for n, v in zip(raw["vertex_ids_names"], raw["vertex_ids_values"])}
    elif num_vertices == SMPL_NUM_VERTICES:
        from smplx.vertex_ids import vertex_ids as smplx_vertex_ids

        ids = dict(smplx_vertex_ids["smplh"])
    else:
        raise BodyModelFileError(
            f"{path}: no keypoint vertex ids stored and the mesh has {num_vertices} vertices "
            f"(not SMPL's {SMPL_NUM_VERTICES}), so nose/eyes/ears/toes/heels cannot be located"
        )
    missing = [k for k in VERTEX_KEYPOINTS if k not in ids]
    if missing:
        raise BodyModelFileError(f"{path}: keypoint vertex ids missing for {missing}")
    bad = {k: ids[k] for k in VERTEX_KEYPOINTS if not 0 <= ids[k] < num_vertices}
    if bad:
        raise BodyModelFileError(f"{path}: keypoint vertex ids out of range [0, {num_vertices}): {bad}")
    return {k: ids[k] for k in VERTEX_KEYPOINTS}


def load_model_file(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, int], dict[str, Any]]:
    """Read and validate a model file.

    Returns:
        ``(arrays, vertex_ids, meta)``: arrays as listed in the module docstring (``J_regressor``
        dense, ``posedirs`` as ``(V, 3, 207)``, float arrays float64/float32 as stored), the 11
        keypoint vertex ids keyed by smplx names, and the build metadata (empty for official files).

    Raises:
        BodyModelFileError: naming the file and the problem.
    """
    path = Path(path)
    raw = _read_raw(path)
    v_template = _array(raw, "v_template", path)
    _expect(v_template, (None, 3), "v_template", path)
    num_vertices = v_template.shape[0]
    faces = _array(raw, "f", path)
    _expect(faces, (None, 3), "f", path)
    if faces.min() < 0 or faces.max() >= num_vertices:
        raise BodyModelFileError(f"{path}: 'f' indexes vertices outside [0, {num_vertices})")
    regressor = _array(raw, "J_regressor", path)
    _expect(regressor, (NUM_JOINTS, num_vertices), "J_regressor", path)
    weights = _array(raw, "weights", path)
    _expect(weights, (num_vertices, NUM_JOINTS), "weights", path)
    kintree = _array(raw, "kintree_table", path)
    _expect(kintree, (2, NUM_JOINTS), "kintree_table", path)
    parents = [int(p) if p < NUM_JOINTS else -1 for p in kintree[0].astype(np.int64)]
    parents[0] = -1
    if tuple(parents) != PARENTS:
        raise BodyModelFileError(f"{path}: kintree_table parents {parents} differ from SMPL's {list(PARENTS)}")
    shapedirs = _array(raw, "shapedirs", path)
    _expect(shapedirs, (num_vertices, 3, None), "shapedirs", path)
    posedirs = _array(raw, "posedirs", path)
    if posedirs.shape == (num_vertices * 3, 207):
        posedirs = posedirs.reshape(num_vertices, 3, 207)
    _expect(posedirs, (num_vertices, 3, 207), "posedirs", path)
    arrays = {
        "v_template": v_template,
        "f": faces.astype(np.int64),
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": np.stack([np.array(parents), np.arange(NUM_JOINTS)]).astype(np.int64),
        "shapedirs": shapedirs,
        "posedirs": posedirs,
    }
    meta: dict[str, Any] = {}
    if "meta_json" in raw:
        try:
            meta = json.loads(str(raw["meta_json"]))
        except json.JSONDecodeError as err:
            raise BodyModelFileError(f"{path}: corrupt 'meta_json' ({err})") from None
    return arrays, _vertex_ids(raw, num_vertices, path), meta
