"""Conditioner networks for coupling layers: a residual MLP for vectors, a small CNN for images.

Both take ``(x, context)`` with ``context`` ``(B, C)`` or ``None`` and have a zero-initialised output
layer, so a coupling layer built on them starts as the identity map.

**Grouped rows.** ``x`` may also have ``B·n`` rows for a ``(B, C)`` context: context row ``i`` then
serves the ``n`` consecutive rows ``i·n … i·n + n − 1`` of ``x`` (the layout of
:meth:`hmr_flow.flows.Flow.sample`). The context's share of the first layer is then computed once per
context row, not once per sample.

**A context seen again.** :class:`ResidualMLP` keeps the context's share of its first layer (plus the
bias) for the last :data:`CONTEXTS_KEPT` context tensors it saw, and reuses it while no gradient can flow into it (inference, or a
frozen flow) and neither that tensor nor the layer's weights changed (:class:`~hmr_flow.flows.base.FrozenCache`):
a fit scores new poses against the same people's features at every step, so from the second step on the
first layer costs only its pose columns.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import FrozenCache

#: Contexts whose first-layer term a conditioner keeps (a fit alternates between a few: its batch of people,
#: the bodies it still optimises, the final scoring).
CONTEXTS_KEPT = 4


def _check_context(module: nn.Module, x: Tensor, context: Tensor | None, expected: int) -> None:
    name = type(module).__name__
    if expected == 0:
        if context is not None:
            raise ValueError(f"{name} was built without context but received one of shape {tuple(context.shape)}")
        return
    if context is None:
        raise ValueError(f"{name} needs a context of shape (B, {expected}), got None")
    rows = context.shape[0] if context.dim() == 2 else 0
    if context.dim() != 2 or context.shape[1] != expected or rows == 0 or x.shape[0] % rows:
        raise ValueError(
            f"{name} needs a context of shape ({x.shape[0]}, {expected}) (or one row per group of "
            f"consecutive samples), got {tuple(context.shape)}"
        )


def _group_size(x: Tensor, context: Tensor) -> int:
    """Rows of ``x`` served by each context row (see the module docstring)."""
    return x.shape[0] // context.shape[0]


class ResidualMLP(nn.Module):
    """``(B, in_features) [+ context (B, C)] → (B, out_features)``.

    The context is concatenated to the input; then ``Linear → blocks × residual(ReLU → Linear → ReLU →
    Linear) → ReLU → Linear`` (the last layer zero-initialised). With grouped rows (module docstring)
    the first layer is split into its input and context columns and the context term is broadcast.
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
        self._cache = FrozenCache(CONTEXTS_KEPT)

    def _context_term(self, context: Tensor) -> Tensor:
        """``(B, hidden)``: the first layer's context columns applied to ``context (B, C)``, plus its bias
        (reused for the same context and weights, see the module docstring)."""
        weight, bias = self.input.weight, self.input.bias
        inputs = weight.shape[1] - self.context_features
        return self._cache.get("context", (context, weight, bias),
                               lambda: F.linear(context, weight[:, inputs:], bias))

    def _input_weight(self) -> Tensor:
        """``(hidden, in_features)``: the first layer's input columns, contiguous (reused while frozen)."""
        weight = self.input.weight
        return self._cache.get("input", (weight,), lambda: weight[:, : weight.shape[1] - self.context_features].contiguous())

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        _check_context(self, x, context, self.context_features)
        if context is None:
            h = self.input(x)
        elif _group_size(x, context) == 1:
            h = torch.addmm(self._context_term(context), x, self._input_weight().t())
        else:
            h = F.linear(x, self._input_weight()).unflatten(0, (context.shape[0], -1))
            h = (h + self._context_term(context)[:, None]).flatten(0, 1)
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
            context = context.repeat_interleave(_group_size(x, context), dim=0)
            x = torch.cat([x, context[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)
        return self.layers(x)
