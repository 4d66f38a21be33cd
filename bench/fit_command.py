"""Fitting speed and accuracy **through the command**: ``hmr-flow fit`` on a multi-image COCO file.

Writes a COCO keypoint file of ``--persons`` single-person 1000 × 1000 images whose people are the
fitting benchmark's scenes (``bench/fit_eval.py``: validation-subject poses, random shapes and views,
5 px noise, 30 % of the keypoints hidden) with a plain grey JPEG per image (the command reads each
image for its size), runs ``python -m hmr_flow fit`` on it in a fresh process for each setting, and reports
the wall time of the whole command (start-up, loading, fitting, writing every output) as persons/s, the
same **after start-up** (persons ÷ (that time − the start-up: the same command on one person with the fewest
steps, ``--iterations 3``, timed in the same round)), the same per second of the command's CPU time
(user + system of the child: what a free core gives when the machine is shared), and the PA-MPJPE / MPJPE
(mm) of the written joints against the ground truth. Settings, and with ``--compare`` other checkouts of the
code (e.g. the previous release: ``git worktree add ../before v0.1.0``), are run round-robin (``--repeats``
rounds) so that load changes hit all of them alike; the spread is min–max. Each checkout runs with
``PYTHONPATH`` at its root from a neutral folder, with bytecode caching on (a ``PYTHONDONTWRITEBYTECODE``
in the environment would add the compilation of every module to every start-up) and one untimed warm-up.

    python bench/fit_command.py [--persons 96] [--iterations 300 150 75] [--priors flow] [--repeats 1]
        [--compare ../before] [-- --threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPOSITORY, spread, timed  # noqa: E402
from fit_eval import IMAGE, make_scenes  # noqa: E402  (the fitting benchmark's scenes)

sys.path.insert(0, str(REPOSITORY))  # the repository's data_tools (not installed)
from data_tools.mocap.dataset import load_poses  # noqa: E402
from hmr_flow.body import BodyModel, KeypointBody  # noqa: E402
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


def fit_command(coco: Path, out: Path, prior: str, iterations: int | None, hypotheses: int | None,
                extra: list[str]) -> list[str]:
    """``python -m hmr_flow fit`` of ``coco`` into ``out`` with these settings."""
    command = [sys.executable, "-m", "hmr_flow", "fit", "--keypoints", str(coco), "--out", str(out),
               "--prior", prior, *extra]
    if iterations is not None:
        command += ["--iterations", str(iterations)]
    if hypotheses is not None:
        command += ["--hypotheses", str(hypotheses)]
    return command


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
    parser.add_argument("--compare", type=Path, nargs="*", default=[],
                        help="other checkouts of the repository to time round-robin with this one (e.g. the previous release)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("extra", nargs="*", help="more options for hmr-flow fit, after --")
    args = parser.parse_args(argv)

    poses = load_poses(args.poses)
    with np.load(args.split) as split:
        val_index = split["val"]
    scenes = make_scenes(poses, val_index, args.persons, 5.0, 0.3, KeypointBody(BodyModel()), np.random.default_rng(args.seed))
    codes = [REPOSITORY, *(path.resolve() for path in args.compare)]
    settings = [(code, prior, iterations) for code in codes for prior in args.priors for iterations in args.iterations]
    runs: dict = {s: {"wall": [], "cpu": [], "startup_wall": [], "startup_cpu": []} for s in settings}
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        coco, one = tmp / "keypoints.json", tmp / "one" / "keypoints.json"
        one.parent.mkdir()
        stems = write_coco(scenes["keypoints"], coco)
        write_coco(scenes["keypoints"][:1], one)
        # every run writes into a folder of its own (fit replaces earlier results only with --overwrite, which
        # older checkouts given to --compare do not know)
        for k, (code, prior, _) in enumerate(settings):  # warm-up: bytecode caches, the body model's unpacked copy
            timed(fit_command(one, tmp / f"warm{k}", prior, 3, args.hypotheses, args.extra), code, tmp)
        for repeat in range(args.repeats):
            for k, setting in enumerate(settings):
                code, prior, iterations = setting
                out = tmp / f"{repeat}_{k}_{prior}_{iterations}"
                wall, cpu = timed(fit_command(coco, out, prior, iterations, args.hypotheses, args.extra), code, tmp)
                start_wall, start_cpu = timed(fit_command(one, out / "one", prior, 3, args.hypotheses, args.extra), code, tmp)
                for key, value in zip(("wall", "cpu", "startup_wall", "startup_cpu"), (wall, cpu, start_wall, start_cpu)):
                    runs[setting][key].append(value)
                figures[setting] = errors(out, stems, scenes["joints"])
    print(f"\nhmr-flow fit on {args.persons} single-person images (COCO file + JPEGs), options {args.extra or 'none'}, "
          f"{args.hypotheses or 'default'} hypotheses, {args.repeats} round(s) round-robin, median (min–max)")
    print("persons/s: the whole command's wall clock; after start-up: persons / (that − the same command on one person "
          "with --iterations 3, same round); per CPU-s: the same with the commands' CPU time (user + system)")
    print("| code | prior | iterations | persons/s | after start-up | per CPU-s | after start-up per CPU-s "
          "| start-up s (CPU s) | PA-MPJPE mm | MPJPE mm |\n|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for setting in settings:
        code, prior, iterations = setting
        r = runs[setting]
        rates = [args.persons / w for w in r["wall"]]
        after = [args.persons / (w - s) for w, s in zip(r["wall"], r["startup_wall"])]
        per_cpu = [args.persons / c for c in r["cpu"]]
        after_cpu = [args.persons / (c - s) for c, s in zip(r["cpu"], r["startup_cpu"])]
        pa, mp = figures[setting]
        label = "this" if code == REPOSITORY else code.name
        rows.append({"code": str(code), "prior": prior, "iterations": iterations, "persons_per_s": rates,
                     "after_startup_per_s": after, "persons_per_cpu_s": per_cpu, "after_startup_per_cpu_s": after_cpu,
                     "startup_s": r["startup_wall"], "startup_cpu_s": r["startup_cpu"], "pa_mpjpe_mm": pa, "mpjpe_mm": mp})
        print(f"| {label} | {prior} | {iterations or 'default'} | {spread(rates)} | {spread(after)} | {spread(per_cpu)} "
              f"| {spread(after_cpu)} | {statistics.median(r['startup_wall']):.2f} ({statistics.median(r['startup_cpu']):.2f}) "
              f"| {pa:.1f} | {mp:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
