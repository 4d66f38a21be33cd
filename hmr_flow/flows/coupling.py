"""Coupling layers: affine (RealNVP/Glow) and additive (NICE), split along the feature dimension
(the rational-quadratic spline coupling is in :mod:`hmr_flow.flows.spline`).

A boolean ``mask`` over dim 1 (features of ``(B, D)`` or channels of ``(B, C, H, W)``) marks the
features passed through unchanged; the ``conditioner`` maps them (and the context) to the
parameters that transform the others. For vectors that is a half-split alternating between layers,
for images a channel split.
"""

from __future__ import annotations

import abc

import torch
from torch import Tensor, nn

from .base import Transform, per_sample_sum, zero_logabsdet


def half_mask(features: int, parity: int) -> Tensor:
    """Mask ``(features,)`` keeping the first half (``parity`` even) or the second half (odd) fixed.

    With odd ``features`` the first half is ``features // 2`` long.
    """
    if features < 2:
        raise ValueError(f"a coupling layer needs at least 2 features, got {features}")
    mask = torch.zeros(features, dtype=torch.bool)
    half = features // 2
    if parity % 2 == 0:
        mask[:half] = True
    else:
        mask[half:] = True
    return mask


class Coupling(Transform):
    """Base coupling layer: ``y_fixed = x_fixed``, ``y_rest = g(x_rest; conditioner(x_fixed, context))``.

    ``conditioner`` must map ``(B, n_fixed, ...)`` and ``context (B, C) | None`` to
    ``(B, params_per_feature · n_rest, ...)``.
    """

    #: Number of conditioner outputs per transformed feature.
    params_per_feature: int = 1

    def __init__(self, mask: Tensor, conditioner: nn.Module) -> None:
        super().__init__()
        mask = torch.as_tensor(mask, dtype=torch.bool)
        if mask.dim() != 1 or mask.all() or not mask.any():
            raise ValueError(f"coupling mask must be a 1-D boolean vector with both values, got {mask.tolist()}")
        self.register_buffer("fixed_index", mask.nonzero().squeeze(1))
        self.register_buffer("rest_index", (~mask).nonzero().squeeze(1))
        self.features = mask.numel()
        self.conditioner = conditioner

    @property
    def rest_features(self) -> int:
        return self.rest_index.numel()

    def _split(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.dim() < 2 or x.shape[1] != self.features:
            raise ValueError(f"{type(self).__name__} expects {self.features} features on dim 1, got shape {tuple(x.shape)}")
        return x.index_select(1, self.fixed_index), x.index_select(1, self.rest_index)

    def _merge(self, fixed: Tensor, rest: Tensor) -> Tensor:
        out = fixed.new_empty(fixed.shape[0], self.features, *fixed.shape[2:])
        out = out.index_copy(1, self.fixed_index, fixed)
        return out.index_copy(1, self.rest_index, rest)

    def _params(self, fixed: Tensor, context: Tensor | None) -> Tensor:
        params = self.conditioner(fixed, context)
        expected = (fixed.shape[0], self.params_per_feature * self.rest_features, *fixed.shape[2:])
        if tuple(params.shape) != expected:
            raise ValueError(f"{type(self).__name__}: conditioner returned shape {tuple(params.shape)}, expected {expected}")
        return params

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        fixed, rest = self._split(x)
        rest, logabsdet = self._couple(rest, self._params(fixed, context), inverse=False)
        return self._merge(fixed, rest), logabsdet

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        fixed, rest = self._split(y)
        rest, logabsdet = self._couple(rest, self._params(fixed, context), inverse=True)
        return self._merge(fixed, rest), logabsdet

    @abc.abstractmethod
    def _couple(self, rest: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        """Transforms the non-fixed part with ``params``; returns it and log |det| ``(B,)``."""


class AffineCoupling(Coupling):
    """``y = x · exp(s) + t`` with ``s = clamp · tanh(raw / clamp)`` (soft clamp to ``(−clamp, clamp)``)."""

    params_per_feature = 2

    def __init__(self, mask: Tensor, conditioner: nn.Module, clamp: float = 3.0) -> None:
        super().__init__(mask, conditioner)
        if clamp <= 0:
            raise ValueError(f"AffineCoupling clamp must be positive, got {clamp}")
        self.clamp = clamp

    def _couple(self, rest: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        shift, raw = params.chunk(2, dim=1)
        log_scale = self.clamp * torch.tanh(raw / self.clamp)
        if inverse:
            return (rest - shift) * (-log_scale).exp(), -per_sample_sum(log_scale)
        return rest * log_scale.exp() + shift, per_sample_sum(log_scale)

    def extra_repr(self) -> str:
        return f"features={self.features}, clamp={self.clamp}"


class AdditiveCoupling(Coupling):
    """``y = x + t`` (volume preserving: log |det| = 0)."""

    params_per_feature = 1

    def _couple(self, rest: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        return (rest - params if inverse else rest + params), zero_logabsdet(rest)

    def has_constant_logabsdet(self) -> bool:
        return True
