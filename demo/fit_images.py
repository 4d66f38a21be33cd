"""Fit the body model to the people in your own photos, from their 2D keypoints.

    python demo/fit_images.py --images photos/ --keypoints person_keypoints.json --out fits/
    python demo/fit_images.py --images frames/ --keypoints openpose_json/ --out fits/ --prior gmm

Keypoints: a COCO person-keypoint annotation file (COCO-17; images found by ``file_name`` in
``--images``) or OpenPose BODY_25 output (one ``<stem>_keypoints.json`` per image, or a folder of
them; images found as ``<stem>.jpg|.png`` in ``--images``). Per image ``<name>`` it writes
``<name>_params.npz`` (pose, shape, camera-frame translation, fitted keypoints…), one
``<name>_<person>.obj`` per person and ``<name>_overlay.png`` (keypoints | mesh | side view), and prints
how well the fitted keypoints match the given ones (PCK@0.1 of each person's keypoint box).
The same as ``hmr-flow fit`` plus that summary and a ``--iterations`` knob for quick previews.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import torch

from hmr_flow.cli import ArgumentParser, run_guarded
from hmr_flow.fitting import (
    DEFAULT_STAGES,
    FitOptions,
    KeypointImage,
    fit_records,
    keypoint_agreement,
    read_keypoints,
    scaled_config,
)
from hmr_flow.validation import check_output_dir, positive_float, positive_int, resolve_device, seed_int

DEFAULT_ITERATIONS = sum(stage.iterations for stage in DEFAULT_STAGES)


def fit_images(keypoints: Path, images: Path | None, out: Path, prior_kind: str = "flow", hypotheses: int = 4,
               iterations: int = DEFAULT_ITERATIONS, focal: float | None = None, min_keypoints: int = 6,
               device: str = "cpu", seed: int = 0) -> list[tuple[KeypointImage, np.ndarray]]:  # fmt: skip
    """Fit every person of every image and write the files (see the module docstring).

    Returns:
        per image with people, its record and the PCK@0.1 ``(P,)`` of its fitted keypoints.
    """
    from hmr_flow.prior import load_prior

    records = read_keypoints(keypoints, images, min_keypoints)
    options = FitOptions(prior=load_prior(prior_kind, device=device), prior_name=prior_kind, num_hypotheses=hypotheses,
                         focal=focal, config=scaled_config(iterations), seed=seed)  # fmt: skip
    fit_records(records, options, out, device=device)
    return [(r, keypoint_agreement(r, out / f"{r.name}_params.npz")) for r in records if r.person_ids]


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 2)[2],
                            formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--images", type=Path, help="folder of the photos (overlays need them; without: no overlay)")
    parser.add_argument("--keypoints", type=Path, required=True,
                        help="COCO keypoint JSON, an OpenPose JSON file, or a folder of OpenPose JSON files")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--prior", choices=("flow", "gmm", "none"), default="flow", help="pose prior (default flow)")
    parser.add_argument("--hypotheses", type=positive_int, default=4, help="initialisations per person (default 4)")
    parser.add_argument("--iterations", type=positive_int, default=DEFAULT_ITERATIONS,
                        help=f"optimiser steps in all (default {DEFAULT_ITERATIONS}; fewer = faster, rougher)")
    parser.add_argument("--focal", type=positive_float, help="focal length in pixels (default sqrt(W² + H²))")
    parser.add_argument("--min-keypoints", type=positive_int, default=6, help="skip people with fewer keypoints (default 6)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--seed", type=seed_int, default=0)
    args = parser.parse_args(argv)
    return run_guarded(parser.prog, lambda: _run(args), getattr(args, "debug", False))


def _run(args: argparse.Namespace) -> int:
    device = str(resolve_device(args.device))
    check_output_dir(args.out, [args.keypoints])
    if device == "cpu":
        torch.set_num_threads(1)  # small batched problems: one thread is fastest
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    results = fit_images(args.keypoints, args.images, args.out, args.prior, args.hypotheses, args.iterations,
                         args.focal, args.min_keypoints, device, args.seed)  # fmt: skip
    for record, agreement in results:
        print(f"{record.name}: {len(record.person_ids)} people, fitted keypoints within 10 % of the box: "
              + ", ".join(f"{100 * a:.0f} %" for a in agreement))  # fmt: skip
    people = sum(len(r.person_ids) for r, _ in results)
    print(f"fitted {people} people in {len(results)} images into {args.out}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
