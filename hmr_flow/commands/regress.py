"""``hmr-flow regress``: pose hypotheses of the conditional model for the people of a keypoint file or photo."""

from __future__ import annotations

import argparse
from pathlib import Path

from hmr_flow.commands import SUMMARIES
from hmr_flow.commands.options import (
    add_device,
    add_hypotheses,
    add_keypoint_inputs,
    add_model_weights,
    add_overwrite,
    add_seed,
    read_keypoint_inputs,
)
from hmr_flow.validation import (
    UserInputError,
    check_output_dir,
    check_result_sets,
    exclusive_run,
    float_in,
    positive_float,
    resolve_device,
)
from hmr_flow.validation.file_kinds import HYPOTHESES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``regress`` command (its parser sets ``run=``)."""
    regress = subparsers.add_parser(
        "regress", help=SUMMARIES["regress"],
        description="Run the conditional model: for every image of a keypoint file (no image file needed: COCO "
        "width/height or --image-size give the camera), or for a photo with the RGB model, write "
        "<name>_hypotheses.npz (global_orient (P, N, 3) camera frame, body_pose (P, N, 69), betas (P, N, 10), "
        "transl (P, N, 3), log_prob (P, N), body_model; the mode at index 0) and, when the image is there, "
        "<name>_grid.png. "
        "Without --keypoints or --bbox, people are detected in --image/--images first (detected_keypoints.json).")
    add_keypoint_inputs(regress, min_keypoints=4)
    regress.add_argument("--bbox", type=float_in(), nargs=4, metavar=("X0", "Y0", "X1", "Y1"),
                         help="person box in pixels (RGB model with --image and no keypoints)")
    add_hypotheses(regress, 16, "hypotheses per person, the mode first", deprecated=("--n",))
    regress.add_argument("--out", required=True, type=Path, help="output folder")
    add_overwrite(regress, "an earlier run's results for the same images in --out")
    add_model_weights(regress, deprecated=("--weights",))
    regress.add_argument("--temperature", type=positive_float, default=1.0, help="latent scale of the random hypotheses")
    add_device(regress)
    add_seed(regress)
    regress.set_defaults(run=run_regress)


def run_regress(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    check_output_dir(args.out, [args.image, args.images, args.keypoints, args.model_weights])
    if args.bbox is not None and (args.keypoints is not None or args.image is None):
        raise UserInputError("--bbox: only with --image and without --keypoints (keypoints give their own boxes)")
    with exclusive_run(args.out):  # a second run into this folder is refused, not interleaved with this one
        return _regress_locked(args, device)


def _regress_locked(args: argparse.Namespace, device) -> int:
    from hmr_flow.fitting.keypoint_io import KeypointImage
    from hmr_flow.models.checkpoint import load_model
    from hmr_flow.models.pipeline import grid_note, regress_records

    records = [KeypointImage.empty(args.image.stem, args.image)] if args.bbox is not None else read_keypoint_inputs(args)
    if args.bbox is None and not any(record.person_ids for record in records):
        raise UserInputError(f"{args.keypoints or args.image or args.images}: no person with at least "
                             f"{args.min_keypoints} keypoints in any image")
    check_result_sets(args.out, [(f"{r.name}_hypotheses.npz", HYPOTHESES) for r in records
                                 if r.person_ids or args.bbox is not None], args.overwrite)
    model = load_model(args.model_weights, device)
    regressed = regress_records(records, model, args.out, args.hypotheses, args.focal, args.image_size,
                                args.temperature, args.seed, box=args.bbox)
    for record in regressed:
        note = grid_note(max(1, len(record.person_ids)), args.hypotheses) if record.image_path else None
        if note:
            print(f"{record.name}: {note}")
    empty = len(records) - len(regressed)
    skipped = f" ({empty} images without people skipped)" if empty else ""
    print(f"wrote hypotheses for {len(regressed)} images{skipped} to {args.out}")
    return 0
