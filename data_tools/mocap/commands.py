"""``python -m data_tools mocap {convert,report,build,sheet}``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from data_tools.mocap.build import (
    SHARED_FOLDERS,
    ClipJob,
    build,
    clip_label,
    convert_many,
    shared_jobs,
    summary_text,
)
from data_tools.mocap.convert import find_clips, infer_subject
from data_tools.mocap.dataset import pack_clips
from data_tools.mocap.quality import clip_rows, rig_rows
from data_tools.mocap.skeleton import TargetSkeleton
from hmr_flow.commands.options import add_overwrite
from hmr_flow.files import save_npz, write_text
from hmr_flow.validation import (
    UserInputError,
    check_output_dir,
    check_output_file,
    exclusive_run,
    non_negative_float,
    positive_float,
    positive_int,
)
from hmr_flow.validation import file_kinds as kinds

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_MOCAP = REPO_ROOT.parent / "shared" / "data" / "mocap"


def _target(args: argparse.Namespace) -> TargetSkeleton:
    return TargetSkeleton.load(args.model)


def _jobs(args: argparse.Namespace) -> list[ClipJob]:
    files = find_clips(args.inputs)
    return [ClipJob(f, clip_label(f), args.subject if args.subject is not None else infer_subject(f), args.native_fps,
                    skeleton) for f, skeleton in zip(files, _skeletons(args, files))]


def _skeletons(args: argparse.Namespace, files: list[Path]) -> list[Path | None]:
    """Per input file, ``--asf`` for an AMC clip (``None``: the skeleton beside it); ``--asf`` is refused
    when no input (``files``: the ones given on the command line) is an AMC clip."""
    if args.asf is None:
        return [None] * len(files)
    if not any(f.suffix.lower() == ".amc" for f in files):
        raise UserInputError(f"--asf {args.asf}: none of the inputs is an .amc clip")
    if not args.asf.is_file():
        raise UserInputError(f"--asf {args.asf}: no such file")
    return [args.asf if f.suffix.lower() == ".amc" else None for f in files]


def _options(args: argparse.Namespace) -> dict:
    """Conversion options shared by convert/report/build."""
    return {"fps": args.fps, "workers": args.workers, "fit_betas": not args.no_betas,
            "refine_positions": not args.no_refine}


def _run_convert(args: argparse.Namespace) -> int:
    check_output_file(args.out, kinds.MOCAP_POSES, args.inputs, args.overwrite)
    with exclusive_run(args.out):  # a second run on this --out is refused, not interleaved with this one
        return _convert_locked(args)


def _convert_locked(args: argparse.Namespace) -> int:
    clips = convert_many(_jobs(args), _target(args), dedupe_deg=args.dedupe_deg, **_options(args))
    arrays = pack_clips(clips)
    save_npz(arrays, args.out)
    print(f"wrote {args.out}: {len(arrays['subject'])} frames from {len(clips)} clips at {args.fps:g} fps")
    print(summary_text(rig_rows(clips), clip_rows(clips)))
    return 0


def _run_report(args: argparse.Namespace) -> int:
    if not args.inputs and args.asf is not None:
        raise UserInputError(f"--asf {args.asf}: applies to .amc inputs, and none are given")
    if args.json:
        check_output_file(args.json, kinds.JSON, args.inputs, args.overwrite, option="--json")
    jobs = _jobs(args) if args.inputs else shared_jobs(args.mocap_root, args.folders)
    clips = convert_many(jobs, _target(args), **_options(args))
    rigs, rows = rig_rows(clips), clip_rows(clips)
    print(summary_text(rigs, rows, worst=args.worst))
    if args.json:
        write_text(args.json, json.dumps({"rigs": rigs, "clips": rows}, indent=1))
        print(f"wrote {args.json}")
    return 0


def _run_build(args: argparse.Namespace) -> int:
    check_output_dir(args.out)
    summary = build(args.mocap_root, args.out, _target(args), dedupe_deg=args.dedupe_deg, folders=args.folders,
                    **_options(args))
    print(summary_text(summary["rigs"], summary["clips"]))
    print("\nFrames per folder (training / validation):")
    for folder, counts in summary["frames_per_folder"].items():
        print(f"  {folder:14s} {counts['frames']:7,d}  ({counts['train']:,d} / {counts['val']:,d})")
    print(f"\n{summary['frames']:,d} frames, {summary['train_frames']:,d} training; validation subjects "
          f"{summary['val_subjects']}: {summary['val_frames']:,d} frames ({100 * summary['val_fraction']:.1f} %); "
          f"{summary['seconds']} s. Wrote {args.out}/poses.npz, split.npz, report.json")
    return 0


def _run_sheet(args: argparse.Namespace) -> int:
    from data_tools.mocap.sheet import contact_sheet

    files = find_clips(args.inputs) if args.inputs else [args.mocap_root / c for c in DEFAULT_SHEET_CLIPS]
    contact_sheet(files, args.out, model=args.model, frames=args.frames, view=args.view,
                  fit_betas=not args.no_betas, refine_positions=not args.no_refine,
                  skeletons=_skeletons(args, files if args.inputs else []))
    print(f"wrote {args.out}")
    return 0


#: One clip per rig for the README sheet (relative to the mocap root).
DEFAULT_SHEET_CLIPS = ("cmu_mb31/16_01.bvh", "cmu_daz43/martial_135/03.bvh", "cmu_iclone/006/006_01.bvh",
                       "cmu_deepmimic/11/11_01.txt", "hdm05/HDM_bd_lieDownFloor_001_120.amc")


def register(groups: argparse._SubParsersAction) -> None:
    """Add the ``mocap`` command group."""
    group = groups.add_parser("mocap", help="mocap (BVH, ASF/AMC, DeepMimic) → SMPL pose datasets")
    commands = group.add_subparsers(dest="command", required=True)

    def method(p: argparse.ArgumentParser) -> None:
        p.add_argument("--no-betas", action="store_true",
                       help="do not fit the body shape to the rig (scale only, betas = 0)")
        p.add_argument("--no-refine", action="store_true",
                       help="skip the position refinement (pure bone-direction matching)")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", type=Path, default=None,
                       help="target: SMPL-format model file, or .npz with joints (24,3); default: open body model")
        p.add_argument("--fps", type=positive_float, default=30.0, help="output frame rate")
        p.add_argument("--workers", type=positive_int, default=None, help="processes (default: CPU count)")
        method(p)

    def asf(p: argparse.ArgumentParser) -> None:
        p.add_argument("--asf", type=Path, default=None,
                       help="ASF skeleton of the .amc inputs (default: beside each clip, HDM_<actor>.asf for HDM05's "
                            "HDM_<actor>_..., <subject>.asf for CMU's <subject>_<take>.amc, or <clip>.asf)")

    def inputs(p: argparse.ArgumentParser, required: bool) -> None:
        p.add_argument("inputs", nargs="+" if required else "*", type=Path,
                       help="clip files (.bvh, .amc, DeepMimic .txt) or folders (searched for .bvh and .amc)")
        p.add_argument("--subject", type=int, default=None, help="subject id (default: from the file name)")
        p.add_argument("--native-fps", type=positive_float, default=None,
                       help="true input fps when the header is wrong (.amc files state none: 120 is assumed)")
        asf(p)

    def folders(p: argparse.ArgumentParser) -> None:
        p.add_argument("--folders", nargs="+", choices=list(SHARED_FOLDERS), default=None,
                       help="shared mocap folders to convert (default: all); the split stays by subject")

    p = commands.add_parser("convert", help="convert clip files/folders into one SMPL pose .npz")
    inputs(p, required=True)
    p.add_argument("--out", type=Path, required=True, help="output .npz (e.g. poses.npz)")
    p.add_argument("--dedupe-deg", type=non_negative_float, default=0.0, help="drop near-duplicate poses (degrees; 0 = off)")
    add_overwrite(p, "an existing pose set at --out")
    common(p)
    p.set_defaults(run=_run_convert)

    p = commands.add_parser("report", help="retargeting error per clip and per rig")
    inputs(p, required=False)
    p.add_argument("--mocap-root", type=Path, default=SHARED_MOCAP, help="used when no inputs are given")
    folders(p)
    p.add_argument("--json", type=Path, default=None, help="also write the tables as JSON")
    add_overwrite(p, "an existing --json file")
    p.add_argument("--worst", type=positive_int, default=10, help="how many worst clips to list")
    common(p)
    p.set_defaults(run=_run_report)

    p = commands.add_parser("build", help="build data/mocap/{poses,split}.npz from the shared mocap (CMU, HDM05)")
    p.add_argument("--mocap-root", type=Path, default=SHARED_MOCAP)
    p.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "mocap")
    folders(p)
    p.add_argument("--dedupe-deg", type=non_negative_float, default=0.0, help="drop near-duplicate poses (degrees; 0 = off)")
    common(p)
    p.set_defaults(run=_run_build)

    p = commands.add_parser("sheet", help="PNG contact sheet: our mesh beside the rig's skeleton")
    p.add_argument("inputs", nargs="*", type=Path, help="clip files or folders (default: one clip per rig)")
    asf(p)
    p.add_argument("--mocap-root", type=Path, default=SHARED_MOCAP)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--frames", type=positive_int, default=4, help="evenly spaced frames per clip")
    p.add_argument("--model", type=Path, default=None, help="SMPL-format model file (default: open body model)")
    p.add_argument("--view", default="front", help="'front' (seen from +Z) or 'side' (from the body's left, +X)")
    method(p)
    p.set_defaults(run=_run_sheet)


def main(argv: list[str] | None = None) -> int:
    """Run the group standalone (``python -m data_tools.mocap.commands ...``)."""
    parser = argparse.ArgumentParser(prog="mocap")
    register(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(["mocap", *(sys.argv[1:] if argv is None else argv)])
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
