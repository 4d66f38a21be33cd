"""The training-loop toolkit shared by the pose prior (``hmr-flow prior train``) and the conditional
model (``hmr-flow train hmr``), so both behave the same:

- :func:`warmup_cosine`: the learning-rate schedule — linear warm-up over ``warmup_steps`` (at most a
  fifth of the run), then cosine decay to :data:`FINAL_LR_FRACTION` of the peak at the last step.
- :class:`LossMeter`: loss terms summed **on the device**; they are read (one host–device transfer)
  every :data:`LOG_EVERY` steps and at the end of an epoch, where a non-finite sum stops the run with
  :class:`hmr_flow.validation.DivergedError`. No per-step ``.item()``/``float()``/``isfinite`` checks.
- :class:`MetricsLog`: the CSV metrics log, one row per epoch (a new header section when the columns
  change); a fresh run starts a new log, a resumed one appends.
- Checkpoints: :func:`training_state` (model, optimizer, scheduler and the global RNG states of
  :mod:`hmr_flow.rng`, plus the caller's extras) written atomically (:mod:`hmr_flow.files`), read by
  :func:`load_training_state` (``weights_only=True``) and restored by :func:`restore_training_state`:
  restoring at an epoch boundary continues bit-exactly. ``resume`` with nothing to resume starts afresh.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from hmr_flow.files import cannot_write, save_torch, write_text
from hmr_flow.rng import rng_state, set_rng_state
from hmr_flow.validation import DivergedError, UserInputError, first_line, load_tensor_file, require_keys

log = logging.getLogger(__name__)

#: The learning rate decays to this fraction of its peak at the last step.
FINAL_LR_FRACTION = 0.05
#: Training steps between two reads of the running losses (progress display and divergence check).
LOG_EVERY = 25


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up from ``lr / w`` to ``lr`` over ``w = max(1, min(warmup_steps, total_steps // 5))``
    steps, then cosine decay from ``lr`` to ``FINAL_LR_FRACTION · lr`` at step ``total_steps``
    (constant after it). Call ``scheduler.step()`` once per optimiser step."""
    warmup = max(1, min(warmup_steps, total_steps // 5))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return FINAL_LR_FRACTION + (1.0 - FINAL_LR_FRACTION) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class LossMeter:
    """Running sums of named scalar loss terms, kept on the device and read once per interval.

    Args:
        diverged: the start of the :class:`DivergedError` message (e.g. ``"--lr 0.001: training
            diverged"``); the meter appends where and which terms, and ``hint`` after them.
        hint: advice at the end of the message (e.g. ``"lower --lr"``).
        every: steps between reads (:data:`LOG_EVERY`).
    """

    def __init__(self, diverged: str, hint: str, every: int = LOG_EVERY) -> None:
        self.diverged, self.hint, self.every = diverged, hint, max(1, every)
        self.names: list[str] = []
        self._interval: torch.Tensor | None = None
        self._interval_steps = 0
        self._epoch_sums: list[float] = []
        self.steps = 0
        self.last: dict[str, float] = {}

    def add(self, terms: Mapping[str, torch.Tensor], where: str) -> dict[str, float] | None:
        """Add one step's ``terms`` (0-dim tensors, same names every step). Every ``every`` steps the
        interval's means are read, checked and returned (else ``None``); ``where`` (e.g. ``"epoch 2"``)
        names the place in a divergence message."""
        values = torch.stack([value.detach().float() for value in terms.values()])
        if self._interval is None:
            self.names = list(terms)
            self._interval = values
            self._epoch_sums = [0.0] * len(values)
        else:
            self._interval = self._interval + values
        self._interval_steps += 1
        self.steps += 1
        return self._read(where) if self._interval_steps >= self.every else None

    def _read(self, where: str) -> dict[str, float]:
        sums = self._interval.tolist()  # the one host-device transfer of the interval
        if not all(math.isfinite(value) for value in sums):
            terms = ", ".join(f"{n} {s / self._interval_steps:.4g}" for n, s in zip(self.names, sums))
            raise DivergedError(f"{self.diverged} (non-finite loss in the {self._interval_steps} steps up to {where}, "
                                f"step {self.steps}: mean {terms}); {self.hint}")
        self._epoch_sums = [total + value for total, value in zip(self._epoch_sums, sums)]
        self.last = {n: s / self._interval_steps for n, s in zip(self.names, sums)}
        self._interval, self._interval_steps = torch.zeros_like(self._interval), 0
        return self.last

    def epoch_sums(self, where: str) -> dict[str, float]:
        """Read what is left of the interval, then return the epoch's sums per term and start a new
        epoch (the step count ``steps`` is reset too)."""
        if self._interval is not None and self._interval_steps:
            self._read(where)
        sums = dict(zip(self.names, self._epoch_sums))
        self._interval, self._interval_steps, self._epoch_sums, self.steps = None, 0, [], 0
        return sums


class MetricsLog:
    """The CSV metrics log of a run: one row per epoch.

    ``resume=False`` starts a new log (an old one at ``path`` is deleted); ``resume=True`` appends, after
    dropping the rows of epochs after ``last_epoch`` (the last one the resumed state holds: a run killed
    between writing an epoch's row and its state repeats that epoch). A row whose columns differ from the
    file's header starts a new section with its own header. A refusal of the operating system (a full disk)
    is one line naming the log, which keeps its earlier rows.
    """

    def __init__(self, path: str | Path, resume: bool, last_epoch: int | None = None) -> None:
        self.path = Path(path)
        if not resume:
            self.path.unlink(missing_ok=True)
        elif last_epoch is not None and self.path.is_file():
            self._drop_after(last_epoch)

    def _drop_after(self, last_epoch: int) -> None:
        lines = self.path.read_text().splitlines()
        kept, header = [], None
        for line in lines:
            cells = next(csv.reader([line]), [])
            if not cells or header is None:  # a blank line ends a section, the next line is its header
                header = cells or None
                kept.append(line)
            elif not ("epoch" in header and cells[header.index("epoch")].isdigit()
                      and int(cells[header.index("epoch")]) > last_epoch):
                kept.append(line)
        if len(kept) != len(lines):
            write_text(self.path, "\n".join(kept) + "\n")

    def append(self, row: Mapping[str, Any]) -> None:
        """Add ``row``; a failed write (a full disk) leaves the log as it was, not half a row."""
        size = self.path.stat().st_size if self.path.is_file() else None
        try:
            self._append(row)
        except OSError as err:
            with contextlib.suppress(OSError):
                self.path.unlink() if size is None else os.truncate(self.path, size)
            raise cannot_write(self.path, err) from None

    def _append(self, row: Mapping[str, Any]) -> None:
        new = not self.path.is_file()
        if not new:
            with open(self.path, newline="") as handle:
                header = next(csv.reader(handle), None)
            new = header != list(row)
            if new:
                with open(self.path, "a") as handle:
                    handle.write("\n")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)


def training_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                   scheduler: torch.optim.lr_scheduler.LRScheduler, **extra: Any) -> dict[str, Any]:
    """What resuming needs: ``model``, ``optimizer``, ``scheduler`` state dicts and ``rng`` (the global
    generators, :func:`hmr_flow.rng.rng_state`), plus ``extra`` (epoch, step, settings, …). Tensors,
    numbers, strings, lists and dicts only, so it loads with ``weights_only=True``."""
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "rng": rng_state(), **extra}


def save_training_state(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` atomically (a reader never sees half a checkpoint)."""
    return save_torch(state, path)


def load_training_state(path: str | Path, what: str, map_location: str | torch.device = "cpu",
                        keys: tuple[str, ...] = (), reader: Callable[..., Any] | None = None) -> dict[str, Any] | None:
    """The state at ``path`` for resuming (``weights_only=True``), or ``None`` when there is none (the run
    then starts afresh, with a warning). A corrupt file or one without ``keys`` (besides the ones
    :func:`training_state` writes) is a :class:`UserInputError` naming it and ``what`` it should be.
    ``reader(path, map_location)``: a stricter loader of the caller's format (default
    :func:`hmr_flow.validation.load_tensor_file`)."""
    path = Path(path)
    if not path.is_file():
        log.warning("--resume: %s does not exist yet; starting from scratch", path)
        return None
    if reader is None:
        state = load_tensor_file(path, what, map_location=map_location)
    else:
        state = reader(path, map_location)
    return require_keys(state, ("model", "optimizer", "scheduler", "rng", *keys), path, what)


def restore_training_state(state: dict[str, Any], path: str | Path, model: torch.nn.Module,
                           optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
    """Load ``state`` (from :func:`load_training_state`) into the model, optimiser and scheduler and
    restore the global generators; a state that does not fit is a :class:`UserInputError` naming ``path``."""
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
    except (RuntimeError, KeyError, TypeError, ValueError) as err:
        raise UserInputError(f"{path}: training state does not match this run ({first_line(err)})") from None
