"""Pose-prior benchmark on the validation subjects: flow vs continuous flow (CNF) vs GMM, and zuko's NSF
trained on the same split.

Figures: held-out NLL (nats per pose, same space for every prior: canonical axis-angle of the modelled
joints) as mean, median and worst pose, and the number of held-out poses below −10⁴ nats; samples'
diversity (APD, mm) and distance to the nearest training pose (mm, memorisation check; held-out real
poses as reference); scoring and sampling throughput (poses/s, batches of 1024, CPU); for the CNF the
function evaluations of its ODE solves (every pose of a batch takes part in each) and the error of its
fitting loss (fixed-step solver) against its scored density on the held-out poses.

Peer: zuko's neural spline flow (``zuko.flows.NSF``: 3 autoregressive rational-quadratic spline
transforms, hidden 256 × 2), trained here for ``--zuko-steps`` Adam steps (lr 10⁻³, batch 512) on the
training subjects' frames in the shipped flow's model coordinates, standardised (the affine map's
log-Jacobian is added back); skipped when zuko is not installed (``pip install -e ".[bench]"``).

    python bench/prior.py [--data data/mocap/poses.npz] [--samples 500] [--zuko-steps 4000] [--out bench_prior.json]
    python bench/prior.py --priors flow cnf --zuko-steps 0      # a subset of the priors
"""

from __future__ import annotations

import argparse
import sys
import json
import time
from pathlib import Path

import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's data_tools (not installed)
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


def held_out_figures(log_prob: torch.Tensor) -> dict:
    """Mean, median and worst NLL (nats) of held-out log-likelihoods ``(N,)``, and how many are below −10⁴."""
    return {"val_nll_nats": -log_prob.mean().item(), "val_median_nll_nats": -log_prob.median().item(),
            "worst_nll_nats": -log_prob.min().item(), "below_minus_1e4": int((log_prob < -1e4).sum())}


@torch.no_grad()
def throughput(prior, poses: torch.Tensor, repeats: int = 5) -> tuple[float, float]:
    """Poses per second of ``prior.score`` and of ``prior.sample`` on batches of 1024."""
    batch = poses[:1024]
    prior.score(batch)
    started = time.perf_counter()
    for _ in range(repeats):
        prior.score(batch)
    score = repeats * len(batch) / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(repeats):
        prior.sample(len(batch))
    return score, repeats * len(batch) / (time.perf_counter() - started)


@torch.no_grad()
def cnf_figures(prior, poses: torch.Tensor) -> dict:
    """The CNF's function evaluations per scoring solve (batches of 1024 held-out poses) and per sampling solve
    (1024 poses), and the error of its fitting loss against ``-log_prob`` (nats, median and 99th percentile of
    ``|difference|`` over ``poses``)."""
    score_nfe, errors = [], []
    for chunk in poses.split(1024):
        log_prob = prior.log_prob(chunk)
        score_nfe.append(prior.cnf.last_nfe)
        errors.append((prior.loss(chunk) + log_prob).abs())
    prior.sample(1024)
    errors = torch.cat(errors)
    return {"nfe_score": sum(score_nfe) / len(score_nfe), "nfe_sample": prior.cnf.last_nfe,
            "fit_steps": prior.fit_solver.steps, "fit_error_median_nats": errors.median().item(),
            "fit_error_p99_nats": errors.quantile(0.99).item()}


class ZukoNSF:
    """zuko's NSF over the flow prior's model coordinates (see the module docstring), as a scorer."""

    def __init__(self, space, train_axis_angle: torch.Tensor, steps: int, seed: int) -> None:
        import zuko

        self.space = space
        with torch.no_grad():
            x, _ = space.encode(train_axis_angle)
        self.mean, self.std = x.mean(0), x.std(0)
        torch.manual_seed(seed)
        self.flow = zuko.flows.NSF(x.shape[1], transforms=3, hidden_features=(256, 256))
        optimizer = torch.optim.Adam(self.flow.parameters(), lr=1e-3)
        standard = (x - self.mean) / self.std
        for _ in tqdm(range(steps), desc="zuko NSF", unit="step"):
            batch = standard[torch.randint(len(standard), (512,))]
            loss = -self.flow().log_prob(batch).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    @torch.no_grad()
    def log_prob(self, body_pose: torch.Tensor) -> torch.Tensor:
        x, log_jacobian = self.space.encode(body_pose.reshape(len(body_pose), -1, 3))
        standard = (x - self.mean) / self.std
        return self.flow().log_prob(standard) - self.std.log().sum() + log_jacobian


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/mocap/poses.npz"))
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--zuko-steps", type=int, default=4000, help="training steps of the zuko NSF peer (0: skip it)")
    parser.add_argument("--priors", nargs="+", choices=("flow", "cnf", "gmm"), default=["flow", "cnf", "gmm"],
                        help="shipped priors to measure (the margin line needs flow and gmm)")
    parser.add_argument("--val-subjects", type=lambda text: tuple(int(s) for s in text.split(",")),
                        default=DEFAULT_VAL_SUBJECTS, help="held-out subjects, comma-separated (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    split = load_split(args.data, args.val_subjects)
    train, val = split.train.flatten(1), split.val.flatten(1)
    priors = {kind: load_prior(kind) for kind in args.priors}
    if len({prior.space.joint_names for prior in priors.values()}) > 1:
        raise SystemExit(f"the priors {args.priors} model different joints: their NLLs are not comparable")
    model = TargetSkeleton(BodyModel().rest_joints().numpy(), "open body model, mean shape")
    generator = torch.Generator().manual_seed(args.seed)
    train_joints = pelvis_relative_joints(model, train)
    val_pick = torch.randperm(len(val), generator=generator)[: args.samples]
    val_joints = pelvis_relative_joints(model, val[val_pick])
    results = {"data": str(args.data), "val_frames": len(val), "train_frames": len(train), "samples": args.samples,
               "reference_held_out": {"apd_mm": 1000 * apd(val_joints),
                                      "nearest_train_mm": 1000 * nearest_distance(val_joints, train_joints, 8).median().item()}}
    for kind, prior in priors.items():
        torch.manual_seed(args.seed)
        with torch.no_grad():
            log_prob = torch.cat([prior.log_prob(chunk) for chunk in val.split(4096)])
        sample_joints = pelvis_relative_joints(model, prior.sample(args.samples))
        score_rate, sample_rate = throughput(prior, val)
        results[kind] = {
            **held_out_figures(log_prob),
            "apd_mm": 1000 * apd(sample_joints),
            "nearest_train_mm": 1000 * nearest_distance(sample_joints, train_joints, 8).median().item(),
            "score_poses_per_s": score_rate, "sample_poses_per_s": sample_rate,
        }
        if kind == "cnf":
            results[kind].update(cnf_figures(prior, val))
    if args.zuko_steps > 0:
        try:
            peer = ZukoNSF(next(iter(priors.values())).space, split.train, args.zuko_steps, args.seed)
        except ImportError as err:
            print(f"zuko NSF: skipped ({err}); install the extra with pip install -e '.[bench]'")
        else:
            log_prob = torch.cat([peer.log_prob(chunk) for chunk in val.split(4096)])
            results["zuko_nsf"] = {**held_out_figures(log_prob), "steps": args.zuko_steps}
    print(f"threads: {torch.get_num_threads()}; held-out frames {len(val)}; {args.samples} samples per prior")
    print(f"{'':10}{'NLL mean':>10}{'median':>9}{'worst':>9}{'< -1e4':>8}{'APD (mm)':>10}"
          f"{'nearest train (mm, median)':>28}{'score poses/s':>15}{'sample poses/s':>16}")
    for kind in ("flow", "cnf", "gmm", "zuko_nsf"):
        if kind not in results:
            continue
        r = results[kind]
        extra = (f"{r['apd_mm']:10.1f}{r['nearest_train_mm']:28.1f}{r['score_poses_per_s']:15.0f}"
                 f"{r['sample_poses_per_s']:16.0f}" if "apd_mm" in r
                 else f"{'':10}{'':28}{'':15}{'':16}  ({r['steps']} Adam steps)")
        print(f"{kind:10}{r['val_nll_nats']:10.2f}{r['val_median_nll_nats']:9.2f}{r['worst_nll_nats']:9.1f}"
              f"{r['below_minus_1e4']:8d}{extra}")
    ref = results["reference_held_out"]
    print(f"{'held-out':10}{'':36}{ref['apd_mm']:10.1f}{ref['nearest_train_mm']:28.1f}")
    if "cnf" in results:
        r = results["cnf"]
        print(f"cnf: {r['nfe_score']:.0f} function evaluations per scoring solve (dopri5, batches of 1024), "
              f"{r['nfe_sample']} per sampling solve; fitting loss ({r['fit_steps']} RK4 steps) vs scored density: "
              f"|error| median {r['fit_error_median_nats']:.3f}, 99th percentile {r['fit_error_p99_nats']:.3f} nats")
    for a, b in (("flow", "gmm"), ("cnf", "gmm"), ("cnf", "flow")):
        if a in results and b in results:
            for statistic in ("val_nll_nats", "val_median_nll_nats"):
                results[f"margin_{a}_{b}_{statistic}"] = results[b][statistic] - results[a][statistic]
            print(f"{a} beats {b} by {results[f'margin_{a}_{b}_val_nll_nats']:.2f} nats per pose on the mean NLL, "
                  f"{results[f'margin_{a}_{b}_val_median_nll_nats']:.2f} on the median")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
