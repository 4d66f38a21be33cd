"""Make ``hmr_flow/assets/demo_poses.npz``: a few held-out real poses the demo ships with.

    python -m data_tools.demo_assets --out hmr_flow/assets/demo_poses.npz

Source: the mocap pose file built from the shared CMU data (``python -m data_tools mocap build`` →
``data/mocap/poses.npz`` and ``split.npz``). Only CMU frames of the **validation subjects** (``split.npz``
``val``) are used, so the shipped priors and regressor never trained on them, and the poses ship under CMU's
terms alone (HDM05's validation actor is left out: its frames are CC BY-SA 3.0). Licence: CMU Graphics Lab
Motion Capture Database (mocap.cs.cmu.edu) — free for research and for inclusion in products, not to be
resold, even in converted form. "The data used in this project was obtained from mocap.cs.cmu.edu. The
database was created with funding from NSF EIA-0196217."

Selection (deterministic): every validation frame is posed on the open body model (mean shape), turned so
the body faces +Z with Y up and centred on the pelvis, and labelled in plain words from its joint geometry
(:func:`describe`: standing, stride, arms raised, crouch, leg raised). The ``count`` poses are spread over
the labels; within a label, k-means (fixed seed) picks the frames nearest its cluster centres, so the poses
are varied yet typical (never an outlier such as a mocap glitch).

Written arrays (``N = count``): ``body_pose (N, 69)`` axis-angle, ``global_orient (N, 3)`` axis-angle in
the mocap world (Y up), ``betas (N, 10)`` the clip's fitted shape, ``clip_names (N,)``, ``labels (N,)``,
``subject (N,)``, ``row (N,)`` (row in the pose file), ``source`` and ``licence`` (text).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from data_tools.mocap.convert import HDM05_SUBJECTS
from data_tools.mocap.dataset import load_poses
from hmr_flow.files import save_npz
from hmr_flow.validation import UserInputError

SOURCE = "CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu), validation subjects of data/mocap/poses.npz"
LICENCE = (
    "Free for research and for inclusion in products, not to be resold, even in converted form. "
    "The data used in this project was obtained from mocap.cs.cmu.edu. "
    "The database was created with funding from NSF EIA-0196217."
)
# Joint indices (hmr_flow.body.skeleton.JOINT_NAMES).
_PELVIS, _L_HIP, _R_HIP, _HEAD = 0, 1, 2, 15
_ANKLES, _FEET, _WRISTS = (7, 8), (10, 11), (20, 21)


def load_validation(poses_path: str | Path, split_path: str | Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The pose file's arrays and its CMU validation rows ``(M,)`` (HDM05 frames left out, see the module
    docstring); errors name the file and the problem."""
    arrays = load_poses(poses_path)
    if "betas" not in arrays:
        raise UserInputError(f"{poses_path}: no 'betas' array (rebuild it with 'python -m data_tools mocap build')")
    split_path = Path(split_path)
    if not split_path.is_file():
        raise FileNotFoundError(f"split file not found: {split_path}")
    with np.load(split_path) as split:
        if "val" not in split.files:
            raise UserInputError(f"{split_path}: no 'val' index array")
        rows = np.asarray(split["val"], dtype=np.int64)
    n = len(arrays["body_pose"])
    if rows.ndim != 1 or rows.size == 0 or rows.min() < 0 or rows.max() >= n:
        raise UserInputError(f"{split_path}: 'val' must be a non-empty list of rows of the {n}-frame pose file")
    rows = rows[~np.isin(arrays["subject"][rows], list(HDM05_SUBJECTS.values()))]
    if rows.size == 0:
        raise UserInputError(f"{split_path}: no CMU frames among the validation rows")
    return arrays, rows


def canonical_joints(model, global_orient: np.ndarray, body_pose: np.ndarray, batch: int = 2048) -> np.ndarray:
    """Joints ``(M, 24, 3)`` metres on the mean shape, pelvis at the origin, Y up, the hips' normal turned to +Z."""
    out = []
    with torch.no_grad():
        for start in range(0, len(body_pose), batch):
            go = torch.as_tensor(global_orient[start : start + batch], dtype=torch.float32)
            bp = torch.as_tensor(body_pose[start : start + batch], dtype=torch.float32)
            out.append(model(global_orient=go, body_pose=bp).joints.numpy().astype(np.float64))
    joints = np.concatenate(out)
    joints -= joints[:, _PELVIS : _PELVIS + 1]
    across = joints[:, _L_HIP] - joints[:, _R_HIP]
    yaw = np.arctan2(across[:, 2], across[:, 0])  # rotation about +Y by `yaw` turns `across` onto +X
    cos, sin = np.cos(yaw), np.sin(yaw)
    rotation = np.zeros((len(joints), 3, 3))
    rotation[:, 0, 0], rotation[:, 0, 2], rotation[:, 1, 1] = cos, sin, 1.0
    rotation[:, 2, 0], rotation[:, 2, 2] = -sin, cos
    return np.einsum("nij,nkj->nki", rotation, joints)


def describe(joints: np.ndarray, rest_pelvis_height: float) -> str:
    """A plain-words label for canonical joints ``(24, 3)`` (:func:`canonical_joints`), first rule that holds:
    arms raised (a wrist above the head), crouch (pelvis below 75 % of its standing height over the lowest
    foot), leg raised (one ankle ≥ 25 cm above the other), stride (ankles ≥ 40 cm apart horizontally),
    else standing."""
    floor = joints[list(_ANKLES + _FEET), 1].min()
    ankles = joints[list(_ANKLES)]
    if joints[list(_WRISTS), 1].max() > joints[_HEAD, 1]:
        return "arms raised"
    if joints[_PELVIS, 1] - floor < 0.75 * rest_pelvis_height:
        return "crouch"
    if abs(ankles[0, 1] - ankles[1, 1]) >= 0.25:
        return "leg raised"
    if np.linalg.norm(ankles[0, [0, 2]] - ankles[1, [0, 2]]) >= 0.40:
        return "stride"
    return "standing"


#: Label order of the selection (:func:`select_poses` takes them round-robin).
LABELS = ("standing", "stride", "arms raised", "crouch", "leg raised")


def select_poses(joints: np.ndarray, labels: list[str], count: int, seed: int = 0) -> np.ndarray:
    """Indices ``(count,)`` into ``joints (M, 24, 3)``, spread over the :data:`LABELS` present in
    ``labels`` (round-robin, in that order); within a label, the members nearest the centres of a k-means
    (fixed seed) of its joint sets — typical poses of the label, not outliers."""
    from sklearn.cluster import KMeans

    labels = np.asarray(labels)
    present = [label for label in LABELS if (labels == label).any()]
    if not 1 <= count <= len(joints) or not present:
        raise ValueError(f"count: expected 1..{len(joints)} with labelled poses, got {count}")
    share = {label: 0 for label in present}
    for i in range(count):
        share[present[i % len(present)]] += 1
    flat = joints.reshape(len(joints), -1)
    chosen = []
    for label in present:
        members = np.flatnonzero(labels == label)
        k = min(share[label], len(members))
        centres = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(flat[members]).cluster_centers_
        chosen += [int(members[np.argmin(((flat[members] - c) ** 2).sum(1))]) for c in centres]
    return np.asarray(chosen)


def make_demo_poses(poses_path: str | Path, split_path: str | Path, count: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """The arrays of ``demo_poses.npz`` (see the module docstring)."""
    from hmr_flow.body import BodyModel

    arrays, rows = load_validation(poses_path, split_path)
    model = BodyModel()
    joints = canonical_joints(model, arrays["global_orient"][rows], arrays["body_pose"][rows])
    rest = model.rest_joints().numpy()
    rest_pelvis_height = float(rest[_PELVIS, 1] - rest[list(_ANKLES + _FEET), 1].min())
    labels = [describe(j, rest_pelvis_height) for j in joints]
    picked = select_poses(joints, labels, count, seed)
    chosen = rows[picked]
    return {
        "body_pose": arrays["body_pose"][chosen].astype(np.float32),
        "global_orient": arrays["global_orient"][chosen].astype(np.float32),
        "betas": arrays["betas"][chosen].astype(np.float32),
        "clip_names": arrays["clip_names"][arrays["clip"][chosen]],
        "labels": np.array([labels[i] for i in picked]),
        "subject": arrays["subject"][chosen].astype(np.int32),
        "row": chosen.astype(np.int64),
        "source": np.array(SOURCE),
        "licence": np.array(LICENCE),
    }


def asset_parser(prog: str, description: str, example: str) -> argparse.ArgumentParser:
    """The options of the demo-asset makers: ``--out`` (e.g. ``example``), ``--poses``, ``--split``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--out", type=Path, required=True, help=f"file to write, e.g. {example}")
    parser.add_argument("--poses", type=Path, default=Path("data/mocap/poses.npz"), help="mocap pose file")
    parser.add_argument("--split", type=Path, default=Path("data/mocap/split.npz"), help="its subject split")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = asset_parser("python -m data_tools.demo_assets", __doc__.splitlines()[0], "hmr_flow/assets/demo_poses.npz")
    parser.add_argument("--count", type=int, default=8, help="number of poses (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="k-means seed (default 0)")
    args = parser.parse_args(argv)
    try:
        arrays = make_demo_poses(args.poses, args.split, args.count, args.seed)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    save_npz(arrays, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KB):")
    for label, clip, row in zip(arrays["labels"], arrays["clip_names"], arrays["row"]):
        print(f"  {label:12s} {clip} row {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
