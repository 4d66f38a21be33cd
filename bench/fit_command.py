"""Fitting speed and accuracy **through the command**: ``hmr-flow fit`` on a multi-image COCO file.

Writes a COCO keypoint file of ``--persons`` single-person 1000 × 1000 images whose people are the
fitting benchmark's scenes (``bench/fit_eval.py``: validation-subject poses, random shapes and views,
5 px noise, 30 % of the keypoints hidden) with a plain grey JPEG per image (the command reads each
image for its size and, unless ``--no-overlays`` is passed through, draws the overlay), runs
``python -m hmr_flow fit`` on it in a fresh process for each setting, and reports the wall time of
the whole command (start-up, loading, fitting, writing every output) as persons/s, and the
PA-MPJPE / MPJPE (mm) of the written joints against the ground truth. Settings are run round-robin
(``--repeats`` rounds) so that load changes hit all of them alike; the spread is min–max.

    python bench/fit_command.py [--persons 96] [--iterations 300 150 75] [--priors flow] [--repeats 1] [-- --no-overlays]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_eval import IMAGE, make_scenes  # noqa: E402  (the fitting benchmark's scenes)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's data_tools (not installed)
from data_tools.mocap.dataset import load_poses  # noqa: E402
from hmr_flow.body import BodyModel  # noqa: E402
from hmr_flow.body import KeypointBody  # noqa: E402
from hmr_flow.files import write_text  # noqa: E402
from hmr_flow.images import write_image  # noqa: E402
from hmr_flow.metrics import mpjpe, pa_mpjpe  # noqa: E402


def write_coco(keypoints: torch.Tensor, path: Path) -> list[str]:
    """One image per person (``person_000.jpg`` …, grey, beside the JSON); returns the image stems."""
    images, annotations, stems = [], [], []
    grey = np.full((IMAGE, IMAGE, 3), 128, np.uint8)
    for i, person in enumerate(keypoints.numpy()):
        stems.append(f"person_{i:03d}")
        write_image(path.parent / f"{stems[-1]}.jpg", grey)
        images.append({"id": i, "file_name": f"{stems[-1]}.jpg", "width": IMAGE, "height": IMAGE})
        values = np.concatenate([person[:, :2], 2.0 * person[:, 2:]], 1)  # COCO visibility 2 = visible
        annotations.append({"id": i, "image_id": i, "category_id": 1, "keypoints": values.reshape(-1).tolist(),
                            "num_keypoints": int((person[:, 2] > 0).sum())})
    write_text(path, json.dumps({"images": images, "annotations": annotations,
                                 "categories": [{"id": 1, "name": "person"}]}))
    return stems


def run_fit(coco: Path, out: Path, prior: str, iterations: int | None, hypotheses: int | None,
            extra: list[str]) -> tuple[float, float]:
    """Runs the command; returns its wall time and CPU time (user + system), seconds."""
    command = [sys.executable, "-m", "hmr_flow", "fit", "--keypoints", str(coco), "--out", str(out),
               "--prior", prior, "--overwrite", *extra]  # repeats replace the previous run's results
    if iterations is not None:
        command += ["--iterations", str(iterations)]
    if hypotheses is not None:
        command += ["--hypotheses", str(hypotheses)]
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def errors(out: Path, stems: list[str], truth: torch.Tensor) -> tuple[float, float]:
    joints = []
    for stem in stems:
        with np.load(out / f"{stem}_params.npz") as params:
            joints.append(torch.from_numpy(params["joints"][0]).float())
    joints = torch.stack(joints)
    return float(1000 * pa_mpjpe(joints, truth).mean()), float(1000 * mpjpe(joints, truth).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=Path, default=Path("data/mocap/poses.npz"))
    parser.add_argument("--split", type=Path, default=Path("data/mocap/split.npz"))
    parser.add_argument("--persons", type=int, default=96)
    parser.add_argument("--priors", nargs="+", default=["flow"], choices=["conditional", "flow", "cnf", "gmm", "none"])
    parser.add_argument("--iterations", type=int, nargs="+", default=[None],
                        help="iteration budgets to compare (default: the command's default)")
    parser.add_argument("--hypotheses", type=int, default=None, help="--hypotheses of the command (default: its default)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("extra", nargs="*", help="more options for hmr-flow fit, after --")
    args = parser.parse_args(argv)

    poses = load_poses(args.poses)
    with np.load(args.split) as split:
        val_index = split["val"]
    scenes = make_scenes(poses, val_index, args.persons, 5.0, 0.3, KeypointBody(BodyModel()), np.random.default_rng(args.seed))
    settings = [(prior, iterations) for prior in args.priors for iterations in args.iterations]
    seconds: dict = {s: [] for s in settings}
    cpu: dict = {s: [] for s in settings}
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        coco = Path(tmp) / "keypoints.json"
        stems = write_coco(scenes["keypoints"], coco)
        for _ in range(args.repeats):
            for setting in settings:
                out = Path(tmp) / f"{setting[0]}_{setting[1]}"
                wall, used = run_fit(coco, out, *setting, args.hypotheses, args.extra)
                seconds[setting].append(wall)
                cpu[setting].append(used)
                figures[setting] = errors(out, stems, scenes["joints"])
    print(f"\nhmr-flow fit on {args.persons} single-person images (COCO file + JPEGs), options {args.extra or 'none'}, "
          f"{args.hypotheses or 'default'} hypotheses, whole command wall time, {args.repeats} round(s)")
    print("persons/s: wall clock (min–max); per CPU-s: persons per second of the command's CPU time (what a "
          "free core gives when the machine is shared)")
    print("| prior | iterations | persons/s (min–max) | persons per CPU-s | PA-MPJPE mm | MPJPE mm |\n|---|---|---|---|---|---|")
    rows = []
    for setting in settings:
        rates = [args.persons / s for s in seconds[setting]]
        pa, mp = figures[setting]
        per_cpu = args.persons / statistics.median(cpu[setting])
        rows.append({"prior": setting[0], "iterations": setting[1], "persons_per_s": statistics.median(rates),
                     "persons_per_s_min": min(rates), "persons_per_s_max": max(rates), "persons_per_cpu_s": per_cpu,
                     "pa_mpjpe_mm": pa, "mpjpe_mm": mp})
        print(f"| {setting[0]} | {setting[1] or 'default'} | {statistics.median(rates):.1f} ({min(rates):.1f}–{max(rates):.1f}) "
              f"| {per_cpu:.1f} | {pa:.1f} | {mp:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
