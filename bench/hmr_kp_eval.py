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

3. Which way the body faces (``--family-persons`` people per pose family): the error of the global
   orientation of the keypoint model's mode and of the default fit (conditional prior, as ``hmr-flow fit``)
   — the angle between the true and estimated forward axes of the body (:func:`hmr_flow.metrics.facing_error_deg`),
   median and share over 30° — and the fit's mean 2D keypoint error (px, seen keypoints), for validation
   poses of each family (:func:`pose_families`): upright, bent sideways, bent forward, lying.

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

from hmr_flow.body import JOINT_NAMES, BodyModel, KeypointBody
from hmr_flow.data.keypoint_pairs import BENCHMARK_CORRUPTION, KeypointPairs, PairSet, load_split_poses
from hmr_flow.fitting import SMPLIFY_STAGES, FitConfig, fit_people, scaled_config
from hmr_flow.fitting.initialisation import Initialisation
from hmr_flow.geometry import axis_angle_to_matrix
from hmr_flow.metrics import facing_error_deg, mpjpe, pa_mpjpe
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
    ("spread ratio ÷ error ratio (1 = calibrated)", "calibration_ratio", ".2f"),
    ("3D coverage at the 90 % radius", "coverage90", ".3f"),
    ("coverage of seen keypoints at the 90 % radius", "coverage90_visible", ".3f"),
    ("coverage of hidden keypoints at the 90 % radius", "coverage90_hidden", ".3f"),
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
            h["calibration_ratio"] = h["spread_ratio"] / h["error_ratio"]
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


def fit(body: KeypointBody, data: dict, prior, init: Initialisation | None, hypotheses: int, config: FitConfig,
        seed: int):
    """:func:`hmr_flow.fitting.fit_people` of the pairs ``data`` in their full images with their true focal."""
    return fit_people(body, data["image_keypoints"], "coco17", data["image_focal"], data["image_size"] / 2, prior=prior,
                      init=init, num_hypotheses=hypotheses, config=config, progress=False,
                      generator=torch.Generator().manual_seed(seed))


def fit_errors(body: KeypointBody, data: dict, prior, init: Initialisation | None, hypotheses: int,
               config: FitConfig, seed: int) -> dict[str, float]:
    """MPJPE / PA-MPJPE (mm, mean and median) of the fitted joints against the truth."""
    result = fit(body, data, prior, init, hypotheses, config, seed)
    truth = data["joints3d"]
    errors = 1000 * mpjpe(result.joints, truth)
    pa = 1000 * pa_mpjpe(result.joints - result.joints[:, :1], truth - truth[:, :1])
    return {"mpjpe": errors.mean().item(), "mpjpe_median": errors.median().item(), "pa_mpjpe": pa.mean().item(),
            "pa_mpjpe_median": pa.median().item()}


#: Pose families of :func:`pose_families`, in the order they are tested.
FAMILIES = ("lying", "bent sideways", "bent forward", "upright")


def pose_families(body: KeypointBody, global_orient: torch.Tensor, body_pose: torch.Tensor) -> np.ndarray:
    """Family ``(N,)`` (index into :data:`FAMILIES`) of world-frame mocap poses (Y up): the trunk
    (pelvis → neck) more than 60° from the vertical = lying; else leaning more than 15° towards the pelvis's
    left or right (its x axis) = bent sideways; else more than 30° from the vertical = bent forward (or
    back); else upright."""
    families = []
    for start in range(0, len(body_pose), 4096):
        orient = axis_angle_to_matrix(global_orient[start : start + 4096])
        count = len(orient)
        rotmats = torch.cat([orient[:, None], axis_angle_to_matrix(body_pose[start : start + 4096].reshape(count, 23, 3))], 1)
        joints = body(rotmats, torch.zeros(count, body.num_betas), torch.zeros(count, 3))
        trunk = joints[:, JOINT_NAMES.index("neck")] - joints[:, 0]
        trunk = trunk / trunk.norm(dim=-1, keepdim=True)
        tilt = torch.rad2deg(torch.arccos(trunk[:, 1].clamp(-1, 1)))
        sideways = torch.rad2deg(torch.arcsin((trunk * orient[:, :, 0]).sum(-1).clamp(-1, 1))).abs()
        family = torch.full((count,), FAMILIES.index("upright"))
        family[tilt > 30] = FAMILIES.index("bent forward")
        family[sideways > 15] = FAMILIES.index("bent sideways")
        family[tilt > 60] = FAMILIES.index("lying")
        families.append(family)
    return torch.cat(families).numpy()


def orientation_table(model, body: KeypointBody, orient: torch.Tensor, body_pose: torch.Tensor, config: FitConfig,
                      args) -> dict:
    """Facing errors of the mode and of the fit with ``config``, and the fit's 2D keypoint error, for
    ``args.family_persons`` validation people of each pose family (module docstring, item 3)."""
    families = pose_families(body, orient, body_pose)
    results = {}
    print(f"\nwhich way the body faces: {args.family_persons} validation people per pose family (seed {args.seed}), "
          f"fit with the conditional prior, {args.hypotheses} starts:")
    print("| family | poses in the split | mode: median error ° | mode: share > 30° | fit: median error ° "
          "| fit: share > 30° | fit: mean 2D error px |\n|---|---|---|---|---|---|---|")
    for index, name in enumerate(FAMILIES):
        rows = torch.from_numpy(np.flatnonzero(families == index))
        if len(rows) == 0:
            print(f"| {name} | 0 | | | | | |")
            continue
        pairs = KeypointPairs(body, orient[rows], body_pose[rows], model.config.image_size, BENCHMARK_CORRUPTION)
        data = PairSet(pairs, args.family_persons, seed=args.seed).data
        init = model_hypotheses(model, data, args.hypotheses, args.seed)
        result = fit(body, data, ConditionalPrior(model, data["image_keypoints"].numpy()), init, args.hypotheses,
                     config, args.seed)
        mode_error = facing_error_deg(init.global_orient[:, 0], data["global_orient"])
        fit_error = facing_error_deg(result.global_orient, data["global_orient"])
        seen = data["image_keypoints"][..., 2] > 0
        pixels = (result.keypoints_2d - data["image_keypoints"][..., :2]).norm(dim=-1)
        row = {"poses": len(rows), "mode_median_deg": mode_error.median().item(),
               "mode_over30": (mode_error > 30).float().mean().item(), "fit_median_deg": fit_error.median().item(),
               "fit_over30": (fit_error > 30).float().mean().item(), "fit_2d_px": (pixels[seen].mean()).item()}
        results[name] = row
        print(f"| {name} | {row['poses']} | {row['mode_median_deg']:.1f} | {row['mode_over30']:.3f} | "
              f"{row['fit_median_deg']:.1f} | {row['fit_over30']:.3f} | {row['fit_2d_px']:.2f} |")
    return results


def _kind_and_path(text: str) -> tuple[str, str]:
    """``--prior-file KIND=PATH`` → ``(KIND, PATH)``."""
    kind, separator, path = text.partition("=")
    if not separator or not kind or not path:
        raise argparse.ArgumentTypeError(f"expected KIND=PATH (e.g. flow=prior.pt), got {text!r}")
    return kind, path


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
    parser.add_argument("--prior-file", action="append", default=[], type=_kind_and_path, metavar="KIND=PATH",
                        help="fit with this file for the unconditional prior KIND (flow, cnf, gmm) instead of the shipped one")
    parser.add_argument("--hypotheses", type=int, default=4, help="starting points per fitted person")
    parser.add_argument("--iterations", type=int, help="optimiser steps per fit (default: the library's 300; "
                        "hmr-flow fit runs 60)")
    parser.add_argument("--fit-weights", type=float, nargs="+", help="sweep the conditional prior's weight instead")
    parser.add_argument("--family-persons", type=int, default=100,
                        help="people per pose family for the facing figures (0: none)")
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
    config = scaled_config(args.iterations) if args.iterations else FitConfig(stages=SMPLIFY_STAGES)
    if args.count:
        figures["hypotheses"] = hypothesis_table(model, body, pairs, args, "σ = 5 px, 30 % hidden")
        one_limb = KeypointPairs(body, orient, body_pose, model.config.image_size, ONE_LIMB_HIDDEN)
        figures["one_limb_hidden"] = hypothesis_table(model, body, one_limb, args, "σ = 5 px, one whole limb hidden")
    if args.fit_persons:
        data = {k: v[: args.fit_persons] for k, v in dataset.data.items()}
        runs = [("conditional", w) for w in args.fit_weights] if args.fit_weights else [(p, None) for p in args.priors]
        prior_files = dict(args.prior_file)
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
                kind = name.split("+")[0]
                prior = load_prior(kind, prior_files.get(kind))
            run_config = replace(config, prior_weight=weight) if weight is not None else config
            errors = fit_errors(body, data, prior, init, args.hypotheses, run_config, args.seed)
            rate = args.fit_persons / (time.perf_counter() - started)
            used = weight if weight is not None else getattr(prior, "fit_weight", 0.0)
            row = {"prior": name, "weight": used, "persons_per_s": rate, **errors}
            figures["fits"].append(row)
            print(f"| {name.split('+')[0]} | {'model' if from_model else 'prior samples'} | {used:g} | {errors['mpjpe']:.1f} "
                  f"({errors['mpjpe_median']:.1f}) | {errors['pa_mpjpe']:.1f} ({errors['pa_mpjpe_median']:.1f}) | {rate:.2f} |")
    if args.family_persons:
        figures["facing"] = orientation_table(model, body, orient, body_pose, config, args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
