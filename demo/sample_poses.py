"""Sample body poses from a pose prior and render them as a grid of meshes.

    python demo/sample_poses.py --out samples/ -n 16 --temperature 0.8

Writes ``samples/samples.npz`` (``body_pose (N, 69)`` SMPL axis-angle, ``log_likelihood (N,)`` nats,
``percentile (N,)`` = share of held-out real poses scoring lower) and ``samples/samples.png`` (the
posed open body model, labelled with the percentile). A thin wrapper over ``hmr-flow prior sample``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hmr_flow.cli import ArgumentParser
from hmr_flow.cli import main as hmr_flow
from hmr_flow.validation import positive_float, positive_int, seed_int


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 2)[2],
                            formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("-n", type=positive_int, default=16, help="number of poses (default 16)")
    parser.add_argument("--temperature", type=positive_float, default=1.0,
                        help="spread of the samples: 1 = the prior, < 1 = more typical poses (default 1)")
    parser.add_argument("--prior", choices=("flow", "gmm"), default="flow", help="prior kind (default flow)")
    parser.add_argument("--path", type=Path, help="prior weights (default: the shipped ones)")
    parser.add_argument("--columns", type=positive_int, default=4, help="grid columns (default 4)")
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    args = parser.parse_args(argv)
    command = ["prior", "sample", "-n", str(args.n), "--temperature", str(args.temperature),
               "--out", str(args.out / "samples.npz"), "--render", str(args.out / "samples.png"),
               "--max-render", str(args.n), "--columns", str(args.columns), "--seed", str(args.seed),
               "--prior", args.prior, "--device", args.device]  # fmt: skip
    if args.path is not None:
        command += ["--path", str(args.path)]
    return hmr_flow((["--debug"] if getattr(args, "debug", False) else []) + command)


if __name__ == "__main__":
    sys.exit(main())
