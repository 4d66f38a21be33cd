"""Mesh write time per format (``hmr_flow.fitting.outputs.save_mesh``: trimesh by suffix) for the open
body model (13,380 vertices, 26,756 triangles), what ``hmr-flow fit --mesh-format`` pays per person.

Formats are timed round-robin (``--rounds`` rounds of ``--writes`` writes each) so that load changes hit
all of them alike; prints the median and the min–max over rounds, in milliseconds per mesh.

    python bench/mesh_write.py [--rounds 7] [--writes 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hmr_flow.body import BodyModel
from hmr_flow.fitting.outputs import MESH_FORMATS, save_mesh


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--writes", type=int, default=5, help="writes per format and round")
    args = parser.parse_args(argv)
    body = BodyModel()
    vertices = body.rest_vertices().numpy() + [0.0, 0.0, 3.0]
    times: dict[str, list[float]] = {kind: [] for kind in MESH_FORMATS}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for kind in MESH_FORMATS:
                start = time.perf_counter()
                for _ in range(args.writes):
                    save_mesh(Path(tmp) / f"mesh.{kind}", vertices, body.faces)
                times[kind].append(1000.0 * (time.perf_counter() - start) / args.writes)
    print(f"| format | ms per mesh ({body.num_vertices} vertices), median (min–max) |\n|---|---|")
    for kind, values in times.items():
        print(f"| {kind} | {statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
