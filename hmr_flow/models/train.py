"""Training of :class:`HMRFlow` (``hmr-flow train hmr``): on synthetic renders (models with RGB
input), or on keypoint → pose pairs generated on the fly from mocap (keypoints-only models,
:mod:`hmr_flow.data.keypoint_pairs`: ``steps_per_epoch`` fresh batches per epoch, validated on a
fixed set of validation-subject pairs at the benchmark's corruption, σ = 5 px and 30 % hidden).

One process on the CPU or a GPU, or several GPUs with ``torchrun`` (DistributedDataParallel, see
:mod:`hmr_flow.models.distributed`). Per step: augmented crops → one forward pass (mode + random
hypotheses, log-density of the jittered ground truth) → :class:`HMRLoss` → AdamW with gradient
clipping and the shared warm-up + cosine learning-rate schedule (:mod:`hmr_flow.training`, as the
pose prior). Loss terms are summed on the device and read every :data:`hmr_flow.training.LOG_EVERY`
steps (progress, divergence check). AMP (bfloat16 autocast of the backbone) on CUDA; the flow and
head always run in float32. After every epoch: validation (:func:`hmr_flow.models.evaluate.evaluate`),
a row in the CSV log and an atomic checkpoint; ``resume=True`` continues from the checkpoint at ``out``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset
from tqdm.auto import tqdm

from hmr_flow.body import BodyModel
from hmr_flow.data import AugmentConfig, SynthDataset
from hmr_flow.data.keypoint_pairs import (
    BENCHMARK_CORRUPTION,
    KeypointPairs,
    PairSet,
    PairStream,
    PoseAugment,
    load_split_poses,
)
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.models.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from hmr_flow.models.distributed import DistInfo, all_reduce_sum, init_distributed, shutdown
from hmr_flow.models.evaluate import evaluate, model_inputs
from hmr_flow.models.losses import HMRLoss, LossWeights, jittered_target
from hmr_flow.models.model import HMRConfig, HMRFlow
from hmr_flow.training import (
    LossMeter,
    MetricsLog,
    load_training_state,
    restore_training_state,
    training_state,
    warmup_cosine,
)
from hmr_flow.validation import UserInputError


@dataclass
class TrainSettings:
    """Everything a training run needs besides the architecture and loss weights.

    ``data``/``val``: synthetic set folders, or for a keypoints-only model the mocap pose set
    (``data/mocap/poses.npz``; training subjects for training, validation subjects for validation;
    ``val`` unused); ``out``: checkpoint path (the CSV log goes beside it, ``<out stem>.csv``);
    ``steps_per_epoch``: batches per epoch of generated pairs; ``val_count``: validation pairs;
    ``balance``: draw generated pairs' poses clip-balanced (every mocap clip equally likely);
    ``mirror``/``recombine_arms``/``bend_sideways``: pose augmentation of generated pairs
    (:class:`hmr_flow.data.keypoint_pairs.PoseAugment`, probabilities per pair);
    ``num_samples``: hypotheses per crop in the forward pass (mode + random);
    ``train_limit``/``val_limit``: use only the first images of a set (quick runs);
    ``keypoint_noise`` (pixels) and ``keypoint_dropout`` (probability per keypoint) perturb the
    heatmap input of models with keypoint channels.
    """

    data: Path
    out: Path
    val: Path | None = None
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    num_samples: int = 3
    clip_grad: float = 1.0
    workers: int = 1
    device: str = "cpu"
    amp: bool = True
    seed: int = 0
    train_limit: int | None = None
    val_limit: int | None = None
    val_samples: int = 25
    keypoint_noise: float = 2.0
    keypoint_dropout: float = 0.2
    steps_per_epoch: int = 500
    val_count: int = 1000
    balance: bool = False
    mirror: float = 0.0
    recombine_arms: float = 0.0
    bend_sideways: float = 0.0
    resume: bool = False
    progress: bool = True

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def log_path(out: str | Path) -> Path:
    """The CSV metrics log of the run whose checkpoint is ``out``: ``<out stem>.csv`` beside it."""
    return Path(out).with_suffix(".csv")


def _subset(dataset: SynthDataset, limit: int | None):
    return dataset if limit is None or limit >= len(dataset) else Subset(dataset, range(limit))


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def keypoint_inputs(batch: dict[str, torch.Tensor], noise: float, dropout: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Detector-like keypoint input from the ground truth: ``(B, 17, 2)`` pixels plus ``N(0, noise²)``
    and confidence ``(B, 17)`` = 1 for visible keypoints, 0 for hidden ones and with prob. ``dropout``."""
    keypoints = batch["keypoints2d"] + noise * torch.randn_like(batch["keypoints2d"])
    keep = torch.rand(batch["visibility"].shape, device=keypoints.device) >= dropout
    return keypoints, ((batch["visibility"] == 2) & keep).to(keypoints.dtype)


def train(
    settings: TrainSettings, config: HMRConfig = HMRConfig(), weights: LossWeights = LossWeights()
) -> dict:
    """Run training as configured; returns the last epoch's log row (rank 0; ``{}`` elsewhere)."""
    info, device = init_distributed(settings.device)
    try:
        return _train(settings, config, weights, info, device)
    finally:
        shutdown(info)


def _synthetic_data(settings: TrainSettings, config: HMRConfig, info: DistInfo, device: torch.device):
    """Training loader, its ``start_epoch(epoch)`` hook and the validation set of synthetic renders."""
    train_set = SynthDataset(settings.data, augment=AugmentConfig())
    if train_set.image_size != config.image_size:
        raise UserInputError(f"{settings.data}: images are {train_set.image_size} px, the model expects {config.image_size} px")
    train_data = _subset(train_set, settings.train_limit)
    sampler = DistributedSampler(train_data, info.world, info.rank, shuffle=True, seed=settings.seed) if info.enabled else None
    loader = DataLoader(train_data, settings.batch_size, shuffle=sampler is None, sampler=sampler, drop_last=True,
                        num_workers=settings.workers, pin_memory=device.type == "cuda")
    if len(loader) == 0:
        raise UserInputError(f"{settings.data}: {len(train_data)} images are fewer than one batch of {settings.batch_size}")
    val_data = None
    if settings.val is not None:
        val_data = _subset(SynthDataset(settings.val), settings.val_limit)

    def start_epoch(epoch: int) -> None:
        if sampler is not None:
            sampler.set_epoch(epoch)
        # workers are started afresh every epoch and get the new augmentation seed: bit-exact resume
        train_set.epoch_seed = int(torch.randint(0, 2**62, (1,)))

    return loader, start_epoch, val_data


def _generated_data(settings: TrainSettings, config: HMRConfig, info: DistInfo, body_model: BodyModel):
    """Generated keypoint pairs posed on ``body_model`` (CPU): a stream from the training subjects (each rank
    its own seed, each epoch its own pairs; the stream is its own loader and ``start_epoch`` hook is its
    ``set_epoch``) and a fixed validation set from the validation subjects."""
    cpu_body = KeypointBody(body_model)
    orient, body_pose, weights = load_split_poses(settings.data, "train", settings.balance)
    augment = PoseAugment(mirror=settings.mirror, recombine_arms=settings.recombine_arms,
                          bend_sideways=settings.bend_sideways)
    stream = PairStream(KeypointPairs(cpu_body, orient, body_pose, config.image_size, weights=weights, augment=augment),
                        settings.batch_size, settings.steps_per_epoch, settings.seed + info.rank)
    orient, body_pose, _ = load_split_poses(settings.data, "val")
    val_pairs = KeypointPairs(cpu_body, orient, body_pose, config.image_size, BENCHMARK_CORRUPTION)
    return stream, stream.set_epoch, PairSet(val_pairs, settings.val_limit or settings.val_count, seed=12345)


def _train(settings: TrainSettings, config: HMRConfig, weights: LossWeights, info: DistInfo, device: torch.device) -> dict:
    torch.manual_seed(settings.seed + info.rank)
    body_model = BodyModel()
    body = KeypointBody(body_model).to(device)
    if config.rgb:
        loader, start_epoch_data, val_data = _synthetic_data(settings, config, info, device)
    else:
        loader, start_epoch_data, val_data = _generated_data(settings, config, info, body_model)
    model = HMRFlow(config).to(device)
    criterion = HMRLoss(body, config.image_size, weights)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = warmup_cosine(optimizer, settings.warmup_steps, settings.epochs * len(loader))
    start_epoch, step, history = 0, 0, []
    out = Path(settings.out)
    if info.is_main:
        out.parent.mkdir(parents=True, exist_ok=True)
    state = None
    if settings.resume:
        state = load_training_state(out, "HMRFlow training checkpoint", device, ("config", "epoch", "step"),
                                    reader=lambda path, location: read_checkpoint(path, map_location=location))
    if state is not None:
        if state["config"] != config.to_dict():
            raise CheckpointError(f"{out}: cannot resume, its architecture {state['config']} differs from {config.to_dict()}")
        restore_training_state(state, out, model, optimizer, scheduler)
        start_epoch, step, history = int(state["epoch"]) + 1, int(state["step"]), list(state.get("history", []))
    else:
        _initialise_actnorm(model, next(iter(loader)), device, weights.jitter)
    net = model
    if info.enabled:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    use_amp = settings.amp and device.type == "cuda"
    csv_log = MetricsLog(log_path(out), resume=state is not None, last_epoch=start_epoch) if info.is_main else None
    meter = LossMeter(f"--lr {settings.lr:g}: training diverged", "lower --lr or check the data")
    row: dict = {}
    for epoch in range(start_epoch, settings.epochs):
        start_epoch_data(epoch)
        net.train()
        where = f"epoch {epoch + 1}"
        started = time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{settings.epochs}", disable=not (settings.progress and info.is_main),
                   leave=False)
        for batch in bar:
            batch = _to_device(batch, device)
            images, keypoints, confidence = model_inputs(config, batch)
            if config.keypoint_channels and "input_keypoints" not in batch:
                keypoints, confidence = keypoint_inputs(batch, settings.keypoint_noise, settings.keypoint_dropout)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                samples, log_prob = net(images, settings.num_samples, jittered_target(batch, weights.jitter),
                                        keypoints=keypoints, confidence=confidence)
            total, terms = criterion(samples, log_prob, batch)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip_grad)
            optimizer.step()
            scheduler.step()
            step += 1
            if (means := meter.add({"loss": total, **terms, "grad_norm": grad_norm}, where)) is not None:
                bar.set_postfix(loss=f"{means['loss']:.3f}", nll=f"{means['nll']:.1f}")
        sums = meter.epoch_sums(where)
        totals = torch.tensor([float(len(loader)), *sums.values()], device=device)
        steps_seen, *totals = all_reduce_sum(totals, info).tolist()  # one read per epoch
        row = {"epoch": epoch + 1, "step": step, "lr": scheduler.get_last_lr()[0],
               "train_seconds": round(time.perf_counter() - started, 1)}
        row.update({f"train_{k}": v / steps_seen for k, v in zip(sums, totals)})
        if val_data is not None:
            metrics = evaluate(model, body, val_data, device, settings.val_samples, settings.batch_size, info=info,
                               progress=settings.progress and info.is_main)
            row.update({f"val_{k}": v for k, v in metrics.items()})
        history.append(row)
        if info.is_main:
            csv_log.append(row)
            save_checkpoint(out, training_state(model, optimizer, scheduler, config=config.to_dict(), epoch=epoch,
                                                step=step, history=history, train=settings.to_dict(),
                                                loss_weights=weights.to_dict()))
            summary = ", ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float))
            tqdm.write(f"epoch {epoch + 1}: {summary}")
    return row if info.is_main else {}


@torch.no_grad()
def _initialise_actnorm(model: HMRFlow, batch: dict, device: torch.device, jitter: float) -> None:
    """Data-dependent ActNorm initialisation on one batch of jittered ground-truth poses (before any
    DDP wrapping, which then broadcasts rank 0's values)."""
    batch = _to_device(batch, device)
    target = jittered_target(batch, jitter)
    context = target.new_zeros(target.shape[0], model.config.feature_dim)  # coupling nets start at 0
    model.flow.log_prob(target, context)
