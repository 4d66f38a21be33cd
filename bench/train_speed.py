"""Training throughput of the image → pose-flow model: images per second of ``hmr-flow train hmr``.

    python bench/train_speed.py --data data/synth/train [--device cuda] [--steps 200] [--batch-size 32]

Runs one short epoch of the real training loop (data loading, augmentation, forward with the mode and
random hypotheses, losses, backward, AdamW; bfloat16 autocast of the backbone on CUDA unless
``--no-amp``) on the first ``steps × batch`` renders and prints images/s over the whole epoch,
start-up excluded. The checkpoint it writes goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from hmr_flow.models import HMRConfig, TrainSettings, train
from hmr_flow.validation import resolve_device


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/synth/train"))
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="data-loading processes")
    parser.add_argument("--no-amp", action="store_true")
    args = parser.parse_args(argv)
    args.device = str(resolve_device(args.device))
    with tempfile.TemporaryDirectory() as out:
        settings = TrainSettings(data=args.data, out=Path(out) / "speed.pt", epochs=1, batch_size=args.batch_size,
                                 train_limit=args.steps * args.batch_size, workers=args.workers, device=args.device,
                                 amp=not args.no_amp, progress=False)  # fmt: skip
        row = train(settings, HMRConfig())
    images = row["step"] * args.batch_size
    cuda = resolve_device(args.device).type == "cuda"
    device = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
    precision = "bfloat16 autocast" if cuda and not args.no_amp else "float32"
    print(f"{images} images in {row['train_seconds']:.1f} s = {images / row['train_seconds']:.1f} images/s "
          f"({args.steps} steps of batch {args.batch_size}, {device}, {precision})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
