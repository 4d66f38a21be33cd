"""``hmr-flow fit``: fit the body model to 2D keypoints (OpenPose BODY_25 or COCO-17 JSON), or to the
keypoints it detects in the photos first when no keypoint file is given.

A weights file the chosen settings would never open is refused (exit 2), not ignored: whoever names
``--prior-weights`` or ``--model-weights`` believes the fit used it (:func:`check_weights_used`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from hmr_flow.commands import SUMMARIES
from hmr_flow.commands.options import (
    add_device,
    add_hypotheses,
    add_keypoint_inputs,
    add_model_weights,
    add_overwrite,
    add_prior_weights,
    add_seed,
    add_threads,
    read_keypoint_inputs,
    threads,
)
from hmr_flow.commands.fit_video import add_sequence_options, check_per_image, is_sequence, run_sequence
from hmr_flow.fitting.outputs import MESH_FORMATS
from hmr_flow.fitting.sequence import SEQUENCE_HYPOTHESES, SEQUENCE_ITERATIONS
from hmr_flow.fitting.pipeline import FitOptions, fit_records, keypoint_agreement, keypoint_error_px
from hmr_flow.fitting.schedule import DEFAULT_ITERATIONS, LEARNING_RATES, FitConfig, scaled_config
from hmr_flow.validation import (
    UserInputError,
    check_memory,
    check_output_dir,
    check_result_sets,
    exclusive_run,
    non_negative_float,
    positive_float,
    positive_int,
    resolve_device,
)
from hmr_flow.validation.file_kinds import FIT_PARAMETERS

#: Bytes of memory per hypothesis of one person while fitting (body, losses, gradients and optimiser state;
#: an upper estimate): ``-n`` × the people fitted together must fit.
FIT_HYPOTHESIS_BYTES = 32_000


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fit`` command (its parser sets ``run=``)."""
    parser = subparsers.add_parser(
        "fit",
        help=SUMMARIES["fit"],
        description="Fit body pose, shape and camera translation to 2D keypoints with a pose prior. "
        "Writes <name>_params.npz, <name>_<person>.ply (or .obj/.glb: --mesh-format) and, with an image and --overlays, "
        "<name>_overlay.png, and "
        "prints how well the fitted keypoints match the given ones (PCK@0.1 of each person's keypoint box). Without "
        "--keypoints, people are detected in --image/--images first (written to detected_keypoints.json). With --video "
        "or --sequence, a clip's people are followed across frames and fitted smoothly: <stem>_track<k>.npz per person.",
    )
    add_keypoint_inputs(parser, min_keypoints=6)
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    add_overwrite(parser, "an earlier run's results for the same images in --out")
    from hmr_flow.models.conditional_prior import ConditionalPrior
    from hmr_flow.prior import PRIOR_KINDS

    parser.add_argument("--prior", choices=(ConditionalPrior.kind, *PRIOR_KINDS), default=ConditionalPrior.kind,
                        help="pose prior: the conditional model's -log p(pose | the person's keypoints) (global "
                             "orientation included), or the unconditional " + ", ".join(
                                 f"{kind} ({entry.help})" for kind, entry in PRIOR_KINDS.items()))
    add_prior_weights(parser, deprecated=("--prior-path",))
    add_model_weights(parser, deprecated=("--regressor",))
    add_hypotheses(parser, None, f"initial hypotheses per person, the best fit is kept (default: "
                                 f"{FitConfig.num_hypotheses} per image, {SEQUENCE_HYPOTHESES} per frame of a clip)",
                   deprecated=("--init",))
    parser.add_argument("--init-from", choices=("auto", "prior", "regression"), default="auto",
                        help="initial hypotheses: the conditional model's (mode first) or facing/away + prior samples "
                             "(with --prior conditional: the conditional model's samples); auto = regression with "
                             "--prior conditional or for a clip, else prior")
    parser.add_argument("--iterations", type=positive_int,
                        help=f"optimiser steps per fit, shared by the stages in proportion (default: "
                             f"{DEFAULT_ITERATIONS} per image, {SEQUENCE_ITERATIONS} for a clip)")
    parser.add_argument("--optimizer", choices=tuple(LEARNING_RATES), default=FitConfig.optimizer,
                        help="adam: per-parameter steps, suits a batch of independent people; lbfgs: strong-Wolfe line "
                             "search on the summed objective")
    parser.add_argument("--learning-rate", type=positive_float,
                        help="Adam learning rate / LBFGS step size (default: "
                             + ", ".join(f"{rate:g} for {name}" for name, rate in LEARNING_RATES.items()) + ")")
    own = ", ".join(f"{entry.prior.kind} {entry.prior.fit_weight:g}" for entry in PRIOR_KINDS.values() if entry.density)
    parser.add_argument("--prior-weight", type=non_negative_float,
                        help=f"weight of the pose prior's loss (default: the prior's own fit_weight: {own}; "
                             f"{ConditionalPrior.kind}: the one stored with the model's weights)")
    parser.add_argument("--body-model", type=Path,
                        help="body model file: an official SMPL .pkl/.npz (neutral) instead of the open model")
    parser.add_argument("--mesh-format", choices=MESH_FORMATS,
                        help="file format of the <name>_<person> meshes, written by trimesh: binary ply (default) and "
                             "glb take ~5 ms per mesh, obj text ~85 ms; clips write a mesh per frame only when given")
    parser.add_argument("--overlays", action="store_true",
                        help="also draw <name>_overlay.png for every image given (slow: ~0.3 s per image)")
    add_device(parser)
    add_threads(parser)
    add_seed(parser)
    add_sequence_options(parser)
    parser.set_defaults(run=run)


def _config(args: argparse.Namespace, iterations: int = DEFAULT_ITERATIONS,
            hypotheses: int = FitConfig.num_hypotheses) -> FitConfig:
    """The fit's settings from the options; ``iterations`` and ``hypotheses`` where they are not given."""
    config = FitConfig(optimizer=args.optimizer, learning_rate=args.learning_rate, prior_weight=args.prior_weight,
                       num_hypotheses=args.hypotheses or hypotheses)
    return scaled_config(max(args.iterations or iterations, len(config.stages)), config)


def check_weights_used(args: argparse.Namespace, from_regression: bool) -> None:
    """:class:`UserInputError` for a ``--prior-weights`` or ``--model-weights`` file that these settings
    would not open: ``--prior conditional`` takes its prior from the conditional model, and the model is
    only loaded for ``--prior conditional`` or for initial hypotheses from regression."""
    if args.prior == "conditional" and args.prior_weights is not None:
        raise UserInputError(f"--prior-weights {args.prior_weights}: not used with --prior conditional (its prior is "
                             f"the conditional model, --model-weights); add --prior flow or --prior gmm to fit with "
                             f"this prior")
    if args.prior != "conditional" and not from_regression and args.model_weights is not None:
        raise UserInputError(f"--model-weights {args.model_weights}: not used with --prior {args.prior} --init-from "
                             f"{args.init_from} (the model is loaded for --prior conditional or --init-from "
                             f"regression); add --init-from regression to start from its hypotheses")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    clip = is_sequence(args)  # a clip's frames start from the conditional model's hypotheses whatever the prior
    args.device = str(resolve_device("cpu" if clip and args.device == "auto" else args.device))
    conditional = args.prior == "conditional"
    from_regression = args.init_from == "regression" or (args.init_from == "auto" and (conditional or clip))
    check_weights_used(args, from_regression)
    if (count := threads(args)) is not None:
        torch.set_num_threads(count)
    if clip:
        return run_sequence(args, _config(args, SEQUENCE_ITERATIONS, SEQUENCE_HYPOTHESES), from_regression)
    check_per_image(args)
    for option, path in (("--image", args.image), ("--images", args.images), ("--body-model", args.body_model)):
        if path is not None and not path.exists():
            raise UserInputError(f"{option} {path}: not found")
    check_output_dir(args.out, [args.keypoints, args.image])
    with exclusive_run(args.out):  # a second run into this folder is refused, not interleaved with this one
        return _fit_locked(args, conditional, from_regression)


def _fit_locked(args: argparse.Namespace, conditional: bool, from_regression: bool) -> int:
    from hmr_flow.models import conditional_fitting, load_model
    from hmr_flow.prior import load_prior

    config = _config(args)
    records = read_keypoint_inputs(args)
    empty = sum(1 for record in records if not record.person_ids)  # fit_records warns about them
    if empty == len(records):
        raise UserInputError(f"{args.keypoints or args.image or args.images}: no person with at least "
                             f"{args.min_keypoints} keypoints in any of the {len(records)} images")
    check_result_sets(args.out, [(f"{r.name}_params.npz", FIT_PARAMETERS) for r in records if r.person_ids],
                      args.overwrite)
    together = max(min(sum(len(r.person_ids) for r in records), FitOptions.batch_people),
                   *(len(r.person_ids) for r in records))
    check_memory(f"-n {config.num_hypotheses}", f"fitting {together} people × {config.num_hypotheses} hypotheses",
                 together * config.num_hypotheses * FIT_HYPOTHESIS_BYTES)
    per_image = None
    if conditional or from_regression:  # the model starts and/or regularises each image's fit
        model = load_model(args.model_weights, args.device)
        if from_regression:
            per_image = conditional_fitting(model, config.num_hypotheses, args.seed, prior=conditional)
        else:  # --prior conditional --init-from prior: the conditional prior's own samples
            per_image = conditional_fitting(model, config.num_hypotheses, args.seed, config.sample_temperature,
                                            start="samples")
    torch.manual_seed(args.seed)
    options = FitOptions(
        prior=None if conditional else load_prior(args.prior, args.prior_weights, device=args.device),
        prior_name=args.prior,
        focal=args.focal,
        image_size=tuple(args.image_size) if args.image_size else None,
        seed=args.seed,
        per_image=per_image,
        config=config,
        overlays=args.overlays,
        body_model=args.body_model,
        mesh_format=args.mesh_format or "ply",
    )
    agreement = {}
    written = fit_records(records, options, args.out, device=args.device,
                          on_image=lambda record, result: agreement.update({record.name: zip(
                              keypoint_agreement(record, result.keypoints_2d),
                              keypoint_agreement(record, result.keypoints_2d, alpha=0.05),
                              keypoint_error_px(record, result.keypoints_2d))}))
    fitted = [record for record in records if record.person_ids]
    for record in fitted:
        print(f"{record.name}: {len(record.person_ids)} people, fitted keypoints within 10 % / 5 % of the box, "
              "mean distance: " + "; ".join(f"{100 * coarse:.0f} % / {100 * fine:.0f} %, {pixels:.1f} px"
                                            for coarse, fine, pixels in agreement[record.name]))
    people = sum(len(r.person_ids) for r in fitted)
    skipped = f" ({empty} images without people skipped)" if empty else ""
    print(f"fitted {people} people in {len(fitted)} images{skipped}; wrote {len(written)} files to {args.out}")
    return 0
