"""``python -m data_tools synth {render,preview}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hmr_flow.validation import check_output_dir, exclusive_run, non_negative_int, positive_int, seed_int

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POSES = REPO_ROOT / "data" / "mocap" / "poses.npz"


def _run_render(args: argparse.Namespace) -> int:
    check_output_dir(args.out, [args.poses])
    with exclusive_run(args.out):  # a second run into this folder is refused, not interleaved with this one
        return _render_locked(args)


def _render_locked(args: argparse.Namespace) -> int:
    from data_tools.synth.pipeline import RenderJob, render_set

    job = RenderJob(poses=args.poses, split=args.split, n=args.n, size=args.size, out=args.out, seed=args.seed,
                    workers=args.workers, shard_size=args.shard_size, supersample=args.supersample,
                    split_file=args.split_file, model=args.model, overwrite=args.overwrite)
    summary = render_set(job)
    print(f"wrote {summary['images']} images ({summary['bytes'] / 2**20:.1f} MiB) to {args.out} in "
          f"{summary['seconds']:.0f} s: {summary['images_per_second']:.2f} images/s")
    return 0


def _run_preview(args: argparse.Namespace) -> int:
    from data_tools.synth.preview import preview

    print(f"wrote {preview(args.data, args.out, count=args.count, columns=args.columns)}")
    return 0


def register(groups: argparse._SubParsersAction) -> None:
    """Add the ``synth`` command group."""
    group = groups.add_parser("synth", help="synthetic training images with exact ground truth")
    commands = group.add_subparsers(dest="command", required=True)

    p = commands.add_parser("render", help="render a synthetic set (shards + manifest.json)")
    p.add_argument("--poses", type=Path, default=DEFAULT_POSES, help="mocap pose file (default: data/mocap/poses.npz)")
    p.add_argument("--split", choices=("train", "val", "all"), required=True, help="which mocap subjects to use")
    p.add_argument("--split-file", type=Path, default=None, help="split .npz (default: split.npz beside --poses)")
    p.add_argument("--n", type=positive_int, required=True, help="number of images")
    p.add_argument("--size", type=positive_int, default=128, help="crop side in pixels, a multiple of 8")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--workers", type=non_negative_int, default=2, help="render processes (0 = in this process; default 2)")
    p.add_argument("--seed", type=seed_int, default=0, help="same seed → same images")
    p.add_argument("--shard-size", type=positive_int, default=500, help="images per shard")
    p.add_argument("--supersample", type=positive_int, default=2, help="anti-aliasing factor")
    p.add_argument("--model", type=Path, default=None, help="SMPL-format model file (default: open body model)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing set in --out")
    p.set_defaults(run=_run_render)

    p = commands.add_parser("preview", help="PNG contact sheet of a set, keypoints drawn")
    p.add_argument("--data", type=Path, required=True, help="folder of a rendered set")
    p.add_argument("--out", type=Path, required=True, help="output PNG")
    p.add_argument("--count", type=positive_int, default=24, help="number of images")
    p.add_argument("--columns", type=positive_int, default=6)
    p.set_defaults(run=_run_preview)


def main(argv: list[str] | None = None) -> int:
    """Run the group standalone (``python -m data_tools.synth.commands ...``)."""
    parser = argparse.ArgumentParser(prog="synth")
    register(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(["synth", *(sys.argv[1:] if argv is None else argv)])
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
