"""Training throughput of the real training loops: steps (and examples) per second.

    python bench/train_speed.py --model rgb --data data/synth/train [--device cuda] [--steps 200] [--batch-size 32]
    python bench/train_speed.py --model keypoints [--data data/mocap/poses.npz] [--steps 40] [--batch-size 64]
    python bench/train_speed.py --model prior [--data data/mocap/poses.npz] [--batch-size 512] [--threads 1]

- ``rgb``: one short epoch of ``hmr-flow train hmr`` on the first ``steps × batch`` renders (data
  loading, augmentation, forward with the mode and random hypotheses, losses, backward, AdamW; bfloat16
  autocast of the backbone on CUDA unless ``--no-amp``).
- ``keypoints``: one epoch of ``steps`` batches of keypoint → pose pairs generated from the mocap, with
  the architecture of ``make train-hmr`` (48 px heatmaps, widths 32/64/128, flow hidden 384).
- ``prior``: one epoch of ``hmr-flow prior train`` with its defaults (the fitting regulariser of
  ``make train-prior``): every training frame once, in batches of ``batch``.

Only the training steps are timed (start-up, data preparation and validation excluded). Checkpoints go
to a temporary folder. The script uses only what the library has had since before the shared training
toolkit, so it times an older checkout too (``PYTHONPATH=<checkout> python bench/train_speed.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from tqdm import tqdm

from hmr_flow.validation import resolve_device


def _hmr(args: argparse.Namespace, out: Path) -> tuple[int, float]:
    from hmr_flow.models import HMRConfig, TrainSettings, train

    if args.model == "rgb":
        settings = TrainSettings(data=args.data, out=out / "speed.pt", epochs=1, batch_size=args.batch_size,
                                 train_limit=args.steps * args.batch_size, workers=args.workers, device=args.device,
                                 amp=not args.no_amp, seed=args.seed, progress=False)
        config = HMRConfig()
    else:
        settings = TrainSettings(data=args.data, out=out / "speed.pt", epochs=1, batch_size=args.batch_size,
                                 steps_per_epoch=args.steps, val_limit=args.batch_size, device=args.device,
                                 amp=not args.no_amp, seed=args.seed, progress=False)
        config = HMRConfig.for_inputs("keypoints", image_size=48, widths=(32, 64, 128), blocks=(1, 1, 1),
                                      flow_hidden=384)
    row = train(settings, config)
    return row["step"], row["train_seconds"]


def _prior(args: argparse.Namespace, out: Path) -> tuple[int, float]:
    from hmr_flow.prior.train import TrainConfig, _Run, load_split

    config = TrainConfig(data=str(args.data), out=str(out / "prior.pt"), epochs=1, batch_size=args.batch_size,
                         seed=args.seed, device=args.device)
    run = _Run(config, load_split(config.data, config.val_subjects))  # the loop's set-up, not timed
    with tqdm(total=run.steps_per_epoch, disable=True) as bar:
        started = time.perf_counter()
        run.train_epoch(bar)
        seconds = time.perf_counter() - started
    return run.steps_per_epoch, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("rgb", "keypoints", "prior"), default="rgb")
    parser.add_argument("--data", type=Path, default=None,
                        help="rgb: data/synth/train; keypoints, prior: data/mocap/poses.npz (the defaults)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--steps", type=int, default=None, help="rgb: 200, keypoints: 40 (prior: one epoch)")
    parser.add_argument("--batch-size", type=int, default=None, help="rgb: 32, keypoints: 64, prior: 512")
    parser.add_argument("--workers", type=int, default=1, help="rgb: data-loading processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-amp", action="store_true")
    args = parser.parse_args(argv)
    defaults = {"rgb": ("data/synth/train", 200, 32), "keypoints": ("data/mocap/poses.npz", 40, 64),
                "prior": ("data/mocap/poses.npz", None, 512)}[args.model]
    args.data = args.data or Path(defaults[0])
    args.steps = args.steps or defaults[1]
    args.batch_size = args.batch_size or defaults[2]
    args.device = str(resolve_device(args.device))
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as out:
        steps, seconds = (_prior if args.model == "prior" else _hmr)(args, Path(out))
    cuda = args.device.startswith("cuda")
    device = torch.cuda.get_device_name() if cuda else f"CPU, {torch.get_num_threads()} threads"
    precision = "bfloat16 autocast" if cuda and not args.no_amp and args.model != "prior" else "float32"
    unit = {"rgb": "images", "keypoints": "pairs", "prior": "poses"}[args.model]
    examples = steps * args.batch_size
    print(f"{args.model}: {steps} steps of batch {args.batch_size} in {seconds:.2f} s = {steps / seconds:.2f} steps/s, "
          f"{examples / seconds:.1f} {unit}/s ({device}, {precision})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
