"""Evaluate the image → pose-flow regressor on validation-subject renders.

    python bench/hmr_eval.py --data data/synth/val [--weights hmr_flow/assets/hmr_synth128.pt] [--n 25]

Prints (and with ``--out`` writes as JSON) the figures of :mod:`hmr_flow.models.evaluate`: NLL,
MPJPE / PA-MPJPE of the mode and of the best of 5 and 25 hypotheses, 2D reprojection error, and the
spread of the hypotheses on visible vs hidden keypoints — together with the training budget stored
in the checkpoint (images, epochs, steps, seconds), since the figures mean little without it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import Subset

from hmr_flow.body import BodyModel
from hmr_flow.data import SynthDataset
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.models import evaluate, read_checkpoint
from hmr_flow.models.checkpoint import model_from_checkpoint
from hmr_flow.models.checkpoint import RGB_WEIGHTS


def training_budget(checkpoint: dict) -> dict:
    """What the weights cost to train, from the checkpoint's settings and per-epoch log."""
    settings, history = checkpoint.get("train", {}), checkpoint.get("history", [])
    return {
        "train_data": settings.get("data"), "train_limit": settings.get("train_limit"),
        "epochs": len(history), "steps": checkpoint.get("step"), "batch_size": settings.get("batch_size"),
        "device": settings.get("device"),
        "train_seconds": round(sum(float(row.get("train_seconds", 0.0)) for row in history), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="validation set folder (data/synth/val)")
    parser.add_argument("--weights", type=Path, default=RGB_WEIGHTS)
    parser.add_argument("--n", type=int, default=25, help="hypotheses per crop (mode first)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N images")
    parser.add_argument("--temperature", type=float, default=1.0, help="latent noise scale of the random hypotheses")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    checkpoint = read_checkpoint(args.weights)
    model = model_from_checkpoint(checkpoint, args.weights).to(args.device)
    dataset = SynthDataset(args.data)
    if args.limit is not None:
        dataset = Subset(dataset, range(min(args.limit, len(dataset))))
    body = KeypointBody(BodyModel()).to(args.device)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    figures = evaluate(model, body, dataset, args.device, args.n, args.batch_size, seed=args.seed,
                       temperature=args.temperature)
    report = {"weights": str(args.weights), "data": str(args.data), "images": len(dataset), "n": args.n, "temperature": args.temperature,
              "eval_seconds": round(time.perf_counter() - started, 1), "training": training_budget(checkpoint),
              "figures": figures}
    width = max(map(len, figures))
    print(f"{args.weights} on {len(dataset)} images of {args.data}, {args.n} hypotheses each (temperature {args.temperature})")
    print("training:", ", ".join(f"{k}={v}" for k, v in report["training"].items()))
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value:10.2f}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
