"""Fit-initialisation benchmark: fitting started from the regressor's hypotheses vs from prior samples.

Protocol (seeded): ``--images`` random renders of the **validation subjects** (``data/synth/val``;
one person per image, 128 px, exact ground truth). Observed COCO-17 keypoints are the true ones with
Gaussian noise ``--noise`` pixels; keypoints hidden by the body or an occluder, or outside the
crop, are dropped (confidence 0), as a detector would. Each person is fitted with the shipped flow
prior and the default schedule from ``--hypotheses`` starting points, once per initialisation:

- ``regression``: the regressor's hypotheses (mode first) for the crop boxed by the keypoints
  (:func:`hmr_flow.models.regress`, as ``hmr-flow fit --init-from regression`` does);
- ``prior``: the default initialisation (relaxed pose and prior samples, alternately facing the
  camera and away), the path of ``hmr-flow fit``.

For reference the regressor's mode without fitting is scored too. Reported: MPJPE (pelvis-aligned)
and PA-MPJPE over the 24 SMPL joints (mm, mean and median), the share of people whose fitted body
faces the wrong way (pelvis-to-pelvis orientation error > 90°), the 2D error of the fitted keypoints
on the observed ones (px) and people per second of fitting (the regression's own time included).

Run: ``python bench/hmr_fit_eval.py [--images 96] [--hypotheses 4] [--temperature T] [--weights W] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hmr_flow.body import BodyModel, KeypointBody
from hmr_flow.data import SynthDataset
from hmr_flow.fitting import SMPLIFY_STAGES, FitConfig, fit_people
from hmr_flow.fitting.initialisation import Initialisation
from hmr_flow.metrics import mpjpe, pa_mpjpe, rotation_error_deg
from hmr_flow.models import load_model, regress
from hmr_flow.models.checkpoint import RGB_WEIGHTS


def load_people(data: Path, count: int, noise: float, rng: np.random.Generator) -> dict:
    """``count`` random validation renders: images, observed keypoints ``(P, 17, 3)``, ground truth."""
    dataset = SynthDataset(data)
    chosen = np.sort(rng.choice(len(dataset), size=min(count, len(dataset)), replace=False))
    samples = [dataset.raw_sample(int(i)) for i in chosen]
    keypoints = np.stack([s["keypoints2d"] for s in samples]).astype(np.float32)
    keypoints = keypoints + noise * rng.normal(size=keypoints.shape).astype(np.float32)
    visible = np.stack([s["visibility"] == 2 for s in samples]).astype(np.float32)
    return {
        "indices": chosen, "images": [s["image"] for s in samples],
        "keypoints": np.concatenate([keypoints, visible[..., None]], -1),
        "focal": np.array([s["focal"] for s in samples], dtype=np.float32),
        "joints": torch.from_numpy(np.stack([s["joints3d"] for s in samples])).float(),
        "global_orient": torch.from_numpy(np.stack([s["global_orient"] for s in samples])).float(),
        "size": dataset.image_size,
    }


def scores(joints: torch.Tensor, orient: torch.Tensor, people: dict) -> dict[str, float]:
    err = 1000 * mpjpe(joints, people["joints"])
    pa = 1000 * pa_mpjpe(joints, people["joints"])
    flipped = rotation_error_deg(orient, people["global_orient"]) > 90
    return {"mpjpe_mm": float(err.mean()), "mpjpe_median_mm": float(err.median()), "pa_mpjpe_mm": float(pa.mean()),
            "pa_mpjpe_median_mm": float(pa.median()), "wrong_facing": float(flipped.float().mean())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/synth/val"), help="validation renders")
    parser.add_argument("--weights", type=Path, default=RGB_WEIGHTS, help="regressor weights (default: shipped)")
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--hypotheses", type=int, default=4, help="starting points per person (fit default: 4)")
    parser.add_argument("--temperature", type=float, default=1.0, help="latent noise scale of the regressor's samples")
    parser.add_argument("--noise", type=float, default=1.0, help="keypoint noise σ, pixels of the 128 px render")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from hmr_flow.prior import load_prior

    people = load_people(args.data, args.images, args.noise, np.random.default_rng(args.seed))
    count, size = len(people["images"]), people["size"]
    body = KeypointBody(BodyModel())
    prior = load_prior("flow")
    model = load_model(args.weights, "cpu")
    keypoints = torch.from_numpy(people["keypoints"])
    centre = (size / 2.0, size / 2.0)
    fit_inputs = dict(body=body, keypoints=keypoints, keypoint_format="coco17", focal=torch.from_numpy(people["focal"]),
                      principal_point=centre, prior=prior, config=FitConfig(stages=SMPLIFY_STAGES), progress=False)

    started = time.perf_counter()
    hypotheses = [regress(model, image, None, args.hypotheses, float(focal), kp[None], args.temperature, args.seed)
                  for image, kp, focal in zip(people["images"], people["keypoints"], people["focal"])]
    regression_seconds = time.perf_counter() - started
    starts = [h.initialisation() for h in hypotheses]
    regression_init = Initialisation(torch.cat([s.global_orient for s in starts]), torch.cat([s.body_pose for s in starts]))
    mode_joints = torch.cat([h.posed_points(body)[:, 0, :24] for h in hypotheses])
    mode_orient = torch.cat([h.pose[:, 0, :3] for h in hypotheses])
    rows = [{"method": "regression mode, no fit", **scores(mode_joints, mode_orient, people),
             "persons_per_s": count / regression_seconds}]

    inits = {"regression": regression_init, "prior": None}  # None: the fitter's own default, as `hmr-flow fit`
    for name, init in inits.items():
        start = time.perf_counter()
        result = fit_people(init=init, num_hypotheses=args.hypotheses, generator=torch.Generator().manual_seed(args.seed),
                            **fit_inputs)
        seconds = time.perf_counter() - start + (regression_seconds if name == "regression" else 0.0)
        visible = keypoints[..., 2] > 0
        pixels = (result.keypoints_2d - keypoints[..., :2]).norm(dim=-1)
        rows.append({"method": f"fit from {name} ({args.hypotheses} hypotheses)" + (f", T = {args.temperature}" if name == "regression" else ""),
                     **scores(result.joints.detach(), result.global_orient.detach(), people),
                     "fit_px": float(pixels[visible].mean()), "persons_per_s": count / seconds})

    print(f"\n{count} validation renders of {args.data} ({size} px), keypoint noise {args.noise} px, hidden keypoints "
          f"dropped, flow prior, {args.threads} thread(s); regressor {args.weights}")
    print("| method | MPJPE mm (median) | PA-MPJPE mm (median) | wrong facing | 2D fit px | persons/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        fit_px = f"{r['fit_px']:.2f}" if "fit_px" in r else "–"
        print(f"| {r['method']} | {r['mpjpe_mm']:.1f} ({r['mpjpe_median_mm']:.1f}) | {r['pa_mpjpe_mm']:.1f} "
              f"({r['pa_mpjpe_median_mm']:.1f}) | {100 * r['wrong_facing']:.0f} % | {fit_px} | {r['persons_per_s']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"images": count, "noise_px": args.noise, "weights": str(args.weights),
                                         "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
