"""Conditioner networks for coupling layers: a residual MLP for vectors, a small CNN for images.

Both take ``(x, context)`` with ``context`` ``(B, C)`` or ``None`` and have a zero-initialised output
layer, so a coupling layer built on them starts as the identity map.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _check_context(module: nn.Module, x: Tensor, context: Tensor | None, expected: int) -> None:
    name = type(module).__name__
    if expected == 0:
        if context is not None:
            raise ValueError(f"{name} was built without context but received one of shape {tuple(context.shape)}")
        return
    if context is None:
        raise ValueError(f"{name} needs a context of shape (B, {expected}), got None")
    if context.dim() != 2 or context.shape != (x.shape[0], expected):
        raise ValueError(
            f"{name} needs a context of shape ({x.shape[0]}, {expected}), got {tuple(context.shape)}"
        )


class ResidualMLP(nn.Module):
    """``(B, in_features) [+ context (B, C)] → (B, out_features)``.

    The context is concatenated to the input; then ``Linear → blocks × residual(ReLU → Linear → ReLU →
    Linear) → ReLU → Linear`` (the last layer zero-initialised).
    """

    def __init__(
        self, in_features: int, out_features: int, hidden: int, blocks: int = 2, context_features: int = 0
    ) -> None:
        super().__init__()
        if min(in_features, out_features, hidden) < 1 or blocks < 0 or context_features < 0:
            raise ValueError(
                f"invalid ResidualMLP sizes: in={in_features}, out={out_features}, hidden={hidden}, "
                f"blocks={blocks}, context={context_features}"
            )
        self.context_features = context_features
        self.input = nn.Linear(in_features + context_features, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            for _ in range(blocks)
        )
        self.output = nn.Sequential(nn.ReLU(), nn.Linear(hidden, out_features))
        nn.init.zeros_(self.output[1].weight)
        nn.init.zeros_(self.output[1].bias)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        _check_context(self, x, context, self.context_features)
        h = self.input(x if context is None else torch.cat([x, context], dim=1))
        for block in self.blocks:
            h = h + block(h)
        return self.output(h)


class ConvNet(nn.Module):
    """``(B, in_channels, H, W) [+ context (B, C)] → (B, out_channels, H, W)``.

    The context is broadcast over space and concatenated as extra channels; then
    ``conv3×3 → ReLU → conv1×1 → ReLU → conv3×3`` (zero padding; the last conv zero-initialised).
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: int, context_features: int = 0) -> None:
        super().__init__()
        if min(in_channels, out_channels, hidden) < 1 or context_features < 0:
            raise ValueError(
                f"invalid ConvNet sizes: in={in_channels}, out={out_channels}, hidden={hidden}, "
                f"context={context_features}"
            )
        self.context_features = context_features
        last = nn.Conv2d(hidden, out_channels, 3, padding=1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels + context_features, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1),
            nn.ReLU(),
            last,
        )

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        _check_context(self, x, context, self.context_features)
        if context is not None:
            x = torch.cat([x, context[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)
        return self.layers(x)
