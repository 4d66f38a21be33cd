"""``hmr-flow fit``: fit the body model to 2D keypoints (OpenPose BODY_25 or COCO-17 JSON), or to the
keypoints it detects in the photos first when no keypoint file is given."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from hmr_flow.fitting.keypoint_io import read_keypoints
from hmr_flow.fitting.pipeline import FitOptions, fit_records
from hmr_flow.fitting.schedule import DEFAULT_STAGES, scaled_config
from hmr_flow.validation import UserInputError, check_output_dir, positive_float, positive_int, resolve_device, seed_int


#: Optimiser steps of the command's fits. With 4 hypotheses per person, 60 steps fit as well as 300
#: (bench/fit_command.py, 96 validation persons: PA-MPJPE 100.4 vs 100.7 mm) at twice the speed.
COMMAND_ITERATIONS = 60


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fit`` command (its parser sets ``run=``)."""
    parser = subparsers.add_parser(
        "fit",
        help="fit the body model to 2D keypoints",
        description="Fit body pose, shape and camera translation to 2D keypoints with a pose prior. "
        "Writes <name>_params.npz, <name>_<person>.obj and, with an image and --overlays, <name>_overlay.png. Without "
        "--keypoints, people are detected in --image/--images first (written to detected_keypoints.json).",
    )
    parser.add_argument("--keypoints", type=Path, help="OpenPose BODY_25 JSON, a folder of them, or a COCO keypoint "
                        "JSON (default: detect people in --image/--images)")  # fmt: skip
    images = parser.add_mutually_exclusive_group()
    images.add_argument("--image", type=Path, help="a photo (or the image of a single OpenPose JSON file)")
    images.add_argument("--images", type=Path, help="folder of images (COCO file_name, or <stem>.jpg/.png for OpenPose)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--prior", choices=("conditional", "flow", "gmm", "none"), default="conditional",
                        help="pose prior: the conditional model's -log p(pose | the person's keypoints) (default; "
                        "global orientation included), the unconditional flow, the GMM, or none")
    parser.add_argument("--prior-path", type=Path, help="flow/GMM prior weights (default: the shipped ones)")
    parser.add_argument("--init", type=positive_int, default=4, help="initial hypotheses per person (default 4)")
    parser.add_argument("--init-from", choices=("auto", "prior", "regression"), default="auto",
                        help="initial hypotheses: the conditional model's (mode first) or facing/away + prior samples; "
                             "auto = regression with --prior conditional, else prior (default auto)")
    parser.add_argument("--regressor", type=Path,
                        help="conditional-model weights for --prior conditional / --init-from regression (default: the "
                        "shipped keypoint model; an RGB model needs the images)")
    parser.add_argument("--iterations", type=positive_int, default=COMMAND_ITERATIONS,
                        help=f"optimiser steps per fit, shared by the stages (default {COMMAND_ITERATIONS}; the "
                             f"library's default schedule has {sum(s.iterations for s in DEFAULT_STAGES)})")
    parser.add_argument("--overlays", action="store_true",
                        help="also draw <name>_overlay.png for every image given (slow: ~0.3 s per image)")
    parser.add_argument("--focal", type=positive_float, help="focal length in pixels (default sqrt(W²+H²))")
    parser.add_argument("--image-size", type=positive_int, nargs=2, metavar=("W", "H"),
                        help="image size when no image is given")
    parser.add_argument("--min-keypoints", type=positive_int, default=6, help="skip people with fewer visible keypoints (default 6)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default cpu)")
    parser.add_argument("--threads", type=positive_int, help="torch CPU threads (1 is often fastest for small batches)")
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.set_defaults(run=run)


def _conditional_model(args: argparse.Namespace):
    from hmr_flow.models import load_model
    from hmr_flow.commands.models import DEFAULT_KEYPOINT_WEIGHTS

    return load_model(args.regressor or DEFAULT_KEYPOINT_WEIGHTS, args.device)


def run(args: argparse.Namespace) -> int:
    from hmr_flow.models import conditional_prior_factory, regression_initialiser
    from hmr_flow.prior import load_prior

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args.device = str(resolve_device(args.device))
    for option, path in (("--image", args.image), ("--images", args.images)):
        if path is not None and not path.exists():
            raise UserInputError(f"{option} {path}: not found")
    check_output_dir(args.out, [args.keypoints, args.image])
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.keypoints is None:
        from hmr_flow.detection import detect_into

        if args.image is None and args.images is None:
            raise ValueError("give --keypoints, or --image/--images to detect the people first")
        records = read_keypoints(detect_into(args.out, args.image, args.images), None, args.min_keypoints)
    else:
        records = read_keypoints(args.keypoints, args.image or args.images, args.min_keypoints)
    conditional = args.prior == "conditional"
    from_regression = args.init_from == "regression" or (args.init_from == "auto" and conditional)
    model = _conditional_model(args) if conditional or from_regression else None
    torch.manual_seed(args.seed)
    options = FitOptions(
        prior=None if conditional else load_prior(args.prior, args.prior_path, device=args.device),
        prior_name=args.prior,
        num_hypotheses=args.init,
        focal=args.focal,
        image_size=tuple(args.image_size) if args.image_size else None,
        seed=args.seed,
        initialiser=regression_initialiser(model, args.init, args.seed) if from_regression else None,
        prior_factory=conditional_prior_factory(model) if conditional else None,
        config=scaled_config(max(args.iterations, len(DEFAULT_STAGES))),
        overlays=args.overlays,
    )
    written = fit_records(records, options, args.out, device=args.device)
    people = sum(len(r.person_ids) for r in records)
    print(f"fitted {people} people in {len(records)} images; wrote {len(written)} files to {args.out}")
    return 0
