"""Process-group set-up for multi-GPU training with ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node=G -m hmr_flow.cli train hmr ...`` sets ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``; with them present training runs distributed (NCCL on CUDA, gloo on the CPU), without
them it runs in one process. Rank 0 alone writes checkpoints, logs and shows progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from hmr_flow.validation import resolve_device


@dataclass(frozen=True)
class DistInfo:
    """``rank`` of this process among ``world`` processes; ``enabled`` when a process group is up."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    enabled: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | torch.device) -> tuple[DistInfo, torch.device]:
    """Join the ``torchrun`` process group if its environment is set; returns the rank info and this
    process's device (``cuda:LOCAL_RANK`` for ``device='cuda'``; ``device`` as
    :func:`hmr_flow.validation.resolve_device` takes it, ``'auto'`` included)."""
    device = resolve_device(device)
    if "WORLD_SIZE" not in os.environ:
        return DistInfo(), device
    try:
        world, rank = int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
    except (KeyError, ValueError) as err:
        raise RuntimeError(f"torchrun environment incomplete or malformed: {err!r} (WORLD_SIZE, RANK, LOCAL_RANK)") from None
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
        this_device, backend = torch.device("cuda", local_rank), "nccl"
    else:
        this_device, backend = device, "gloo"
    dist.init_process_group(backend, rank=rank, world_size=world)
    return DistInfo(rank, world, local_rank, True), this_device


def all_reduce_sum(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum of ``values`` over all processes (unchanged in a single process)."""
    if info.enabled:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def shutdown(info: DistInfo) -> None:
    """Leave the process group (no-op without one)."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
