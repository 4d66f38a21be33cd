"""``hmr-flow train hmr``: train the image → pose-flow regressor (the conditional model)."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields
from pathlib import Path

from hmr_flow.commands import SUMMARIES
from hmr_flow.commands.options import add_device, add_learning_rate, add_seed
from hmr_flow.models.losses import LossWeights
from hmr_flow.models.model import FLOW_COUPLINGS, INPUTS
from hmr_flow.validation import (
    UserInputError,
    check_output_file,
    check_overwrite,
    exclusive_run,
    float_in,
    non_negative_float,
    non_negative_int,
    positive_int,
    resolve_device,
)
from hmr_flow.validation.file_kinds import HMR_CHECKPOINT, TRAINING_LOG


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` with its ``hmr`` sub-command (its parser sets ``run=``). The
    defaults of ``train hmr`` are those of :class:`~hmr_flow.models.train.TrainSettings` (the run) and
    :class:`~hmr_flow.models.model.HMRConfig` (the architecture)."""
    from hmr_flow.models.model import HMRConfig, HMRFlow
    from hmr_flow.models.train import TrainSettings

    run = {f.name: f.default for f in fields(TrainSettings) if f.default is not MISSING}
    arch = HMRConfig()
    train = subparsers.add_parser("train", help=SUMMARIES["train"])
    kinds = train.add_subparsers(dest="train_kind", required=True)
    hmr = kinds.add_parser("hmr", help="train the conditional pose-flow model (keypoints and/or image → pose)",
                           description="Train HMRFlow: with --input keypoints on keypoint → pose pairs generated on the fly "
                           "from a mocap pose set, else on a synthetic image set; one process, or several GPUs with "
                           "torchrun (torchrun --nproc_per_node=G -m hmr_flow.cli train hmr ... --device cuda).")
    hmr.add_argument("--input", choices=INPUTS, default="rgb",
                     help="what the model sees: rgb crops, rgb + keypoint heatmaps, or keypoints alone")
    hmr.add_argument("--data", required=True, type=Path,
                     help="training set: synthetic image folder (data/synth/train), or with --input keypoints the mocap "
                     "pose set (data/mocap/poses.npz, its split.npz beside it)")
    hmr.add_argument("--val", type=Path, help="validation set folder (data/synth/val); validated after every epoch")
    hmr.add_argument("--out", required=True, type=Path, help="checkpoint path; the metrics log goes to <out>.csv")
    resume = hmr.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    resume.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint and its log")
    hmr.add_argument("--epochs", type=positive_int, default=run["epochs"], help="passes over the training set")
    hmr.add_argument("--steps-per-epoch", type=positive_int, default=run["steps_per_epoch"], help="--input keypoints: generated batches per epoch")
    hmr.add_argument("--balance", action="store_true",
                     help="--input keypoints: draw poses clip-balanced (every mocap clip equally likely)")
    hmr.add_argument("--mirror", type=float_in(0.0, 1.0, low_open=False), default=run["mirror"],
                     help="--input keypoints: probability of training on a frame's left/right mirror image")
    hmr.add_argument("--recombine-arms", type=float_in(0.0, 1.0, low_open=False), default=run["recombine_arms"],
                     help="--input keypoints: probability of taking both arms from another frame of the split")
    hmr.add_argument("--bend-sideways", type=float_in(0.0, 1.0, low_open=False), default=run["bend_sideways"],
                     help="--input keypoints: probability of bending the trunk sideways (up to ±60° over the spine)")
    hmr.add_argument("--image-size", type=positive_int, default=arch.image_size, help="crop / heatmap side in pixels (multiple of 32)")
    hmr.add_argument("--batch-size", type=positive_int, default=run["batch_size"], help="per process")
    add_learning_rate(hmr, run["lr"])
    hmr.add_argument("--weight-decay", type=non_negative_float, default=run["weight_decay"], help="AdamW weight decay")
    hmr.add_argument("--samples", type=positive_int, default=run["num_samples"], help="hypotheses per crop in training (mode + random)")
    hmr.add_argument("--workers", type=non_negative_int, default=run["workers"], help="data-loading processes per training process")
    add_device(hmr, note="with torchrun: each rank uses cuda:LOCAL_RANK")
    hmr.add_argument("--no-amp", action="store_true", help="disable bfloat16 autocast of the backbone on CUDA")
    hmr.add_argument("--train-limit", type=positive_int, help="use only the first N training images")
    hmr.add_argument("--val-limit", type=positive_int, help="use only the first N validation images (or pairs)")
    hmr.add_argument("--val-samples", type=positive_int, default=run["val_samples"], help="hypotheses per crop in validation")
    hmr.add_argument("--widths", type=positive_int, nargs="+", default=list(arch.widths), help="backbone stage widths")
    hmr.add_argument("--feature-dim", type=positive_int, default=arch.feature_dim, help="width of the backbone's feature vector")
    hmr.add_argument("--flow-hidden", type=positive_int, default=arch.flow_hidden, help="coupling MLP width of the pose flow")
    hmr.add_argument("--flow-steps", type=positive_int, default=arch.flow_steps, help="steps of the pose flow")
    hmr.add_argument("--flow-coupling", choices=FLOW_COUPLINGS, default=arch.flow_coupling,
                     help="coupling layers of the pose flow: additive (z = 0 is exactly the mode; the same spread "
                     "for every input) or affine (spread that follows the input)")
    hmr.add_argument("--keypoint-channels", action="store_true", help="deprecated: same as --input rgb+keypoints")
    hmr.add_argument("--loss-weight", action="append", default=[], metavar="TERM=VALUE",
                     help="override one loss weight or the NLL jitter (repeatable), e.g. keypoints3d=0.1; "
                     "terms and defaults: " + ", ".join(f"{k}={v:g}" for k, v in LossWeights().to_dict().items()))
    hmr.add_argument("--export", type=Path, help="also write inference-only float16 weights here at the end")
    hmr.add_argument("--fit-weight", type=non_negative_float, default=HMRFlow.fit_weight,
                     help="the model's weight as a fitting prior, stored in --export (choose it on validation fits: "
                     "python bench/hmr_kp_eval.py --fit-weights ...)")
    add_seed(hmr)
    hmr.set_defaults(run=run_train)


def parse_loss_weights(overrides: list[str]) -> LossWeights:
    """:class:`LossWeights` with ``TERM=VALUE`` overrides applied (unknown terms and bad numbers →
    :class:`~hmr_flow.validation.UserInputError`)."""
    values = LossWeights().to_dict()
    for item in overrides:
        name, sep, text = item.partition("=")
        if not sep or name not in values:
            raise UserInputError(f"--loss-weight {item!r}: expected TERM=VALUE with TERM one of {', '.join(values)}")
        try:
            values[name] = float(text)
        except ValueError:
            raise UserInputError(f"--loss-weight {item!r}: {text!r} is not a number") from None
        if not values[name] >= 0.0:
            raise UserInputError(f"--loss-weight {item!r}: weights must be ≥ 0")
    return LossWeights(**values)


def _check_train_outputs(args: argparse.Namespace, log_path: Path) -> None:
    """Before any work: outputs are not inputs, their folders writable, the log is not the checkpoint, no file
    of another kind is replaced, and an existing run is only continued (``--resume``) or replaced
    (``--overwrite``) when asked."""
    inputs = [args.data, args.val]
    if log_path == args.out:
        raise UserInputError(f"--out {args.out}: the metrics log goes to <out>.csv, which is the checkpoint itself; "
                             f"give the checkpoint a .pt name")
    if args.resume and args.out.is_file():
        from hmr_flow.models.checkpoint import read_checkpoint

        read_checkpoint(args.out)  # a corrupt checkpoint is reported now (and why), not after loading the data
    check_output_file(args.out, HMR_CHECKPOINT, inputs, overwrite=True)  # replacing: check_overwrite's
    check_output_file(log_path, TRAINING_LOG, inputs, overwrite=True)
    if args.export is not None:
        check_output_file(args.export, HMR_CHECKPOINT, [*inputs, args.out, log_path], args.overwrite,
                          option="--export")
    check_overwrite([args.out, log_path], args.resume, args.overwrite)


def run_train(args: argparse.Namespace) -> int:
    from hmr_flow.models.train import log_path

    device = str(resolve_device(args.device))
    _check_train_outputs(args, log_path(args.out))
    with exclusive_run(args.out):  # a second run on this --out is refused, not interleaved with this one
        return _train_locked(args, device)


def _export_note(inputs: str, data: Path) -> str:
    """What exported weights learned from, and (mocap pose sets) under which licence."""
    if inputs != "keypoints":
        return f"HMRFlow ({inputs} input) trained on synthetic renders only ({data})"
    from hmr_flow.data.keypoint_pairs import pose_set_licence

    return (f"HMRFlow ({inputs} input) trained on keypoints generated from mocap ({data}). "
            f"Licence: {pose_set_licence(data)}")


def _train_locked(args: argparse.Namespace, device: str) -> int:
    from hmr_flow.models.checkpoint import export_weights
    from hmr_flow.models.model import HMRConfig
    from hmr_flow.models.train import TrainSettings, train

    settings = TrainSettings(
        data=args.data, out=args.out, val=args.val, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, num_samples=args.samples, workers=args.workers, device=device,
        amp=not args.no_amp, seed=args.seed, train_limit=args.train_limit, val_limit=args.val_limit,
        val_samples=args.val_samples, resume=args.resume, steps_per_epoch=args.steps_per_epoch, balance=args.balance,
        mirror=args.mirror, recombine_arms=args.recombine_arms, bend_sideways=args.bend_sideways,
    )
    inputs = "rgb+keypoints" if args.keypoint_channels and args.input == "rgb" else args.input
    config = HMRConfig.for_inputs(inputs, image_size=args.image_size, widths=tuple(args.widths),
                                  blocks=(1,) * len(args.widths), feature_dim=args.feature_dim,
                                  flow_hidden=args.flow_hidden, flow_steps=args.flow_steps,
                                  flow_coupling=args.flow_coupling)
    row = train(settings, config, parse_loss_weights(args.loss_weight))
    if args.export is not None and row:
        export_weights(args.out, args.export, note=_export_note(inputs, args.data), fit_weight=args.fit_weight)
        print(f"exported inference weights to {args.export}")
    return 0
