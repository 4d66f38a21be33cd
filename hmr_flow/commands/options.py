"""Options that several commands share: one flag name, one meaning and one help text everywhere.

Renamed flags keep their old spelling for one release as a hidden, deprecated alias that still works and
prints one warning line (``hmr-flow: warning: --init is deprecated; use --hypotheses``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hmr_flow.validation import (
    UserInputError,
    capped_threads,
    check_result_sets,
    float_in,
    positive_float,
    positive_int,
    seed_int,
)
from hmr_flow.validation.file_kinds import KEYPOINTS

log = logging.getLogger(__name__)


class _DeprecatedAlias(argparse.Action):
    """Stores like the option it stands for and warns once that the spelling is deprecated."""

    def __init__(self, option_strings, dest, replacement: str, **kwargs):
        self.replacement = replacement
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        prog = getattr(parser, "root_prog", parser.prog)
        print(f"{prog}: warning: {option_string} is deprecated; use {self.replacement}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_option(parser: argparse.ArgumentParser | argparse._ActionsContainer, *names: str,
               deprecated: tuple[str, ...] = (), **kwargs) -> argparse.Action:
    """``parser.add_argument(*names, **kwargs)`` plus each ``deprecated`` spelling as a hidden alias."""
    action = parser.add_argument(*names, **kwargs)
    long_name = next(name for name in names if name.startswith("--"))
    for old in deprecated:
        parser.add_argument(old, dest=action.dest, type=action.type, nargs=action.nargs, default=argparse.SUPPRESS,
                            help=argparse.SUPPRESS, action=_DeprecatedAlias, replacement=long_name)
    return action


#: Largest learning rate a training command accepts (larger ones only make the training diverge).
MAX_LR = 1.0


def add_learning_rate(parser: argparse.ArgumentParser, default: float) -> None:
    """``--lr`` of the training commands, in ``(0, MAX_LR]``."""
    parser.add_argument("--lr", type=float_in(0.0, MAX_LR), default=default, help=f"learning rate in (0, {MAX_LR:g}]")


def add_device(parser: argparse.ArgumentParser, note: str = "") -> None:
    """``--device`` (default ``auto``: the GPU when torch sees one, else the CPU); ``note`` adds to its help."""
    parser.add_argument("--device", default="auto",
                        help="torch device: auto (CUDA when available, else CPU), cpu, cuda, cuda:1, …"
                        + (f" ({note})" if note else ""))


def add_seed(parser: argparse.ArgumentParser, default: int | None = 0) -> None:
    """``--seed`` (the same seed gives the same result on the same machine)."""
    parser.add_argument("--seed", type=seed_int, default=default, help="random seed")


def add_prior_weights(parser: argparse.ArgumentParser, deprecated: tuple[str, ...] = ()) -> None:
    """``--prior-weights PATH``: a prior file of the chosen kind instead of its shipped one."""
    from hmr_flow.prior import DEFAULT_PATHS

    shipped = ", ".join(f"{kind}: {path.name}" for kind, path in DEFAULT_PATHS.items())
    add_option(parser, "--prior-weights", type=Path, deprecated=deprecated,
               help=f"prior file of the chosen kind to use instead of its shipped weights (in hmr_flow/assets: {shipped})")


def add_model_weights(parser: argparse.ArgumentParser, deprecated: tuple[str, ...] = ()) -> None:
    """``--model-weights PATH``: conditional-model weights instead of the shipped keypoint model."""
    add_option(parser, "--model-weights", type=Path, deprecated=deprecated,
               help="conditional-model weights (training checkpoint or export) instead of the shipped keypoint model "
                    "(hmr_flow/assets/hmr_keypoints.pt; hmr_synth128.pt there is the RGB model)")


def add_hypotheses(parser: argparse.ArgumentParser, default: int, help: str,
                   deprecated: tuple[str, ...] = ()) -> None:
    """``-n/--hypotheses N``: pose hypotheses per person."""
    add_option(parser, "-n", "--hypotheses", type=positive_int, default=default, deprecated=deprecated, help=help)


def add_image_inputs(parser: argparse.ArgumentParser, image_help: str, images_help: str,
                     required: bool = False) -> None:
    """``--image PHOTO | --images FOLDER`` (mutually exclusive)."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--image", type=Path, help=image_help)
    group.add_argument("--images", type=Path, help=images_help)


def add_keypoint_inputs(parser: argparse.ArgumentParser, min_keypoints: int) -> None:
    """What ``fit`` and ``regress`` read: ``--keypoints``, ``--image``/``--images``, ``--image-size``,
    ``--focal``, ``--min-keypoints``."""
    parser.add_argument("--keypoints", type=Path,
                        help="COCO keypoint JSON (annotations or a results list), OpenPose BODY_25 JSON or a folder of "
                             "them (default: detect the people in --image/--images)")
    add_image_inputs(parser, "a photo (the image of a single-image keypoint file)",
                     "folder of images (COCO file_name, or <stem>.jpg/.png for OpenPose)")
    parser.add_argument("--image-size", type=positive_int, nargs=2, metavar=("W", "H"),
                        help="image size in pixels when the keypoint file does not give it and no image is given")
    parser.add_argument("--focal", type=positive_float, help="focal length in pixels (default: sqrt(W²+H²))")
    parser.add_argument("--min-keypoints", type=positive_int, default=min_keypoints,
                        help="skip people with fewer visible keypoints")
    add_recall(parser)


def add_recall(parser: argparse.ArgumentParser) -> None:
    """``--recall fast|high``: which person proposals the detector searches
    (:data:`hmr_flow.detection.pipeline.RECALL`, default :data:`~hmr_flow.detection.pipeline.DEFAULT_RECALL`)."""
    from hmr_flow.detection.pipeline import DEFAULT_RECALL, RECALL

    parser.add_argument("--recall", choices=tuple(RECALL), default=DEFAULT_RECALL,
                        help="person search when detecting: 'fast' (whole image + faces, ~0.2 s per photo) "
                             "or 'high' (also 2× and 4× tiles and small faces, for small or cut-off people; seconds "
                             "per crowded photo)")


def read_keypoint_inputs(args: argparse.Namespace) -> list:
    """The :class:`~hmr_flow.fitting.KeypointImage` records of ``--keypoints`` (with ``--image``/``--images``
    for the photos), or, without a keypoint file, of the people detected in ``--image``/``--images`` first
    (also written to ``<--out>/detected_keypoints.json``, which names its images; not read back)."""
    from hmr_flow.fitting.keypoint_io import DETECTED_NAME, detected_records, read_keypoints

    if args.keypoints is not None:
        return read_keypoints(args.keypoints, args.image or args.images, args.min_keypoints)
    if args.image is None and args.images is None:
        raise UserInputError("give --keypoints, or --image/--images to detect the people first")
    from hmr_flow.detection import detect_images, image_paths, make_detector

    paths = image_paths(args.image, args.images)
    path = args.out / DETECTED_NAME
    check_result_sets(args.out, [(DETECTED_NAME, KEYPOINTS)], args.overwrite)
    detections = detect_images(paths, make_detector(args.recall))
    records = detected_records(detections, path, args.min_keypoints)
    log.info("detected %d people in %d images: %s", sum(len(d.people) for d in detections), len(paths), path)
    return records


def add_threads(parser: argparse.ArgumentParser, help: str = "torch CPU threads (default: torch's choice; 1 is often "
                "fastest for small batches)", default: int | None = None) -> None:
    """``--threads N`` (at most the machine's cores: :func:`threads`)."""
    parser.add_argument("--threads", type=positive_int, default=default, help=help + "; at most the CPU cores")


def threads(args: argparse.Namespace) -> int | None:
    """``--threads`` capped at the CPU cores (more only oversubscribe them: 5× slower at 999), with one warning
    line when capped; ``None`` when not given."""
    if args.threads is None:
        return None
    count, note = capped_threads(args.threads)
    if note:
        print(f"hmr-flow: warning: {note}", file=sys.stderr)
    return count


def add_overwrite(parser: argparse.ArgumentParser, what: str) -> None:
    """``--overwrite``: replace ``what`` (an earlier output of the command's own kind; never a file of another kind)."""
    parser.add_argument("--overwrite", action="store_true", help=f"replace {what} (files of another kind never are)")
