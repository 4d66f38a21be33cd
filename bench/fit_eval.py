"""Fitting benchmark: recover 3D joints from noisy, partly hidden COCO-17 keypoints of real poses.

Protocol (seeded): poses of the mocap **validation subjects** (``data/mocap``), random shapes
(β ~ N(0, 0.8²)), each person facing the camera with a random yaw (±60°) and pitch (±10°), 3–8 m
away in a 1000 × 1000 image with f = sqrt(W² + H²); COCO-17 keypoints are projected, Gaussian
noise σ = 5 px is added and 30 % of each person's keypoints are hidden (half of the people lose a
whole forearm or shin first). The same inputs and initial hypotheses are fitted with each prior;
MPJPE (pelvis-aligned) and PA-MPJPE over the 24 SMPL joints (mm) and persons/s are reported.

Run: ``python bench/fit_eval.py [--persons 96] [--priors flow gmm none] [--json out.json]``
(``--flow-path``/``--gmm-path`` evaluate other weights than the shipped ones).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's data_tools (not installed)
from data_tools.mocap.dataset import load_poses
from hmr_flow.body import BodyModel, KeypointBody
from hmr_flow.fitting import SMPLIFY_STAGES, FitConfig, default_initialisation, fit_people
from hmr_flow.fitting.initialisation import FACING_CAMERA
from hmr_flow.geometry import axis_angle_to_matrix, default_focal, matrix_to_axis_angle, project_points
from hmr_flow.metrics import mpjpe, pa_mpjpe

IMAGE = 1000
#: Limbs that are sometimes hidden as a whole (COCO-17 indices: elbow+wrist, knee+ankle).
LIMBS = ((7, 9), (8, 10), (13, 15), (14, 16))


def make_scenes(poses: dict, val_index: np.ndarray, persons: int, noise_px: float, hidden: float,
                body: KeypointBody, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """Ground truth and observed keypoints ``(P, 17, 3)`` for ``persons`` random validation poses."""
    chosen = rng.choice(val_index, size=persons, replace=False)
    body_pose = torch.from_numpy(poses["body_pose"][chosen]).float()
    yaw = torch.from_numpy(rng.uniform(-math.pi / 3, math.pi / 3, persons)).float()
    pitch = torch.from_numpy(rng.uniform(-math.pi / 18, math.pi / 18, persons)).float()
    turn = axis_angle_to_matrix(torch.stack([pitch, torch.zeros_like(yaw), torch.zeros_like(yaw)], 1)) @ \
        axis_angle_to_matrix(torch.stack([torch.zeros_like(yaw), yaw, torch.zeros_like(yaw)], 1))
    global_orient = matrix_to_axis_angle(axis_angle_to_matrix(FACING_CAMERA) @ turn)
    betas = torch.from_numpy(rng.normal(0.0, 0.8, (persons, body.num_betas))).float()
    depth = torch.from_numpy(rng.uniform(3.0, 8.0, persons)).float()
    lateral = torch.from_numpy(rng.uniform(-0.15, 0.15, (persons, 2))).float() * depth[:, None]
    transl = torch.cat([lateral, depth[:, None]], 1)
    rotmats = torch.cat([axis_angle_to_matrix(global_orient)[:, None], axis_angle_to_matrix(body_pose.view(-1, 23, 3))], 1)
    with torch.no_grad():
        sources = body(rotmats, betas, transl)
    focal = default_focal(IMAGE, IMAGE)
    uv = project_points(torch.einsum("ks,bsc->bkc", body.coco17_matrix, sources), focal, (IMAGE / 2, IMAGE / 2))
    uv = uv + noise_px * torch.from_numpy(rng.normal(size=uv.shape)).float()
    visible = np.ones((persons, 17), dtype=bool)
    count = round(hidden * 17)
    for p in range(persons):
        if rng.random() < 0.5:
            visible[p, list(LIMBS[rng.integers(len(LIMBS))])] = False
        others = np.flatnonzero(visible[p])
        extra = count - (17 - len(others))
        if extra > 0:
            visible[p, rng.choice(others, size=extra, replace=False)] = False
    keypoints = torch.cat([uv, torch.from_numpy(visible).float()[..., None]], -1)
    return {"keypoints": keypoints, "joints": sources[:, :24], "focal": torch.tensor(focal)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=Path, default=Path("data/mocap/poses.npz"))
    parser.add_argument("--split", type=Path, default=Path("data/mocap/split.npz"))
    parser.add_argument("--persons", type=int, default=96)
    parser.add_argument("-n", "--hypotheses", type=int, default=2, help="hypotheses per person")
    parser.add_argument("--priors", nargs="+", default=["flow", "gmm", "none"], choices=["flow", "gmm", "none"])
    parser.add_argument("--noise", type=float, default=5.0, help="keypoint noise σ, pixels (1000 px image)")
    parser.add_argument("--hidden", type=float, default=0.3, help="share of keypoints hidden per person")
    parser.add_argument("--flow-path", type=Path, help="flow prior weights (default: shipped)")
    parser.add_argument("--gmm-path", type=Path, help="GMM prior weights (default: shipped)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from hmr_flow.prior import load_prior

    poses = load_poses(args.poses)
    with np.load(args.split) as split:
        val_index = split["val"]
    body = KeypointBody(BodyModel()).to(args.device)
    scenes = make_scenes(poses, val_index, args.persons, args.noise, args.hidden, body.cpu(), np.random.default_rng(args.seed))
    body = body.to(args.device)
    init = default_initialisation(args.persons, args.hypotheses, generator=torch.Generator().manual_seed(args.seed))
    rows = []
    for kind in args.priors:
        try:
            path = {"flow": args.flow_path, "gmm": args.gmm_path}.get(kind)
            prior = load_prior(kind, path, device=args.device)
        except (FileNotFoundError, ValueError, OSError) as err:
            print(f"prior {kind}: not available ({err}); skipped", file=sys.stderr)
            continue
        start = time.perf_counter()
        result = fit_people(body, scenes["keypoints"].to(args.device), "coco17", scenes["focal"], (IMAGE / 2, IMAGE / 2),
                            prior=prior, init=init, config=FitConfig(stages=SMPLIFY_STAGES))
        seconds = time.perf_counter() - start
        joints = result.joints.cpu()
        err = 1000 * mpjpe(joints, scenes["joints"])
        pa_err = 1000 * pa_mpjpe(joints, scenes["joints"])
        rows.append({
            "prior": kind, "persons": args.persons, "hypotheses": args.hypotheses,
            "mpjpe_mm": float(err.mean()), "mpjpe_median_mm": float(err.median()),
            "pa_mpjpe_mm": float(pa_err.mean()), "pa_mpjpe_median_mm": float(pa_err.median()),
            "persons_per_s": args.persons / seconds, "seconds": seconds,
        })
    print(f"\n{args.persons} validation persons, {args.hypotheses} hypotheses each, noise {args.noise} px, "
          f"{100 * args.hidden:.0f} % keypoints hidden, {args.threads} thread(s) on {args.device}")
    print("| prior | MPJPE mm (median) | PA-MPJPE mm (median) | persons/s |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['prior']} | {r['mpjpe_mm']:.1f} ({r['mpjpe_median_mm']:.1f}) | "
              f"{r['pa_mpjpe_mm']:.1f} ({r['pa_mpjpe_median_mm']:.1f}) | {r['persons_per_s']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
