"""Score how plausible body poses are under a pose prior (log-likelihood and held-out percentile).

    python demo/score_poses.py --poses my_poses.npz --out scores.csv

``--poses``: an ``.npz`` with ``body_pose`` (``(N, 69)`` SMPL axis-angle or ``(N, 23, 3, 3)`` rotation
matrices) or ``poses`` (``(N, ≥ 72)``, AMASS/SMPL layout). Writes a CSV with, per pose, the
log-likelihood (nats) and the percentile (share of held-out real poses with a lower log-likelihood:
≈ 50 is a typical real pose, 0 is less plausible than every held-out pose). A thin wrapper over
``hmr-flow prior score``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hmr_flow.cli import ArgumentParser
from hmr_flow.cli import main as hmr_flow


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 2)[2],
                            formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--poses", type=Path, required=True, help=".npz with body_pose (N, 69) or poses (N, ≥72)")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write")
    parser.add_argument("--prior", choices=("flow", "gmm"), default="flow", help="prior kind (default flow)")
    parser.add_argument("--path", type=Path, help="prior weights (default: the shipped ones)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    args = parser.parse_args(argv)
    command = ["prior", "score", "--poses", str(args.poses), "--out", str(args.out), "--prior", args.prior,
               "--device", args.device]  # fmt: skip
    if args.path is not None:
        command += ["--path", str(args.path)]
    return hmr_flow((["--debug"] if getattr(args, "debug", False) else []) + command)


if __name__ == "__main__":
    sys.exit(main())
