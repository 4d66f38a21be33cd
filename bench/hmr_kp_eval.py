"""The keypoint-conditioned model on poses of unseen people: its hypotheses, and fits with each prior.

    python bench/hmr_kp_eval.py [--count 1000] [--fit-persons 200] [--priors conditional flow gmm none]

Data (seeded, ``hmr_flow.data.keypoint_pairs``): ``--count`` poses of the mocap **validation subjects**
(``data/mocap``), random betas, random cameras (every yaw, pitch ±30°, roll ±10°, focal ×0.5–2 of
sqrt(W² + H²), the person anywhere in the image, 10 % truncated), COCO-17 keypoints with σ = 5 px
noise and 30 % of each person's keypoints hidden.

1. Hypotheses (``hmr_flow.models.evaluate``), for each of ``--seeds`` (median and range printed):
   MPJPE (pelvis-aligned) and PA-MPJPE over the 24 SMPL joints, mm, of the mode and of the best of 5 and
   of 25 hypotheses; calibration of the random hypotheses: PCK@0.1 of their projected keypoints against
   the seen input keypoints, their spread on seen vs hidden keypoints, 3D coverage of the true joints by
   their per-joint 90 % radius; the mode's own error on seen vs hidden keypoints (the spread ratio a
   calibrated posterior would show); NLL of the true pose. Then the same with one whole limb hidden per person
   instead (:data:`ONE_LIMB_HIDDEN`), where the spread should follow the occlusion.
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

from hmr_flow.body import BodyModel, KeypointBody
from hmr_flow.data.keypoint_pairs import BENCHMARK_CORRUPTION, KeypointPairs, PairSet, load_split_poses
from hmr_flow.fitting import SMPLIFY_STAGES, FitConfig, fit_people, scaled_config
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
                       seed=seed + person, image_size=(width, height))
        orient.append(hyps.pose[..., :3])
        pose.append(hyps.pose[..., 3:])
        betas.append(hyps.betas)
    return Initialisation(torch.cat(orient), torch.cat(pose), torch.cat(betas))


#: Rows of the hypotheses table: (label, figure key, format).
HYPOTHESIS_ROWS = (
    ("mode PA-MPJPE mm", "pa_mpjpe_mode", ".1f"), ("best of 5 PA-MPJPE mm", "pa_mpjpe_best5", ".1f"),
    ("best of 25 PA-MPJPE mm", "pa_mpjpe_best25", ".1f"), ("best of 25 / mode (PA)", "best25_ratio", ".3f"),
    ("mode MPJPE mm", "mpjpe_mode", ".1f"), ("best of 5 MPJPE mm", "mpjpe_best5", ".1f"),
    ("best of 25 MPJPE mm", "mpjpe_best25", ".1f"),
    ("sample PCK@0.1 on seen keypoints", "sample_pck_seen", ".3f"),
    ("sample spread, seen keypoints mm", "diversity_visible_mm", ".1f"),
    ("sample spread, hidden keypoints mm", "diversity_hidden_mm", ".1f"),
    ("spread hidden / seen", "spread_ratio", ".2f"),
    ("mode error, seen keypoints mm", "error_visible_mm", ".1f"),
    ("mode error, hidden keypoints mm", "error_hidden_mm", ".1f"),
    ("mode error hidden / seen (calibrated spread ratio)", "error_ratio", ".2f"),
    ("3D coverage at the 90 % radius", "coverage90", ".3f"),
    ("NLL of the true pose, nats", "nll", ".1f"), ("mode 2D reprojection px", "reprojection_px", ".2f"),
)


#: The second calibration case: σ = 5 px and one whole limb (an arm, a leg, both lower legs or the face,
#: ``keypoint_pairs.LIMBS``) hidden per person instead of 30 % of the keypoints at random.
ONE_LIMB_HIDDEN = replace(BENCHMARK_CORRUPTION, missing_fixed=0.0, limb=1.0)


def hypothesis_table(model, body: KeypointBody, pairs: KeypointPairs, args, title: str) -> dict:
    """Hypothesis and calibration figures (``hmr_flow.models.evaluate``) of ``args.count`` validation
    pairs for each seed (poses, views and latent noise) and temperature; prints median (min–max) over
    the seeds. Returns ``{temperature: {seed: figures}}``."""
    results: dict = {}
    for temperature in args.temperature:
        results[str(temperature)] = {}
        for seed in args.seeds:
            dataset = PairSet(pairs, args.count, seed=seed)
            h = evaluate(model, body, dataset, "cpu", n=args.n, batch_size=100, seed=seed, progress=False,
                         temperature=temperature)
            h["best25_ratio"] = h["pa_mpjpe_best25"] / h["pa_mpjpe_mode"]
            h["spread_ratio"] = h["diversity_hidden_mm"] / h["diversity_visible_mm"]
            h["error_ratio"] = h["error_hidden_mm"] / h["error_visible_mm"]
            results[str(temperature)][str(seed)] = h
    seeds = ", ".join(map(str, args.seeds))
    print(f"\n{args.count} validation-subject poses per seed, {title} ({args.weights.name}); median "
          f"(min–max) over seeds {seeds}; {args.n} hypotheses (mode first):")
    print("| figure | " + " | ".join(f"T = {t:g}" for t in args.temperature) + " |")
    print("|---|" + "---|" * len(args.temperature))
    for label, key, fmt in HYPOTHESIS_ROWS:
        cells = []
        for temperature in args.temperature:
            values = np.array([h[key] for h in results[str(temperature)].values()])
            cells.append(f"{np.median(values):{fmt}} ({values.min():{fmt}}–{values.max():{fmt}})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    return results


def fit_errors(body: KeypointBody, data: dict, prior, init: Initialisation | None, hypotheses: int,
               config: FitConfig, seed: int) -> dict[str, float]:
    """MPJPE / PA-MPJPE (mm, mean and median) of the fitted joints against the truth."""
    result = fit_people(body, data["image_keypoints"], "coco17", data["image_focal"], data["image_size"] / 2, prior=prior,
                        init=init, num_hypotheses=hypotheses, config=config, progress=False,
                        generator=torch.Generator().manual_seed(seed))
    truth = data["joints3d"]
    errors = 1000 * mpjpe(result.joints, truth)
    pa = 1000 * pa_mpjpe(result.joints - result.joints[:, :1], truth - truth[:, :1])
    return {"mpjpe": errors.mean().item(), "mpjpe_median": errors.median().item(), "pa_mpjpe": pa.mean().item(),
            "pa_mpjpe_median": pa.median().item()}


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
    parser.add_argument("--seed", type=int, default=12345, help="seed of the fitted people's poses and views")
    parser.add_argument("--seeds", type=int, nargs="+", default=[12345, 12346, 12347],
                        help="seeds of the hypotheses' poses, views and latent noise (figures: median and range)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from hmr_flow.prior import load_prior

    model = load_model(args.weights)
    body = KeypointBody(BodyModel())
    orient, body_pose, _ = load_split_poses(args.poses, "val")
    pairs = KeypointPairs(body, orient, body_pose, model.config.image_size, BENCHMARK_CORRUPTION)
    dataset = PairSet(pairs, args.fit_persons, seed=args.seed) if args.fit_persons else None
    figures: dict = {"count": args.count}
    if args.count:
        figures["hypotheses"] = hypothesis_table(model, body, pairs, args, "σ = 5 px, 30 % hidden")
        one_limb = KeypointPairs(body, orient, body_pose, model.config.image_size, ONE_LIMB_HIDDEN)
        figures["one_limb_hidden"] = hypothesis_table(model, body, one_limb, args, "σ = 5 px, one whole limb hidden")
    if args.fit_persons:
        data = {k: v[: args.fit_persons] for k, v in dataset.data.items()}
        config = scaled_config(args.iterations) if args.iterations else FitConfig(stages=SMPLIFY_STAGES)
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
                  f"({errors['mpjpe_median']:.1f}) | {errors['pa_mpjpe']:.1f} ({errors['pa_mpjpe_median']:.1f}) | {rate:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
