"""Shape-changing bijections for image flows: space-to-depth squeeze, flatten, multi-scale split.

All have log |det| = 0 themselves (:class:`Split` reports its ``next`` transform's).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Transform, zero_logabsdet


class Squeeze(Transform):
    """Space-to-depth: ``(B, C, H, W) → (B, C·f², H/f, W/f)`` (``f = factor``), exactly invertible.

    Output channel ``c·f² + i·f + j`` holds input pixel ``(f·h + i, f·w + j)`` of channel ``c``.
    """

    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        if factor < 1:
            raise ValueError(f"Squeeze factor must be ≥ 1, got {factor}")
        self.factor = factor

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        f = self.factor
        if x.dim() != 4 or x.shape[2] % f or x.shape[3] % f:
            raise ValueError(f"Squeeze(factor={f}) needs (B, C, H, W) with H, W divisible by {f}, got {tuple(x.shape)}")
        b, c, h, w = x.shape
        y = x.reshape(b, c, h // f, f, w // f, f).permute(0, 1, 3, 5, 2, 4).reshape(b, c * f * f, h // f, w // f)
        return y, zero_logabsdet(x)

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        f = self.factor
        if y.dim() != 4 or y.shape[1] % (f * f):
            raise ValueError(f"Squeeze(factor={f}).inverse needs (B, C, H, W) with C divisible by {f * f}, got {tuple(y.shape)}")
        b, c, h, w = y.shape
        x = y.reshape(b, c // (f * f), f, f, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c // (f * f), h * f, w * f)
        return x, zero_logabsdet(y)

    def has_constant_logabsdet(self) -> bool:
        return True

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


class Flatten(Transform):
    """``(B, *shape) ↔ (B, prod(shape))``."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"Flatten expects (B, {', '.join(map(str, self.shape))}), got {tuple(x.shape)}")
        return x.reshape(x.shape[0], -1), zero_logabsdet(x)

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if y.dim() != 2 or y.shape[1] != math.prod(self.shape):
            raise ValueError(f"Flatten.inverse expects (B, {math.prod(self.shape)}), got {tuple(y.shape)}")
        return y.reshape(y.shape[0], *self.shape), zero_logabsdet(y)

    def has_constant_logabsdet(self) -> bool:
        return True

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Split(Transform):
    """Multi-scale factor-out: ``x (B, C, H, W) → cat([x[:, :k].flatten(1), next(x[:, k:])], dim=1)``.

    The first ``k = factored`` channels go straight to the latent (the base density models them);
    the remaining ``C − k`` channels continue through ``next``, which must end in a flat
    ``(B, N)`` output (e.g. a :class:`Compose` ending in another :class:`Split` or a :class:`Flatten`).
    ``shape = (C, H, W)`` is this level's input shape, needed to rebuild images in :meth:`inverse`.
    """

    def __init__(self, shape: tuple[int, int, int], factored: int, next: Transform) -> None:
        super().__init__()
        channels, height, width = (int(s) for s in shape)
        if not 0 < factored < channels:
            raise ValueError(f"Split must factor out 0 < k < C channels, got k={factored}, C={channels}")
        self.shape = (channels, height, width)
        self.factored = factored
        self.next = next

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"Split expects (B, {', '.join(map(str, self.shape))}), got {tuple(x.shape)}")
        z, logabsdet = self.next(x[:, self.factored :], context)
        return torch.cat([x[:, : self.factored].reshape(x.shape[0], -1), z], dim=1), logabsdet

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        channels, height, width = self.shape
        size = self.factored * height * width
        if y.dim() != 2 or y.shape[1] != channels * height * width:
            raise ValueError(f"Split.inverse expects (B, {channels * height * width}), got {tuple(y.shape)}")
        rest, logabsdet = self.next.inverse(y[:, size:], context)
        factored = y[:, :size].reshape(y.shape[0], self.factored, height, width)
        return torch.cat([factored, rest], dim=1), logabsdet

    def has_constant_logabsdet(self) -> bool:
        return self.next.has_constant_logabsdet()

    def extra_repr(self) -> str:
        return f"shape={self.shape}, factored={self.factored}"
