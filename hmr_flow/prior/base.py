"""``PosePrior``: the interface shared by the flow prior, the GMM baseline and the "none" prior.

Every method takes a body pose as axis-angle ``(B, 69)`` or rotation matrices ``(B, 23, 3, 3)``
(see :mod:`hmr_flow.prior.inputs`) and returns per-pose values ``(B,)``:

- ``log_prob``: log-density in nats per pose over canonical axis-angle of the modelled joints
  (:mod:`hmr_flow.prior.space` says exactly which density and how to compare two priors).
- ``loss``: a differentiable cost for fitting (lower = more plausible); see each prior.
- ``score``: ``(log_prob, percentile)``, the percentile being the share (in %) of held-out real poses
  (validation subjects of the training data) whose log-likelihood is lower; no gradient.
- ``sample(n, temperature)``: ``(n, 69)`` canonical axis-angle poses.

:class:`TorchDensityPrior` is the common part of the flow and CNF priors (floor, checkpoint ``save``/``load``).
:class:`FittingPrior` is what fitting needs of any prior (these and the conditional model's,
:class:`hmr_flow.models.ConditionalPrior`): a ``kind``, a ``fit_weight``, and the loss and
log-likelihood of ``B`` fitted bodies given both as axis-angle body pose and as rotation matrices.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor, nn

from hmr_flow.files import save_torch
from hmr_flow.prior.inputs import body_pose_tensor, canonical_axis_angle
from hmr_flow.prior.space import PoseSpace
from hmr_flow.validation import UserInputError, check_state_dict, first_line, load_tensor_file, require_keys
from hmr_flow.validation.file_kinds import FileKind

#: Percentile levels of the held-out table: 0, 0.1, …, 100 %.
PERCENTILE_LEVELS = np.linspace(0.0, 100.0, 1001)


def percentile_table(held_out_log_prob: np.ndarray) -> np.ndarray:
    """Quantiles ``(1001,)`` of held-out log-likelihoods at :data:`PERCENTILE_LEVELS`."""
    values = np.asarray(held_out_log_prob, dtype=np.float64)
    if values.ndim != 1 or values.size < 2 or not np.isfinite(values).all():
        raise ValueError(f"held-out log-likelihoods must be a finite 1-D array of ≥ 2 values, got {values.shape}")
    return np.percentile(values, PERCENTILE_LEVELS).astype(np.float32)


@runtime_checkable
class FittingPrior(Protocol):
    """What :func:`hmr_flow.fitting.fit_people` needs of a pose prior, for ``B`` bodies given as
    ``body_pose (B, 69)`` axis-angle and ``rotations (B, 24, 3, 3)``: the same pose with the global
    orientation (camera frame) first, as rotation matrices — the fitter builds them once per step for
    the body model, and each prior reads the form it models."""

    #: ``"flow"``, ``"gmm"``, ``"none"``, ``"conditional"``.
    kind: str
    #: Default weight of :meth:`fitting_loss` in the fit's objective.
    fit_weight: float

    def fitting_loss(self, body_pose: Tensor, rotations: Tensor) -> Tensor:
        """``(B,)`` differentiable cost the fit minimises (shapes checked, values not: one call per step)."""

    def fitted_log_prob(self, body_pose: Tensor, rotations: Tensor) -> Tensor | None:
        """``(B,)`` log-likelihood (nats) of fitted poses, or ``None`` for a prior without a density."""

    def for_bodies(self, rows: Tensor, batch: int) -> FittingPrior:
        """The prior of bodies ``rows (R,)`` of a batch of ``batch`` (what the fitter scores once it has dropped
        some hypotheses)."""


class PosePrior(nn.Module, abc.ABC):
    """The prior interface (see the module docstring); ``kind`` is ``"flow"``, ``"gmm"`` or ``"none"``."""

    kind: str = ""
    #: Default weight of :meth:`loss` in fitting (its scale depends on the prior: nats for a density,
    #: SMPLify's max-component cost for the GMM); chosen on ``bench/fit_eval.py``-style held-out fits.
    fit_weight: float = 1.0

    @abc.abstractmethod
    def log_prob(self, body_pose) -> Tensor:
        """log p(body_pose) ``(B,)`` in nats (differentiable)."""

    def loss(self, body_pose) -> Tensor:
        """Differentiable fitting cost ``(B,)``: the negative log-likelihood unless a subclass says otherwise.

        Meant for optimisation loops (one call per step): it checks the shape only, not the values, so
        it never waits for the device; non-finite poses give non-finite costs (the fitter resets such
        bodies after each stage). :meth:`log_prob` and :meth:`score` check the values too."""
        return -self.log_prob(body_pose)

    def fitting_loss(self, body_pose: Tensor, rotations: Tensor) -> Tensor:
        """:class:`FittingPrior`: :meth:`loss` of the body pose (global orientation is not part of it)."""
        return self.loss(body_pose)

    def fitted_log_prob(self, body_pose: Tensor, rotations: Tensor) -> Tensor | None:
        """:class:`FittingPrior`: :meth:`log_prob` of the body pose."""
        return self.log_prob(body_pose)

    def for_bodies(self, rows: Tensor, batch: int) -> PosePrior:
        """:class:`FittingPrior`: itself (a body's cost depends on its own pose only)."""
        return self

    @abc.abstractmethod
    def score(self, body_pose) -> tuple[Tensor, Tensor]:
        """``(log_prob (B,), percentile (B,))`` on the CPU, no gradient."""

    @abc.abstractmethod
    def sample(self, n: int, temperature: float = 1.0) -> Tensor:
        """``n`` poses ``(n, 69)``, canonical axis-angle."""


class DensityPrior(PosePrior):
    """A prior with a normalised density in model coordinates (:class:`~hmr_flow.prior.space.PoseSpace`)
    and a held-out percentile table. Subclasses implement ``_model_log_prob`` and ``_sample_model``.

    Args:
        space: modelled joints and model coordinates.
        percentiles: ``(1001,)`` held-out log-likelihood quantiles (:func:`percentile_table`) or ``None``.
    """

    def __init__(self, space: PoseSpace, percentiles: np.ndarray | Tensor | None = None) -> None:
        super().__init__()
        self.space = space
        table = torch.zeros(0) if percentiles is None else torch.as_tensor(np.asarray(percentiles), dtype=torch.float32)
        if table.numel() and tuple(table.shape) != (len(PERCENTILE_LEVELS),):
            raise ValueError(f"percentile table must have {len(PERCENTILE_LEVELS)} values, got {tuple(table.shape)}")
        self.register_buffer("percentiles", table)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # the held-out table may be absent (0 values) on one side: take the stored one's size
        table = state_dict.get(prefix + "percentiles")
        if table is not None:
            self.percentiles = torch.zeros_like(table, device=self.percentiles.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def set_percentiles(self, held_out_log_prob: np.ndarray) -> None:
        """Store the held-out table from log-likelihoods of held-out real poses ``(N,)``."""
        self.percentiles = torch.from_numpy(percentile_table(held_out_log_prob)).to(self.space.joints.device)

    @abc.abstractmethod
    def _model_log_prob(self, x: Tensor) -> Tensor:
        """log-density ``(B,)`` of model coordinates ``x (B, 3J)``."""

    @abc.abstractmethod
    def _sample_model(self, n: int, temperature: float) -> Tensor:
        """``n`` samples ``(n, 3J)`` in model coordinates."""

    def encode(self, body_pose, check_finite: bool = True) -> tuple[Tensor, Tensor]:
        """Body pose → model coordinates ``(B, 3J)`` and the log-Jacobian back to axis-angle ``(B,)``
        (``check_finite=False`` in :meth:`loss`, see there)."""
        axis_angle = canonical_axis_angle(body_pose, torch.float32, self.space.joints.device, check_finite)
        return self.space.encode(axis_angle)

    def loss(self, body_pose) -> Tensor:
        x, log_jacobian = self.encode(body_pose, check_finite=False)
        return -(self._model_log_prob(x) + log_jacobian)

    def log_prob(self, body_pose) -> Tensor:
        x, log_jacobian = self.encode(body_pose)
        return self._model_log_prob(x) + log_jacobian

    def percentile(self, log_prob: Tensor) -> Tensor:
        """Share (%) of held-out real poses with a lower log-likelihood, ``(B,)`` in ``[0, 100]``."""
        if self.percentiles.numel() == 0:
            raise UserInputError(f"this {self.kind} prior has no held-out percentile table (train it with 'prior train')")
        values = np.interp(log_prob.detach().cpu().double().numpy(), self.percentiles.cpu().double().numpy(),
                           PERCENTILE_LEVELS)
        return torch.as_tensor(values, dtype=torch.float32)

    @torch.no_grad()
    def score(self, body_pose) -> tuple[Tensor, Tensor]:
        log_prob = self.log_prob(body_pose).float().cpu()
        return log_prob, self.percentile(log_prob)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0) -> Tensor:
        """``n`` poses ``(n, 69)``, canonical axis-angle; ``temperature`` scales the spread (1 = the model)."""
        if int(n) < 1:
            raise ValueError(f"number of samples must be ≥ 1, got {n}")
        if not 0.0 <= float(temperature) < float("inf"):
            raise ValueError(f"temperature must be a finite number ≥ 0, got {temperature}")
        return self.space.decode(self._sample_model(int(n), float(temperature))).flatten(1)


def settings_with_defaults(given: dict | None, defaults: dict, what: str) -> dict:
    """``defaults`` updated with ``given`` (``None``: none given); a key ``defaults`` lacks is a ``ValueError``
    naming ``what`` settings these are."""
    unknown = set(given or {}) - set(defaults)
    if unknown:
        raise ValueError(f"unknown {what} settings {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **(given or {})}


class TorchDensityPrior(DensityPrior):
    """A :class:`DensityPrior` of torch modules mixed with a uniform-rotation floor
    (:func:`~hmr_flow.prior.space.floored_log_prob`), saved as a ``torch.save`` dict loadable with
    ``weights_only=True``: ``format`` (:attr:`checkpoint_format`), ``config`` (:meth:`config`: ``joints``,
    ``coords``, the model's settings under :attr:`model_key`, ``floor``, …), ``state_dict`` (with
    ``space.mean_rotations``), ``info`` (provenance). Subclasses set the class attributes and implement
    :meth:`config` and :meth:`_from_config`.

    Args:
        space: modelled joints and model coordinates; floor: weight ``ε`` of the uniform-rotation component,
            ``[0, 1)``; percentiles: held-out table or ``None``; info: provenance saved with the prior.
    """

    #: ``format`` of the checkpoint dict.
    checkpoint_format: str = ""
    #: The prior's name in error messages ("flow", "CNF").
    label: str = ""
    #: Key of the model's settings in ``config``.
    model_key: str = ""
    #: What a checkpoint file must be (:mod:`hmr_flow.validation.file_kinds`).
    file_kind: FileKind | None = None

    def __init__(self, space: PoseSpace, floor: float = 0.0, percentiles: np.ndarray | Tensor | None = None,
                 info: dict | None = None) -> None:
        super().__init__(space, percentiles)
        if not 0.0 <= float(floor) < 1.0:
            raise ValueError(f"floor must be in [0, 1), got {floor}")
        self.floor = float(floor)
        self.info = dict(info or {})

    @abc.abstractmethod
    def config(self) -> dict:
        """The ``config`` of the checkpoint (class docstring)."""

    @classmethod
    @abc.abstractmethod
    def _from_config(cls, config: dict, mean_rotations: Tensor, info: dict | None) -> TorchDensityPrior:
        """A prior built from a checked checkpoint ``config``, before its weights are loaded."""

    def save(self, path: str | Path) -> Path:
        """Write the checkpoint (class docstring), atomically."""
        return save_torch({"format": self.checkpoint_format, "config": self.config(), "state_dict": self.state_dict(),
                           "info": self.info}, path)

    @classmethod
    def from_checkpoint(cls, checkpoint: dict, source: str = "checkpoint") -> TorchDensityPrior:
        """Build from a dict written by :meth:`save`, checked; :class:`UserInputError` naming ``source``
        otherwise."""
        fmt, label = cls.checkpoint_format, cls.label
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != fmt:
            found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
            raise UserInputError(f"{source}: not a {label} prior checkpoint (format {found!r}, expected {fmt!r})")
        require_keys(checkpoint, ("config", "state_dict"), source, f"{label} prior checkpoint")
        config = require_keys(checkpoint["config"], ("joints", "coords", cls.model_key), source,
                              f"{label} prior configuration")
        state = check_state_dict(checkpoint["state_dict"], source, "state_dict")
        require_keys(dict(state), ("space.mean_rotations",), source, f"{label} prior state_dict")
        try:
            prior = cls._from_config(config, state["space.mean_rotations"], checkpoint.get("info"))
            prior.load_state_dict(state)
        except (RuntimeError, TypeError, ValueError, IndexError) as err:
            raise UserInputError(f"{source}: weights do not match the stored configuration "
                                 f"({first_line(err)})") from None
        return prior

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu") -> TorchDensityPrior:
        """Read a checkpoint written by :meth:`save`; errors name the file."""
        checkpoint = load_tensor_file(path, f"{cls.label} prior checkpoint", map_location, kind=cls.file_kind)
        return cls.from_checkpoint(checkpoint, str(path))


class NoPrior(PosePrior):
    """The "none" prior: an improper flat density (``log_prob = 0``, ``loss = 0``); it cannot be sampled
    or scored. Lets fitting code treat "no prior" like any other prior."""

    kind = "none"
    fit_weight = 0.0

    def log_prob(self, body_pose) -> Tensor:
        pose = body_pose_tensor(body_pose)
        return pose.new_zeros(pose.shape[0])

    def loss(self, body_pose) -> Tensor:
        pose = body_pose_tensor(body_pose, check_finite=False)
        return pose.new_zeros(pose.shape[0])

    def fitted_log_prob(self, body_pose: Tensor, rotations: Tensor) -> None:
        """No density: fitted poses get no log-likelihood."""
        return None

    def score(self, body_pose) -> tuple[Tensor, Tensor]:
        raise ValueError("the 'none' prior is a flat improper density: it cannot score poses (use 'flow' or 'gmm')")

    def sample(self, n: int, temperature: float = 1.0) -> Tensor:
        raise ValueError("the 'none' prior is a flat improper density: it cannot be sampled (use 'flow' or 'gmm')")
