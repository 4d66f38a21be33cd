"""``hmr-flow detect``: find people and their COCO-17 keypoints in photos (BlazePose, offline)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hmr_flow.commands.options import add_image_inputs, add_threads
from hmr_flow.validation import check_output_path, int_in

#: Most ``--tiles`` levels. Level ``l`` adds about ``(2^(l+1) - 1)²`` tiles of side ``max(W, H) / 2^l`` (9, 49,
#: 225, …: the cost grows fourfold per level, and ``--tiles 99`` would run for hours); at level 3 the tiles
#: of a 2000 px photo are already about the detector's 224 px input, so deeper levels add no detail.
MAX_TILE_LEVELS = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``detect`` command (its parser sets ``run=``)."""
    parser = subparsers.add_parser(
        "detect",
        help="detect people and their 2D keypoints in photos",
        description="Detect people and their COCO-17 keypoints (with confidences) with BlazePose, offline; "
        "writes a COCO keypoint file that 'hmr-flow fit --keypoints' and 'regress --keypoints' read.",
    )
    add_image_inputs(parser, "one photo", "a folder of photos (.jpg .jpeg .png .bmp .webp)", required=True)
    parser.add_argument("--out", required=True, type=Path, help="COCO keypoint JSON to write")
    parser.add_argument("--tiles", type=int_in(0, MAX_TILE_LEVELS), default=None, help="tile levels searched besides "
                        "the whole image, for small people (default 0: whole image only; 1: also tiles of half the "
                        f"image, ~4× slower; at most {MAX_TILE_LEVELS}: each level costs ~4× the one before)")
    add_threads(parser, "CPU threads of the networks", default=1)
    parser.set_defaults(run=run)


def make_detector(tiles: int | None = None, threads: int = 1):
    """The BlazePose detector with the command-line settings (``None`` = defaults; argparse has checked the
    ranges)."""
    from hmr_flow.detection.pipeline import TILE_LEVELS, BlazePose

    return BlazePose(threads=threads, tile_levels=TILE_LEVELS if tiles is None else tiles)


def run(args: argparse.Namespace) -> int:
    from hmr_flow.detection.run import detect_to_file, image_paths

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    paths = image_paths(args.image, args.images)
    check_output_path(args.out, paths)
    path, people = detect_to_file(paths, args.out, make_detector(args.tiles, args.threads))
    print(f"found {people} people in {len(paths)} images; wrote {path}")
    return 0
