"""The conditional model on real photos: how well its hypotheses, and fits started from them, match
annotated 2D keypoints (the only ground truth real photos have here).

    python bench/hmr_photos.py --photos ../shared/data/images/coco [--weights A.pt B.pt ...] [--prior conditional|flow]

For every person of the COCO keypoint file in ``--photos`` (``person_keypoints.json``) and every
model: ``--n`` hypotheses from the crop boxed by the annotated keypoints (models with keypoint inputs
take the keypoints, RGB models the photo), projected into the photo; reported are PCK@0.1 (of each
person's keypoint box) of the mode and of the best of the ``n`` hypotheses, and of the fit started
from the model's first ``--hypotheses`` hypotheses (``--iterations`` steps; ``--prior conditional``,
the default, regularises with the model's own likelihood given the keypoints, as ``hmr-flow fit``;
``flow`` with the unconditional prior). Means over people.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hmr_flow.body import BodyModel, KeypointBody
from hmr_flow.fitting import FitConfig, FitOptions, fit_records, keypoint_agreement, read_keypoints, scaled_config
from hmr_flow.geometry import project_points
from hmr_flow.images import read_rgb
from hmr_flow.metrics import pck
from hmr_flow.models import conditional_fitting, load_model, regress
from hmr_flow.models.checkpoint import DEFAULT_KEYPOINT_WEIGHTS


def hypothesis_pck(model, records, body: KeypointBody, n: int, seed: int) -> tuple[list[float], list[float]]:
    """PCK@0.1 per person of the mode and of the best of ``n`` projected hypotheses."""
    mode, best = [], []
    for record in records:
        hyps = regress(model, read_rgb(record.image_path), None, n, None, record.keypoints, seed=seed)
        people, count = hyps.pose.shape[:2]
        coco = torch.einsum("ks,pnsc->pnkc", body.coco17_matrix, hyps.posed_points(body))
        uv = project_points(coco.reshape(people * count, 17, 3), hyps.focal, hyps.principal_point).reshape(people, count, 17, 2)
        observed = torch.from_numpy(record.keypoints).float()
        visible = (observed[..., 2] > 0)[:, None].expand(-1, count, -1).reshape(-1, 17)
        scores = pck(uv.reshape(-1, 17, 2), observed[:, None, :, :2].expand(-1, count, -1, -1).reshape(-1, 17, 2), visible)
        scores = scores.reshape(people, count)
        mode.extend(scores[:, 0].tolist())
        best.extend(scores.amax(1).tolist())
    return mode, best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True, help="folder with photos and person_keypoints.json")
    parser.add_argument("--weights", type=Path, nargs="+", default=[DEFAULT_KEYPOINT_WEIGHTS], help="models to compare")
    parser.add_argument("--prior", choices=("conditional", "flow"), default="conditional", help="fitting prior")
    parser.add_argument("--n", type=int, default=25, help="hypotheses per person for the PCK of the hypotheses")
    parser.add_argument("--hypotheses", type=int, default=4, help="starting points per person of the fit")
    parser.add_argument("--iterations", type=int, default=300, help="fitting steps in all")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from hmr_flow.prior import load_prior

    records = [r for r in read_keypoints(args.photos / "person_keypoints.json", args.photos) if r.person_ids]
    body = KeypointBody(BodyModel())
    prior = load_prior("flow")
    rows = []
    for weights in args.weights:
        model = load_model(weights, "cpu")
        started = time.perf_counter()
        mode, best = hypothesis_pck(model, records, body, args.n, args.seed)
        per_image = conditional_fitting(model, args.hypotheses, args.seed, prior=args.prior == "conditional")
        options = FitOptions(prior=prior, prior_name=args.prior, seed=args.seed, per_image=per_image,
                             config=scaled_config(args.iterations, FitConfig(num_hypotheses=args.hypotheses)))
        with tempfile.TemporaryDirectory() as out:
            agreements = []
            fit_records(records, options, out, on_image=lambda r, result: agreements.append(keypoint_agreement(r, result.keypoints_2d)))
            fitted = np.concatenate(agreements)
        rows.append({"weights": str(weights), "inputs": model.config.inputs, "people": len(mode),
                     "pck_mode": float(np.mean(mode)), f"pck_best{args.n}": float(np.mean(best)),
                     "pck_fit": float(fitted.mean()), "pck_fit_worst": float(fitted.min()),
                     "seconds": round(time.perf_counter() - started, 1)})
    print(f"\n{rows[0]['people']} people in {len(records)} photos of {args.photos}; PCK@0.1, mean over people; fit: "
          f"{args.hypotheses} hypotheses from the model, {args.iterations} steps, {args.prior} prior")
    print(f"| model | input | mode | best of {args.n} | fit (worst person) |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['weights']} | {r['inputs']} | {r['pck_mode']:.3f} | "
              f"{r[f'pck_best{args.n}']:.3f} | {r['pck_fit']:.3f} ({r['pck_fit_worst']:.2f}) |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
