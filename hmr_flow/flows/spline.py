"""Rational-quadratic spline coupling (Durkan et al., "Neural Spline Flows", 2019).

Each transformed feature goes through a monotonic rational-quadratic spline on ``[-bound, bound]``
with ``bins`` bins, and through the identity outside it (linear tails). The spline meets the tails
with slope 1, so the map is C¹; its log-derivative is bounded for bounded parameters, and points
outside the interval contribute exactly 0 to log |det|: scales cannot compound through the steps the
way affine couplings' can. The unnormalised parameters are soft-clamped to ``(−clamp, clamp)`` (as the
affine coupling's log-scales are), which bounds every bin's slope ratio and knot derivative, hence the
log-derivative and its gradient, and keeps the inverse well conditioned.

Per transformed feature the conditioner returns ``3·bins − 1`` numbers: ``bins`` unnormalised bin
widths, ``bins`` unnormalised heights and ``bins − 1`` unnormalised inner-knot derivatives (laid out
as ``(B, 3·bins − 1, n_rest, ...)`` flattened on dim 1, parameter kind outermost). All-zero numbers
give uniform bins and unit derivatives, i.e. the identity map, so a zero-initialised conditioner
starts the layer as the identity.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import per_sample_sum
from .coupling import Coupling


def _knots(raw: Tensor, bound: float, min_size: float) -> tuple[Tensor, Tensor]:
    """Unnormalised (soft-clamped) sizes ``(..., K)`` → knot positions ``(..., K+1)`` from ``-bound`` to ``bound``
    and bin sizes ``(..., K)``, every bin at least ``min_size · 2·bound`` wide."""
    bins = raw.shape[-1]
    weights = raw.exp()  # raw is soft-clamped to a few units: no overflow; ~10× faster than torch.softmax on
    sizes = min_size + (1.0 - min_size * bins) * weights / weights.sum(dim=-1, keepdim=True)  # 8-wide rows
    knots = F.pad(torch.cumsum(sizes, dim=-1), (1, 0))
    knots = 2.0 * bound * knots - bound
    knots = torch.cat([torch.full_like(knots[..., :1], -bound), knots[..., 1:-1], torch.full_like(knots[..., :1], bound)], -1)
    return knots, knots[..., 1:] - knots[..., :-1]


def _gather(values: Tensor, index: Tensor) -> Tensor:
    return values.gather(-1, index[..., None]).squeeze(-1)


def rational_quadratic_spline(
    inputs: Tensor, params: Tensor, bound: float, inverse: bool,
    clamp: float = 3.0, min_bin_size: float = 1e-3, min_derivative: float = 1e-3,
) -> tuple[Tensor, Tensor]:
    """Elementwise monotonic RQ spline on ``[-bound, bound]`` with identity tails.

    ``inputs (...)`` and ``params (..., 3K − 1)`` (widths, heights, inner derivatives, unnormalised;
    soft-clamped to ``(−clamp, clamp)``).
    Returns the outputs ``(...)`` and the elementwise log-derivative ``(...)`` of the map applied
    (forward: ``x → y``; ``inverse``: ``y → x``).
    """
    bins = (params.shape[-1] + 1) // 3
    params = clamp * torch.tanh(params / clamp)
    raw_widths, raw_heights, raw_derivatives = params.split([bins, bins, bins - 1], dim=-1)
    x_knots, widths = _knots(raw_widths, bound, min_bin_size)
    y_knots, heights = _knots(raw_heights, bound, min_bin_size)
    # softplus(0 + shift) = 1 − min_derivative: zero parameters give unit slopes (the identity)
    shift = math.log(math.expm1(1.0 - min_derivative))
    inner = min_derivative + F.softplus(raw_derivatives + shift)
    ones = torch.ones_like(inner[..., :1])
    derivatives = torch.cat([ones, inner, ones], dim=-1)

    inside = (inputs >= -bound) & (inputs <= bound)
    value = inputs.clamp(-bound, bound)
    knots = y_knots if inverse else x_knots
    index = ((value[..., None] >= knots[..., 1:-1]).sum(-1)).clamp(0, bins - 1)
    x_k, w_k = _gather(x_knots, index), _gather(widths, index)
    y_k, h_k = _gather(y_knots, index), _gather(heights, index)
    d_k, d_k1 = _gather(derivatives, index), _gather(derivatives[..., 1:], index)
    slope = h_k / w_k
    curvature = d_k1 + d_k - 2.0 * slope
    if inverse:
        offset = value - y_k
        a = h_k * (slope - d_k) + offset * curvature
        b = h_k * d_k - offset * curvature
        c = -slope * offset
        discriminant = (b.pow(2) - 4.0 * a * c).clamp_min(0.0)
        xi = (2.0 * c / (-b - discriminant.sqrt())).clamp(0.0, 1.0)
        out = x_k + xi * w_k
    else:
        xi = ((value - x_k) / w_k).clamp(0.0, 1.0)
        out = y_k + h_k * (slope * xi.pow(2) + d_k * xi * (1.0 - xi)) / (slope + curvature * xi * (1.0 - xi))
    mixed = xi * (1.0 - xi)
    log_derivative = (2.0 * slope.log() + (d_k1 * xi.pow(2) + 2.0 * slope * mixed + d_k * (1.0 - xi).pow(2)).log()
                      - 2.0 * (slope + curvature * mixed).log())
    if inverse:
        log_derivative = -log_derivative
    return torch.where(inside, out, inputs), torch.where(inside, log_derivative, torch.zeros_like(log_derivative))


class SplineCoupling(Coupling):
    """Rational-quadratic spline coupling with ``bins`` bins on ``[-bound, bound]`` and identity tails
    (see the module docstring). ``params_per_feature`` is ``3·bins − 1``."""

    def __init__(self, mask: Tensor, conditioner: nn.Module, bins: int = 8, bound: float = 4.0) -> None:
        super().__init__(mask, conditioner)
        if bins < 2 or bound <= 0:
            raise ValueError(f"SplineCoupling needs bins ≥ 2 and bound > 0, got bins={bins}, bound={bound}")
        self.bins, self.bound = int(bins), float(bound)
        self.params_per_feature = self.spline_params(self.bins)

    @staticmethod
    def spline_params(bins: int = 8) -> int:
        """Conditioner outputs per transformed feature for ``bins`` bins."""
        return 3 * bins - 1

    def _couple(self, rest: Tensor, params: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
        params = params.reshape(rest.shape[0], self.params_per_feature, *rest.shape[1:]).movedim(1, -1)
        out, log_derivative = rational_quadratic_spline(rest, params, self.bound, inverse)
        return out, per_sample_sum(log_derivative)

    def extra_repr(self) -> str:
        return f"features={self.features}, bins={self.bins}, bound={self.bound}"
