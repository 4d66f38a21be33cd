"""The keypoint-conditioned model on poses of unseen people: its hypotheses, and fits with each prior.

    python bench/hmr_kp_eval.py [--count 1000] [--fit-persons 200] [--priors conditional flow gmm none]

Data (seeded, ``hmr_flow.data.keypoint_pairs``): ``--count`` poses of the mocap **validation subjects**
(``data/mocap``), random betas, random cameras (every yaw, pitch ±30°, roll ±10°, focal ×0.5–2 of
sqrt(W² + H²), the person anywhere in the image, 10 % truncated), COCO-17 keypoints with σ = 5 px
noise and 30 % of each person's keypoints hidden.

1. Hypotheses (``hmr_flow.models.evaluate``): MPJPE (pelvis-aligned) and PA-MPJPE over the 24 SMPL
   joints, mm, of the mode and of the best of 5 and of 25 hypotheses.
2. Fits (``hmr_flow.fitting.fit_people``) of the first ``--fit-persons`` of them, in the full image with
   its true focal, ``--hypotheses`` starting points per person, with each prior: ``conditional``
   (−log p(pose | keypoints) of the model, started from its hypotheses, as ``hmr-flow fit``), ``flow``,
   ``gmm`` and ``none`` (started from facing/away + prior samples, as ``hmr-flow fit --prior flow``),
   and ``flow+regression`` (flow prior started from the model's hypotheses). Persons/s of the whole fit
   (hypotheses included), ``--threads`` torch threads.

``--fit-weights W ...`` instead sweeps the conditional prior's fitting weight (choose it with another
``--seed`` than the one you report).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Subset

from hmr_flow.body import BodyModel, KeypointBody
from hmr_flow.data.keypoint_pairs import BENCHMARK_CORRUPTION, KeypointPairs, PairSet, load_split_poses
from hmr_flow.fitting import FitConfig, fit_people, scaled_config
from hmr_flow.fitting.initialisation import Initialisation
from hmr_flow.metrics import mpjpe, pa_mpjpe
from hmr_flow.models import ConditionalPrior, evaluate, load_model, regress
from hmr_flow.models.checkpoint import DEFAULT_KEYPOINT_WEIGHTS


def model_hypotheses(model, data: dict, n: int, seed: int) -> Initialisation:
    """The model's ``n`` hypotheses (mode first, with betas) for every person, in their full images."""
    orient, pose, betas = [], [], []
    for person in range(len(data["image_focal"])):
        width, height = data["image_size"][person].tolist()
        hyps = regress(model, None, None, n, float(data["image_focal"][person]), data["image_keypoints"][person : person + 1].numpy(),
                       seed=seed + person, image_size=(width, height))  # fmt: skip
        orient.append(hyps.pose[..., :3])
        pose.append(hyps.pose[..., 3:])
        betas.append(hyps.betas)
    return Initialisation(torch.cat(orient), torch.cat(pose), torch.cat(betas))


def fit_errors(body: KeypointBody, data: dict, prior, init: Initialisation | None, hypotheses: int,
               config: FitConfig, seed: int) -> dict[str, float]:  # fmt: skip
    """MPJPE / PA-MPJPE (mm, mean and median) of the fitted joints against the truth."""
    result = fit_people(body, data["image_keypoints"], "coco17", data["image_focal"], data["image_size"] / 2, prior=prior,
                        init=init, num_hypotheses=hypotheses, config=config, progress=False,
                        generator=torch.Generator().manual_seed(seed))  # fmt: skip
    truth = data["joints3d"]
    errors = 1000 * mpjpe(result.joints, truth)
    pa = 1000 * pa_mpjpe(result.joints - result.joints[:, :1], truth - truth[:, :1])
    return {"mpjpe": errors.mean().item(), "mpjpe_median": errors.median().item(), "pa_mpjpe": pa.mean().item(),
            "pa_mpjpe_median": pa.median().item()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=DEFAULT_KEYPOINT_WEIGHTS, help="model (default: shipped keypoint model)")
    parser.add_argument("--poses", type=Path, default=Path("data/mocap/poses.npz"))
    parser.add_argument("--count", type=int, default=1000, help="validation poses for the hypotheses (0: none)")
    parser.add_argument("--n", type=int, default=25, help="hypotheses per person for best-of")
    parser.add_argument("--temperature", type=float, nargs="+", default=[1.0],
                        help="latent scale(s) of the random hypotheses (the mode is unaffected)")
    parser.add_argument("--fit-persons", type=int, default=200, help="people fitted with each prior (0: no fits)")
    parser.add_argument("--priors", nargs="+", default=["conditional", "flow", "flow+regression", "gmm", "none"])
    parser.add_argument("--hypotheses", type=int, default=4, help="starting points per fitted person")
    parser.add_argument("--iterations", type=int, help="optimiser steps per fit (default: the library's 300; "
                        "hmr-flow fit runs 60)")
    parser.add_argument("--fit-weights", type=float, nargs="+", help="sweep the conditional prior's weight instead")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=12345, help="seed of the poses and views")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from hmr_flow.prior import load_prior

    model = load_model(args.weights)
    body = KeypointBody(BodyModel())
    orient, body_pose, _ = load_split_poses(args.poses, "val")
    pairs = KeypointPairs(body, orient, body_pose, model.config.image_size, BENCHMARK_CORRUPTION)
    dataset = PairSet(pairs, max(args.count, args.fit_persons), seed=args.seed)
    figures: dict = {"count": args.count}
    if args.count:
        print(f"{args.count} validation-subject poses, σ = 5 px, 30 % hidden ({args.weights.name}):")
        print("| T | | mode | best of 5 | best of 25 | best 25 / mode | spread visible / hidden mm |\n|---|---|---|---|---|---|---|")
        figures["hypotheses"] = {}
        for temperature in args.temperature:
            h = evaluate(model, body, Subset(dataset, range(args.count)), "cpu", n=args.n, batch_size=100, seed=args.seed, progress=False,
                         temperature=temperature)  # fmt: skip
            figures["hypotheses"][str(temperature)] = h
            for metric in ("pa_mpjpe", "mpjpe"):
                print(f"| {temperature:g} | {metric.upper().replace('_', '-')} mm | {h[f'{metric}_mode']:.1f} | "
                      f"{h[f'{metric}_best5']:.1f} | {h[f'{metric}_best25']:.1f} | "
                      f"{h[f'{metric}_best25'] / h[f'{metric}_mode']:.2f} | "
                      f"{h['diversity_visible_mm']:.0f} / {h['diversity_hidden_mm']:.0f} |")  # fmt: skip
        print(f"NLL of the true pose {h['nll']:.1f} nats; 2D reprojection of the mode {h['reprojection_px']:.2f} px "
              f"({model.config.image_size} px crops)")  # fmt: skip
    if args.fit_persons:
        data = {k: v[: args.fit_persons] for k, v in dataset.data.items()}
        config = scaled_config(args.iterations) if args.iterations else FitConfig()
        runs = [("conditional", w) for w in args.fit_weights] if args.fit_weights else [(p, None) for p in args.priors]
        figures["fits"] = []
        steps = sum(stage.iterations for stage in config.stages)
        print(f"\nfits of {args.fit_persons} people, {args.hypotheses} starting points each, {steps} steps, {args.threads} threads:")
        print("| prior | start | weight | MPJPE mm (median) | PA-MPJPE mm (median) | persons/s |\n|---|---|---|---|---|---|")
        for name, weight in runs:
            started = time.perf_counter()
            from_model = name in ("conditional", "flow+regression")
            init = model_hypotheses(model, data, args.hypotheses, args.seed) if from_model else None
            if name == "conditional":
                prior = ConditionalPrior(model, data["image_keypoints"].numpy())
            else:
                prior = load_prior(name.split("+")[0])
            run_config = replace(config, prior_weight=weight) if weight is not None else config
            errors = fit_errors(body, data, prior, init, args.hypotheses, run_config, args.seed)
            rate = args.fit_persons / (time.perf_counter() - started)
            used = weight if weight is not None else getattr(prior, "fit_weight", 0.0)
            row = {"prior": name, "weight": used, "persons_per_s": rate, **errors}
            figures["fits"].append(row)
            print(f"| {name.split('+')[0]} | {'model' if from_model else 'prior samples'} | {used:g} | {errors['mpjpe']:.1f} "
                  f"({errors['mpjpe_median']:.1f}) | {errors['pa_mpjpe']:.1f} ({errors['pa_mpjpe_median']:.1f}) | {rate:.2f} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
