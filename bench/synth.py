"""Synthetic-image render throughput (images/s) at 128 and 224 px on this machine's CPUs.

Renders ``--n`` training images per size with ``--workers`` processes (pyrender/EGL software
rasterisation, 2× supersampling, JPEG encoding, shard writing — the full ``synth render`` path)
into a temporary folder. Worker start-up (EGL context, body model) is included, so a few hundred
images give a figure close to the steady state of a long render. Needs ``data/mocap/poses.npz``
(``python -m data_tools mocap build``).

    python bench/synth.py [--n 200] [--workers 2] [--sizes 128 224]
"""

from __future__ import annotations

import argparse
import sys
import json
import os
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's data_tools (not installed)
from data_tools.synth.commands import DEFAULT_POSES
from data_tools.synth.pipeline import throughput


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=Path, default=DEFAULT_POSES)
    parser.add_argument("--n", type=int, default=200, help="images per size (default 200)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 224])
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    rows = []
    print(f"{args.n} images per size, {args.workers} workers, {os.cpu_count()} CPUs visible")
    print(f"{'size':>6} {'images/s':>9} {'seconds':>8} {'KiB/image':>10}")
    for size in args.sizes:
        result = throughput(args.poses, size, args.n, args.workers)
        row = {"size": size, "images_per_second": round(result["images_per_second"], 2),
               "seconds": round(result["seconds"], 1), "kib_per_image": round(result["bytes"] / result["images"] / 1024, 1)}
        rows.append(row)
        print(f"{size:>6} {row['images_per_second']:>9.2f} {row['seconds']:>8.1f} {row['kib_per_image']:>10.1f}")
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "workers": args.workers, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
