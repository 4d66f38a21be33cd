"""Temporary demo: fit a small normalizing flow to a 2-D toy density and plot it.

Writes ``DIR/toy_flow.png``: training data, flow samples, and the learned density.

    python demo/run_demo.py --out demo_output --device cpu
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from tqdm import trange  # noqa: E402

from hmr_flow.flows import vector_glow  # noqa: E402


def two_moons(n: int, generator: torch.Generator) -> torch.Tensor:
    """``(n, 2)`` points on two interleaved half circles with Gaussian noise (std 0.08)."""
    angle = math.pi * torch.rand(n, generator=generator)
    upper = torch.rand(n, generator=generator) < 0.5
    x = torch.where(upper, angle.cos(), 1 - angle.cos())
    y = torch.where(upper, angle.sin(), 0.5 - angle.sin())
    return torch.stack([x - 0.5, y - 0.25], dim=1) + 0.08 * torch.randn(n, 2, generator=generator)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--iterations", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but CUDA is not available")
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)  # a 2-D flow is too small to gain from threads; one avoids contention
    args.out.mkdir(parents=True, exist_ok=True)

    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    flow = vector_glow(2, steps=8, hidden=64, blocks=1).to(device)
    optimizer = torch.optim.Adam(flow.parameters(), lr=5e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 5e-3, total_steps=args.iterations, pct_start=0.1)
    for _ in trange(args.iterations, desc="training toy flow"):
        loss = -flow.log_prob(two_moons(512, generator).to(device)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()

    data = two_moons(2000, generator)
    axis = torch.linspace(-2, 2, 200)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), dim=-1).reshape(-1, 2)
    with torch.no_grad():
        held_out_nll = -flow.log_prob(two_moons(10_000, generator).to(device)).mean().item()
        samples = flow.sample(2000).cpu()
        density = flow.log_prob(grid.to(device)).exp().cpu().reshape(200, 200)

    figure, axes = plt.subplots(1, 3, figsize=(13, 4.3), sharex=True, sharey=True)
    axes[0].scatter(*data.T, s=2, alpha=0.5)
    axes[0].set_title("data (two moons)")
    axes[1].scatter(*samples.T, s=2, alpha=0.5, color="tab:orange")
    axes[1].set_title("flow samples")
    axes[2].imshow(density, extent=(-2, 2, -2, 2), origin="lower", cmap="viridis")
    axes[2].set_title(f"learned density (held-out NLL {held_out_nll:.3f} nats)")
    for ax in axes:
        ax.set_xlim(-2, 2)
        ax.set_ylim(-2, 2)
        ax.set_aspect("equal")
    figure.tight_layout()
    path = args.out / "toy_flow.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"wrote {path} (held-out NLL {held_out_nll:.3f} nats)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
