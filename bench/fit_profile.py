"""Where the default fit's time goes: one fitting step split into its parts, and the per-image work before it.

The problem is ``hmr-flow fit``'s default (the conditional prior and the conditional model's hypotheses, the
default schedule) on the fitting benchmark's people (``bench/fit_eval.py``'s scenes, the same as
``bench/fit_command.py``'s), prepared by the fitting pipeline as the command prepares it (its private
helpers: this script profiles the inside). Each part of a step is timed on its own at the fit's batch
(people × hypotheses bodies), forward and backward; then the whole step (the difference is Python overhead
and what the parts leave out). The parts run round-robin, ``--repeats`` rounds after one warm-up round,
reported per stage as the median CPU time of this thread per step (one torch thread, so the thread's CPU
time is the work; wall time swings with the machine's load) with the min–max spread and the share of the
whole step.

    python bench/fit_profile.py [--persons 96] [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPOSITORY, round_robin, spread  # noqa: E402
from fit_command import write_coco  # noqa: E402
from fit_eval import make_scenes  # noqa: E402

sys.path.insert(0, str(REPOSITORY))  # the repository's data_tools (not installed)
from data_tools.mocap.dataset import load_poses  # noqa: E402
from hmr_flow.body import BodyModel, KeypointBody  # noqa: E402
from hmr_flow.fitting import FitOptions, read_keypoints  # noqa: E402
from hmr_flow.fitting.adam import Adam  # noqa: E402
from hmr_flow.fitting.fitter import _Problem, pose_rotations  # noqa: E402
from hmr_flow.fitting.losses import reprojection_loss  # noqa: E402
from hmr_flow.fitting.pipeline import _add_own, _chunk_initialisation, _chunk_prior, _prepare  # noqa: E402
from hmr_flow.geometry import project_points  # noqa: E402
from hmr_flow.models import conditional_fitting, load_model  # noqa: E402


def build_problem(persons: int, seed: int, poses: Path, split: Path) -> tuple[_Problem, tuple, float]:
    """The command's default problem for ``persons`` benchmark people, the stages, and the CPU seconds of the
    per-image work before the fit (reading the keypoints' image sizes, the model's encoding and hypotheses)."""
    with np.load(split) as data:
        val_index = data["val"]
    keypoint_body = KeypointBody(BodyModel())
    scenes = make_scenes(load_poses(poses), val_index, persons, 5.0, 0.3, keypoint_body, np.random.default_rng(seed))
    model = load_model()
    options = FitOptions(prior_name="conditional", overlays=False, seed=seed)
    options.per_image = conditional_fitting(model, options.config.num_hypotheses, seed)
    with tempfile.TemporaryDirectory() as tmp:
        write_coco(scenes["keypoints"], Path(tmp) / "keypoints.json")
        records = read_keypoints(Path(tmp) / "keypoints.json")
        start = time.thread_time()
        chunk = [_prepare(record, options) for record in records]
        _add_own(chunk, options)
        per_image = time.thread_time() - start
    counts = [len(p.record.person_ids) for p in chunk]
    init = _chunk_initialisation(chunk, counts, options)
    n = init.num_hypotheses
    keypoints = torch.cat([torch.from_numpy(p.record.keypoints) for p in chunk]).repeat_interleave(n, 0)
    focal = torch.tensor([float(p.focal) for p in chunk for _ in range(n)])
    centre = torch.tensor([[p.size[0] / 2.0, p.size[1] / 2.0] for p in chunk for _ in range(n)])
    problem = _Problem(keypoint_body, keypoints, chunk[0].record.keypoint_format, focal, centre,
                       _chunk_prior(chunk, options), options.config, init)
    return problem, options.config.stages, per_image


def step_parts(problem: _Problem, stage) -> dict[str, Callable[[], object]]:
    """Each part of one step of ``stage`` on the bodies it optimises (:attr:`_Problem.active`) as a task
    (forward and backward; their inputs made beforehand), the Adam update, and the whole step."""
    rows = problem.active
    bodies = problem.bodies.select(rows) if len(rows) < len(problem.bodies.focal) else problem.bodies
    params = {n: p[rows].detach().requires_grad_(n in stage.parameters) for n, p in problem.params.items()}
    optimiser = Adam([params[n] for n in stage.parameters], lr=problem.config.learning_rate)
    with torch.no_grad():
        rotations = pose_rotations(params)
        sources = problem.sources(params, rotations)

    def rotations_part():
        pose_rotations(params).sum().backward()

    def body():
        problem.sources(params, rotations.clone().requires_grad_(True)).sum().backward()

    def keypoints():
        points = sources.clone().requires_grad_(True)
        projected = project_points(torch.einsum("ks,bsc->bkc", problem.matrix, points), bodies.focal, bodies.centre)
        weights = bodies.weights_torso if stage.torso_only else problem.weights_all
        cfg = problem.config
        reprojection_loss(projected, bodies.keypoints, weights, bodies.scale, cfg.robust_sigma,
                          cfg.noise_sigma).sum().backward()

    def prior():
        bodies.prior.fitting_loss(params["body_pose"].detach(), rotations.clone().requires_grad_(True)).sum().backward()

    def whole_step():
        def closure():
            optimiser.zero_grad()
            loss = problem.evaluate(stage, params, bodies)[0].sum()
            loss.backward()
            return loss
        optimiser.step(closure)

    whole_step()  # every leaf has a gradient for the update alone
    return {"rotations (6D, axis-angle → matrices)": rotations_part,
            "body model (blend shapes, kinematics, skinning)": body,
            "keypoints, projection, reprojection loss": keypoints, "prior −log p (the conditional flow)": prior,
            "optimiser (Adam update)": lambda: optimiser.step(lambda: None), "whole step": whole_step}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=Path, default=Path("data/mocap/poses.npz"))
    parser.add_argument("--split", type=Path, default=Path("data/mocap/split.npz"))
    parser.add_argument("--persons", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    problem, stages, per_image = build_problem(args.persons, args.seed, args.poses, args.split)
    print(f"\nThe default fit's step: {args.persons} people, {len(problem.bodies.focal)} bodies, conditional prior, 1 thread; "
          f"{args.repeats} rounds round-robin; ms per step, CPU time of the thread: median (min–max), share of the "
          f"whole step; wall-clock median")
    total = 0.0
    for stage in stages:
        optimised = len(problem.active)
        times = round_robin(step_parts(problem, stage), args.repeats)
        problem.run_stage(stage, tqdm(disable=True))  # the next stage starts where the fit would, on the bodies it keeps
        cpu = {name: [1000 * c for c, _ in values] for name, values in times.items()}
        whole = statistics.median(cpu.pop("whole step"))
        total += whole * stage.iterations
        print(f"\nstage {stage.name}: {stage.iterations} steps on {optimised} bodies, moves "
              f"{', '.join(stage.parameters)}; whole step "
              f"{whole:.1f} ms CPU\n| part | CPU ms (min–max) | share | wall ms |\n|---|---|---|---|")
        for name, values in cpu.items():
            wall = 1000 * statistics.median(w for _, w in times[name])
            print(f"| {name} | {spread(values, '.2f')} | {100 * statistics.median(values) / whole:.0f} % | {wall:.2f} |")
        rest = whole - sum(statistics.median(values) for values in cpu.values())
        print(f"| Python overhead and the rest (whole − parts) | {rest:.2f} | {100 * rest / whole:.0f} % | |")
    print(f"\nthe steps of a fit: {total / 1000:.2f} s CPU ({args.persons / (total / 1000):.1f} people per CPU-s); "
          f"per image before the fit (its size, the model's encoding and hypotheses): "
          f"{1000 * per_image / args.persons:.1f} ms CPU ({per_image:.2f} s for {args.persons})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
