"""Pose-prior benchmark on the validation subjects: flow vs GMM.

Figures: held-out NLL (nats per pose, same space for both priors), samples' diversity (APD, mm) and
distance to the nearest training pose (mm, memorisation check; held-out real poses as reference),
scoring throughput (poses/s, batch 1024, CPU).

    python bench/prior.py [--data data/mocap/poses.npz] [--samples 500] [--out bench_prior.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from data_tools.mocap.skeleton import TargetSkeleton
from hmr_flow.body import BodyModel
from hmr_flow.geometry.rotations import axis_angle_to_matrix
from hmr_flow.metrics import apd, nearest_distance
from hmr_flow.prior import load_prior
from hmr_flow.prior.train import DEFAULT_VAL_SUBJECTS, load_split


@torch.no_grad()
def pelvis_relative_joints(skeleton: TargetSkeleton, body_pose: torch.Tensor) -> torch.Tensor:
    """``(N, 69)`` → joints ``(N, 24, 3)`` metres, zero global orientation, pelvis at the origin.

    SMPL's posed joints are the forward kinematics of its shaped rest joints, so the skeleton of the
    open model's mean shape gives them exactly, without skinning the mesh.
    """
    rotations = axis_angle_to_matrix(torch.cat([torch.zeros(len(body_pose), 3), body_pose.float()], 1).reshape(-1, 24, 3))
    joints = torch.from_numpy(skeleton.forward_kinematics(rotations.double().numpy())).float()
    return joints - joints[:, :1]


@torch.no_grad()
def throughput(prior, poses: torch.Tensor, repeats: int = 5) -> float:
    """Poses per second of ``prior.score`` on batches of 1024."""
    batch = poses[:1024]
    prior.score(batch)
    started = time.perf_counter()
    for _ in range(repeats):
        prior.score(batch)
    return repeats * len(batch) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/mocap/poses.npz"))
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    split = load_split(args.data, DEFAULT_VAL_SUBJECTS)
    train, val = split.train.flatten(1), split.val.flatten(1)
    priors = {kind: load_prior(kind) for kind in ("flow", "gmm")}
    if priors["flow"].space.joint_names != priors["gmm"].space.joint_names:
        raise SystemExit("the flow and GMM model different joints: their NLLs are not comparable")
    model = TargetSkeleton(BodyModel().rest_joints().numpy(), "open body model, mean shape")
    generator = torch.Generator().manual_seed(args.seed)
    train_joints = pelvis_relative_joints(model, train)
    val_pick = torch.randperm(len(val), generator=generator)[: args.samples]
    val_joints = pelvis_relative_joints(model, val[val_pick])
    results = {"data": str(args.data), "val_frames": len(val), "train_frames": len(train), "samples": args.samples,
               "reference_held_out": {"apd_mm": 1000 * apd(val_joints),
                                      "nearest_train_mm": 1000 * nearest_distance(val_joints, train_joints, 8).median().item()}}  # fmt: skip
    for kind, prior in priors.items():
        torch.manual_seed(args.seed)
        with torch.no_grad():
            val_nll = torch.cat([-prior.log_prob(chunk) for chunk in val.split(4096)]).mean().item()
        sample_joints = pelvis_relative_joints(model, prior.sample(args.samples))
        results[kind] = {
            "val_nll_nats": val_nll,
            "apd_mm": 1000 * apd(sample_joints),
            "nearest_train_mm": 1000 * nearest_distance(sample_joints, train_joints, 8).median().item(),
            "score_poses_per_s": throughput(prior, val),
        }
    results["nll_margin_nats"] = results["gmm"]["val_nll_nats"] - results["flow"]["val_nll_nats"]
    print(f"threads: {torch.get_num_threads()}; held-out frames {len(val)}; {args.samples} samples per prior")
    print(f"{'':10}{'val NLL (nats)':>16}{'APD (mm)':>11}{'nearest train (mm, median)':>28}{'score poses/s':>15}")
    for kind in ("flow", "gmm"):
        r = results[kind]
        print(f"{kind:10}{r['val_nll_nats']:16.2f}{r['apd_mm']:11.1f}{r['nearest_train_mm']:28.1f}{r['score_poses_per_s']:15.0f}")
    ref = results["reference_held_out"]
    print(f"{'held-out':10}{'':16}{ref['apd_mm']:11.1f}{ref['nearest_train_mm']:28.1f}")
    print(f"flow beats GMM by {results['nll_margin_nats']:.2f} nats per pose")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
