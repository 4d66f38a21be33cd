"""``hmr-flow detect``: find people and their COCO-17 keypoints in photos (BlazePose, offline)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hmr_flow.commands import SUMMARIES
from hmr_flow.commands.options import add_image_inputs, add_overwrite, add_recall, add_threads, threads
from hmr_flow.validation import check_output_file, exclusive_run
from hmr_flow.validation.file_kinds import KEYPOINTS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``detect`` command (its parser sets ``run=``)."""
    parser = subparsers.add_parser(
        "detect",
        help=SUMMARIES["detect"],
        description="Detect people and their COCO-17 keypoints (with confidences) with BlazePose, offline; "
        "writes a COCO keypoint file that 'hmr-flow fit --keypoints' and 'regress --keypoints' read.",
    )
    add_image_inputs(parser, "one photo", "a folder of photos (.jpg .jpeg .png .bmp .webp)", required=True)
    parser.add_argument("--out", required=True, type=Path, help="COCO keypoint JSON to write")
    add_overwrite(parser, "an existing keypoint file at --out")
    add_recall(parser)
    add_threads(parser, "CPU threads of the networks", default=1)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hmr_flow.detection import detect_images, image_paths, make_detector
    from hmr_flow.fitting.keypoint_io import write_coco

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    paths = image_paths(args.image, args.images)
    check_output_file(args.out, KEYPOINTS, paths, args.overwrite)
    with exclusive_run(args.out):
        detections = detect_images(paths, make_detector(args.recall, threads(args)))
        path = write_coco(args.out, detections)
    print(f"found {sum(len(d.people) for d in detections)} people in {len(paths)} images; wrote {path}")
    return 0
