"""Start-up of the command line: ``import torch`` alone, ``hmr-flow --help``, and a one-person fit with the fewest
steps (``hmr-flow fit`` of one person, ``--iterations 3``: the default prior, loading, writing its files).

The person is the body model's relaxed pose seen from 5 m in a 1000 × 1000 image (COCO-17 keypoints in a
COCO file with its width and height; no image file, no mocap data needed). Each command runs in a fresh
process; the commands, and with ``--compare`` the same commands of other checkouts (e.g. the previous
release: ``git worktree add ../before v0.1.0``), run round-robin for ``--repeats`` rounds after one untimed
warm-up round, each checkout with ``PYTHONPATH`` at its root from a neutral folder and bytecode caching on (a
``PYTHONDONTWRITEBYTECODE`` in the environment would add compiling every module to every start-up).
Reported: the median wall time (min–max) and the median CPU time (user + system of the child, which load
from other processes on the machine barely changes), and the fit's excess over ``import torch`` in each
round.

    python bench/startup.py [--repeats 5] [--compare ../before] [-- --threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPOSITORY, spread, timed  # noqa: E402

sys.path.insert(0, str(REPOSITORY))
from hmr_flow.body import BodyModel, KeypointBody  # noqa: E402
from hmr_flow.files import write_text  # noqa: E402
from hmr_flow.fitting import relaxed_pose  # noqa: E402
from hmr_flow.fitting.initialisation import FACING_CAMERA  # noqa: E402
from hmr_flow.geometry import axis_angle_to_matrix, project_points  # noqa: E402

SIZE = 1000


def one_person_file(path: Path) -> Path:
    """A COCO keypoint file of one person (the relaxed pose facing the camera 5 m away), no image file."""
    body = KeypointBody(BodyModel())
    rotations = torch.cat([axis_angle_to_matrix(FACING_CAMERA)[None, None],
                           axis_angle_to_matrix(relaxed_pose().view(1, 23, 3))], dim=1)
    with torch.no_grad():
        sources = body(rotations, torch.zeros(1, body.num_betas), torch.tensor([[0.0, 0.0, 5.0]]))
    uv = project_points(torch.einsum("ks,bsc->bkc", body.coco17_matrix, sources), SIZE * 2**0.5, (SIZE / 2, SIZE / 2))[0]
    keypoints = torch.cat([uv, torch.full((17, 1), 2.0)], dim=1).flatten().tolist()
    return write_text(path, json.dumps({"images": [{"id": 0, "file_name": "person.jpg", "width": SIZE, "height": SIZE}],
                                        "annotations": [{"id": 0, "image_id": 0, "category_id": 1, "keypoints": keypoints,
                                                         "num_keypoints": 17}],
                                        "categories": [{"id": 1, "name": "person"}]}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compare", type=Path, nargs="*", default=[],
                        help="other checkouts of the repository to time round-robin with this one")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("extra", nargs="*", help="more options for the one-person hmr-flow fit, after --")
    args = parser.parse_args(argv)
    codes = [REPOSITORY, *(path.resolve() for path in args.compare)]
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        keypoints = one_person_file(tmp / "keypoints.json")
        commands = {"import torch": [python, "-c", "import torch"], "hmr-flow --help": [python, "-m", "hmr_flow", "--help"]}
        fit = [python, "-m", "hmr_flow", "fit", "--keypoints", str(keypoints), "--iterations", "3", *args.extra]
        tasks = [(code, name, command) for code in codes for name, command in commands.items()]
        tasks += [(code, "one-person fit", fit) for code in codes]
        times: dict = {(code, name): [] for code, name, _ in tasks}
        for round_ in range(args.repeats + 1):
            for code, name, command in tasks:
                out = ["--out", str(tmp / f"out_{round_}_{codes.index(code)}")] if name == "one-person fit" else []
                measured = timed(command + out, code, tmp)
                if round_:  # the first round warms up (bytecode caches, the body model's unpacked copy)
                    times[code, name].append(measured)
    print(f"\nStart-up, {args.repeats} rounds round-robin after one warm-up, torch threads as the commands set them "
          f"(options of the fit: {args.extra or 'none'}); seconds, median (min–max), CPU = user + system")
    print("| code | command | wall s | CPU s | over import torch: wall s | CPU s |\n|---|---|---|---|---|---|")
    rows = []
    for (code, name), values in times.items():
        wall, cpu = [w for w, _ in values], [c for _, c in values]
        torch_wall, torch_cpu = ([w for w, _ in times[code, "import torch"]], [c for _, c in times[code, "import torch"]])
        over_wall = [w - t for w, t in zip(wall, torch_wall)]
        over_cpu = [c - t for c, t in zip(cpu, torch_cpu)]
        label = "this" if code == REPOSITORY else code.name
        rows.append({"code": str(code), "command": name, "wall_s": wall, "cpu_s": cpu, "over_torch_wall_s": over_wall,
                     "over_torch_cpu_s": over_cpu})
        over = "" if name != "one-person fit" else \
            f"{spread(over_wall, '+.2f', separator='…')} | {statistics.median(over_cpu):+.2f}"
        print(f"| {label} | {name} | {spread(wall, '.2f')} | {spread(cpu, '.2f')} | {over or '— | —'} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
