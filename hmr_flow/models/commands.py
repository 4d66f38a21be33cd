"""``hmr-flow train hmr`` (train the image → pose-flow regressor) and ``hmr-flow regress`` (run it on a photo)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from hmr_flow.models.losses import LossWeights

log = logging.getLogger(__name__)

#: Weights shipped with the package (trained on synthetic renders only, see the README).
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "hmr_synth128.pt"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` (with its ``hmr`` sub-command) and ``regress``; every parser sets ``run=``."""
    train = subparsers.add_parser("train", help="train networks (hmr: image → pose-flow regressor)")
    kinds = train.add_subparsers(dest="train_kind", required=True)
    hmr = kinds.add_parser("hmr", help="train the image → pose-flow regressor on synthetic renders",
                           description="Train HMRFlow on a synthetic set; one process, or several GPUs with torchrun "
                           "(torchrun --nproc_per_node=G -m hmr_flow.cli train hmr ... --device cuda).")  # fmt: skip
    hmr.add_argument("--data", required=True, type=Path, help="training set folder (data/synth/train)")
    hmr.add_argument("--val", type=Path, help="validation set folder (data/synth/val); validated after every epoch")
    hmr.add_argument("--out", required=True, type=Path, help="checkpoint path; the metrics log goes to <out>.csv")
    hmr.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    hmr.add_argument("--epochs", type=int, default=10)
    hmr.add_argument("--batch-size", type=int, default=32, help="per process")
    hmr.add_argument("--lr", type=float, default=1e-3)
    hmr.add_argument("--weight-decay", type=float, default=1e-4)
    hmr.add_argument("--samples", type=int, default=3, help="hypotheses per crop in training (mode + random)")
    hmr.add_argument("--workers", type=int, default=1, help="data-loading processes per training process")
    hmr.add_argument("--device", default="cpu", help="cpu or cuda (with torchrun: each rank uses cuda:LOCAL_RANK)")
    hmr.add_argument("--no-amp", action="store_true", help="disable bfloat16 autocast of the backbone on CUDA")
    hmr.add_argument("--train-limit", type=int, help="use only the first N training images")
    hmr.add_argument("--val-limit", type=int, help="use only the first N validation images")
    hmr.add_argument("--val-samples", type=int, default=25, help="hypotheses per crop in validation")
    hmr.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128, 256], help="backbone stage widths")
    hmr.add_argument("--feature-dim", type=int, default=256)
    hmr.add_argument("--flow-hidden", type=int, default=256)
    hmr.add_argument("--flow-steps", type=int, default=4)
    hmr.add_argument("--keypoint-channels", action="store_true", help="also input COCO-17 keypoint heatmaps")
    hmr.add_argument("--loss-weight", action="append", default=[], metavar="TERM=VALUE",
                     help="override one loss weight or the NLL jitter (repeatable), e.g. keypoints3d=0.1; "
                     "terms and defaults: " + ", ".join(f"{k}={v:g}" for k, v in LossWeights().to_dict().items()))
    hmr.add_argument("--export", type=Path, help="also write inference-only float16 weights here at the end")
    hmr.add_argument("--seed", type=int, default=0)
    hmr.set_defaults(run=run_train)

    regress = subparsers.add_parser("regress", help="pose hypotheses for the people in a photo",
                                    description="Run the image → pose-flow regressor on a person crop; writes "
                                    "<stem>_hypotheses.npz and <stem>_grid.png (mode first). Without --bbox or "
                                    "--keypoints, people are detected first (detected_keypoints.json).")  # fmt: skip
    regress.add_argument("--image", required=True, type=Path)
    where = regress.add_mutually_exclusive_group()
    where.add_argument("--bbox", type=float, nargs=4, metavar=("X0", "Y0", "X1", "Y1"), help="person box in pixels")
    where.add_argument("--keypoints", type=Path, help="OpenPose or COCO keypoint JSON: boxes (and input) per person "
                       "(default, without --bbox: detect the people)")
    regress.add_argument("--n", type=int, default=16, help="hypotheses per person (default 16, the mode first)")
    regress.add_argument("--out", required=True, type=Path, help="output folder")
    regress.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="checkpoint (default: shipped weights)")
    regress.add_argument("--focal", type=float, help="focal length in pixels (default sqrt(W²+H²))")
    regress.add_argument("--temperature", type=float, default=1.0)
    regress.add_argument("--device", default="cpu")
    regress.add_argument("--seed", type=int, default=0)
    regress.set_defaults(run=run_regress)


def parse_loss_weights(overrides: list[str]) -> LossWeights:
    """:class:`LossWeights` with ``TERM=VALUE`` overrides applied (unknown terms and bad numbers → ValueError)."""
    values = LossWeights().to_dict()
    for item in overrides:
        name, sep, text = item.partition("=")
        if not sep or name not in values:
            raise ValueError(f"--loss-weight {item!r}: expected TERM=VALUE with TERM one of {', '.join(values)}")
        try:
            values[name] = float(text)
        except ValueError:
            raise ValueError(f"--loss-weight {item!r}: {text!r} is not a number") from None
        if not values[name] >= 0.0:
            raise ValueError(f"--loss-weight {item!r}: weights must be ≥ 0")
    return LossWeights(**values)


def run_train(args: argparse.Namespace) -> int:
    from hmr_flow.models.checkpoint import export_weights
    from hmr_flow.models.model import HMRConfig
    from hmr_flow.models.train import TrainSettings, train

    settings = TrainSettings(
        data=args.data, out=args.out, val=args.val, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, num_samples=args.samples, workers=args.workers, device=args.device,
        amp=not args.no_amp, seed=args.seed, train_limit=args.train_limit, val_limit=args.val_limit,
        val_samples=args.val_samples, resume=args.resume,
    )  # fmt: skip
    config = HMRConfig(widths=tuple(args.widths), blocks=(1,) * len(args.widths), feature_dim=args.feature_dim,
                       flow_hidden=args.flow_hidden, flow_steps=args.flow_steps,
                       keypoint_channels=args.keypoint_channels)  # fmt: skip
    row = train(settings, config, parse_loss_weights(args.loss_weight))
    if args.export is not None and row:
        export_weights(args.out, args.export, note=f"HMRFlow trained on synthetic renders only ({args.data})")
        print(f"exported inference weights to {args.export}")
    return 0


def _coco17_keypoints(path: Path) -> np.ndarray:
    """``(P, 17, 3)`` COCO-17 keypoints of the first image in a keypoint file (BODY_25 is reordered)."""
    from hmr_flow.body import BODY25_NAMES, COCO17_NAMES
    from hmr_flow.fitting.keypoint_io import read_keypoints

    records = read_keypoints(path, min_keypoints=2)
    if not records or len(records[0].keypoints) == 0:
        raise ValueError(f"{path}: no people with keypoints")
    record = records[0]
    if len(records) > 1:
        log.warning("%s: %d images in the file, using the first (%s)", path, len(records), record.name)
    if record.keypoint_format == "coco17":
        return record.keypoints
    return record.keypoints[:, [BODY25_NAMES.index(name) for name in COCO17_NAMES]]


def run_regress(args: argparse.Namespace) -> int:
    import torch

    from hmr_flow.images import read_rgb
    from hmr_flow.models.checkpoint import load_model
    from hmr_flow.models.regress import regress
    from hmr_flow.models.visualise import hypothesis_grid

    image = read_rgb(args.image)
    if args.keypoints is None and args.bbox is None:
        from hmr_flow.detection import detect_into

        args.keypoints = detect_into(args.out, args.image)
    keypoints = _coco17_keypoints(args.keypoints) if args.keypoints is not None else None
    if args.n < 1:
        raise ValueError(f"--n: expected ≥ 1, got {args.n}")
    model = load_model(args.weights, args.device)
    boxes = np.array([args.bbox]) if args.bbox is not None else None
    torch.manual_seed(args.seed)
    result = regress(model, image, boxes, args.n, args.focal, keypoints, args.temperature, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.image.stem
    np.savez(args.out / f"{stem}_hypotheses.npz", **result.to_numpy())
    grid = hypothesis_grid(image, result)
    import cv2

    cv2.imwrite(str(args.out / f"{stem}_grid.png"), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out / (stem + '_hypotheses.npz')} and {args.out / (stem + '_grid.png')}")
    return 0
