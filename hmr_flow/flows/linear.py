"""Invertible linear maps on the feature dimension, parameterised by an LU decomposition (Glow).

``W = P · L · (U + diag(sign · exp(log_s)))`` with ``P`` a fixed permutation, ``L`` unit lower
triangular (its strictly-lower part is learned), ``U`` strictly upper triangular and ``log_s``
learned; ``sign`` is a fixed buffer. log |det W| = Σ log_s in O(C).

:class:`LUCore` owns the parameters; :class:`LULinear` applies ``W`` to vectors ``(B, D)`` and
:class:`LUConv1x1` to every position of images ``(B, C, H, W)`` (a 1×1 convolution, log |det|
multiplied by ``H·W``). ``W`` and ``W⁻¹`` (the latter by triangular solves in float64) are rebuilt
from the parameters whenever gradients may flow into them, so gradients flow through both directions.
When they cannot (inference, or a frozen flow used as a fitting prior), the last ``W`` / ``W⁻¹`` is
reused as long as the parameters are the same tensors at the same version: an optimiser step,
``load_state_dict`` or a move to another device changes that, so the matrices are never stale.
"""

from __future__ import annotations

import abc

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .base import FrozenCache, Transform, spatial_size


class LUCore(nn.Module):
    """The LU-parameterised ``(C, C)`` matrix, initialised from a random orthogonal matrix's LU."""

    def __init__(self, features: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if features < 1:
            raise ValueError(f"LU linear layer needs features ≥ 1, got {features}")
        self.features = features
        gaussian = torch.randn(features, features, generator=generator, dtype=torch.float64)
        orthogonal, _ = torch.linalg.qr(gaussian)
        p, lower, upper = torch.linalg.lu(orthogonal)  # orthogonal = p @ lower @ upper
        diagonal = upper.diagonal()
        dtype = torch.get_default_dtype()
        self.register_buffer("permutation", p.to(dtype))
        self.register_buffer("sign", diagonal.sign().to(dtype))
        self.lower = nn.Parameter(lower.tril(-1).to(dtype))
        self.upper = nn.Parameter(upper.triu(1).to(dtype))
        self.log_s = nn.Parameter(diagonal.abs().log().to(dtype))
        self._cache = FrozenCache()

    def _reused(self, name: str, dtype: torch.dtype, build) -> Tensor:
        """``build()``, or its result from an earlier call when no gradient can flow into it and nothing
        it depends on has changed since (:class:`~hmr_flow.flows.base.FrozenCache`)."""
        tensors = (self.lower, self.upper, self.log_s, self.permutation, self.sign)
        return self._cache.get(f"{name} {dtype}", tensors, build)

    def _factors(self, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        eye = torch.eye(self.features, dtype=dtype, device=self.log_s.device)
        lower = self.lower.to(dtype).tril(-1) + eye
        upper = self.upper.to(dtype).triu(1) + torch.diag(self.sign.to(dtype) * self.log_s.to(dtype).exp())
        return lower, upper

    def weight(self) -> Tensor:
        """``W (C, C)`` in the parameters' dtype."""
        return self._reused("weight", self.log_s.dtype, self._build_weight)

    def inverse_weight(self, dtype: torch.dtype) -> Tensor:
        """``W⁻¹ (C, C)`` computed in float64 by triangular solves, then cast to ``dtype``."""
        return self._reused("inverse", dtype, lambda: self._build_inverse(dtype))

    def _build_weight(self) -> Tensor:
        lower, upper = self._factors(self.log_s.dtype)
        return self.permutation @ lower @ upper

    def _build_inverse(self, dtype: torch.dtype) -> Tensor:
        lower, upper = self._factors(torch.float64)
        lower_inv_pt = torch.linalg.solve_triangular(
            lower, self.permutation.to(torch.float64).T, upper=False, unitriangular=True
        )
        return torch.linalg.solve_triangular(upper, lower_inv_pt, upper=True).to(dtype)

    def logabsdet(self) -> Tensor:
        """log |det W| (scalar)."""
        return self.log_s.sum()

    def extra_repr(self) -> str:
        return f"features={self.features}"


class _LUMap(Transform):
    """Shared forward/inverse of the LU layers; subclasses say how ``W`` acts on their input shape."""

    #: Axis names of the accepted input, e.g. ``("B", "C")``.
    layout: tuple[str, ...] = ()

    def __init__(self, features: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.core = LUCore(features, generator)

    def _check(self, x: Tensor) -> None:
        if x.dim() != len(self.layout) or x.shape[1] != self.core.features:
            raise ValueError(
                f"{type(self).__name__} expects ({', '.join(self.layout)}) input with C = {self.core.features}, "
                f"got shape {tuple(x.shape)}"
            )

    @abc.abstractmethod
    def _multiply(self, x: Tensor, matrix: Tensor) -> Tensor:
        """Applies ``matrix (C, C)`` to the feature dimension of ``x``."""

    def _map(self, x: Tensor, matrix: Tensor, sign: float) -> tuple[Tensor, Tensor]:
        self._check(x)
        logabsdet = sign * spatial_size(x) * self.core.logabsdet()
        return self._multiply(x, matrix), logabsdet.expand(x.shape[0])

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._map(x, self.core.weight(), 1.0)

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._map(y, self.core.inverse_weight(y.dtype), -1.0)

    def has_constant_logabsdet(self) -> bool:
        return True


class LULinear(_LUMap):
    """``y = W x`` for vectors ``(B, D)``; log |det| = Σ log_s."""

    layout = ("B", "C")

    def _multiply(self, x: Tensor, matrix: Tensor) -> Tensor:
        return F.linear(x, matrix)


class LUConv1x1(_LUMap):
    """Invertible 1×1 convolution ``y[:, :, i, j] = W x[:, :, i, j]`` on ``(B, C, H, W)``; log |det| = H·W·Σ log_s."""

    layout = ("B", "C", "H", "W")

    def _multiply(self, x: Tensor, matrix: Tensor) -> Tensor:
        return F.conv2d(x, matrix[:, :, None, None])
