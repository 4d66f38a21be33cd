"""A normalizing flow as a distribution: a transform plus a standard-normal base over its latent.

Shapes (``event`` is the data shape, e.g. ``(144,)`` or ``(1, 8, 8)``; ``D`` its element count):

- ``log_prob(x (B, *event), context (B, C) | None) → (B,)`` nats.
- ``sample(n)`` → ``(n, *event)``; ``sample(n, context (B, C))`` → ``(B, n, *event)``: **each context
  row gets its own n samples**. The conditioner nets see each context row once, not once per sample
  (grouped rows, :mod:`hmr_flow.flows.nets`).
- ``sample_and_log_prob``: the same samples and their log p(x) under the flow, ``(n,)`` or ``(B, n)``.
- ``to_latent(x, context) → (z (B, D), logabsdet (B,))`` and ``from_latent(z, context) → (x, logabsdet)``;
  in **both** ``logabsdet`` is log |det ∂z/∂x| (data → latent), so ``log p(x) = log N(z; 0, I) + logabsdet``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .base import Transform


class Flow(nn.Module):
    """``transform`` (data → latent, see :mod:`hmr_flow.flows.base`) with a ``N(0, I_D)`` base.

    ``event_shape`` is the shape of one data point; the latent is flat ``(D,)`` with ``D`` its element
    count. ``context_features`` is ``C`` of the ``(B, C)`` context (0 for an unconditional flow).
    """

    def __init__(self, transform: Transform, event_shape: tuple[int, ...], context_features: int = 0) -> None:
        super().__init__()
        if not isinstance(transform, Transform):
            raise TypeError(f"Flow needs a Transform, got {type(transform).__name__}")
        self.transform = transform
        self.event_shape = tuple(int(s) for s in event_shape)
        self.latent_features = math.prod(self.event_shape)
        self.context_features = int(context_features)

    # ------------------------------------------------------------------ input checks
    # Shapes only: these run on every training step, where a check of the values (``isfinite(x).all()``)
    # would wait for the device each time. Non-finite inputs give non-finite outputs; training loops
    # detect them at their logging interval (:class:`hmr_flow.training.LossMeter`).
    def _check_context(self, context: Tensor | None, batch: int | None) -> None:
        if self.context_features == 0:
            if context is not None:
                raise ValueError(f"this flow is unconditional but got a context of shape {tuple(context.shape)}")
            return
        if context is None:
            raise ValueError(f"this flow needs a context of shape (B, {self.context_features}), got None")
        if context.dim() != 2 or context.shape[1] != self.context_features or (batch is not None and context.shape[0] != batch):
            expected = f"({batch if batch is not None else 'B'}, {self.context_features})"
            raise ValueError(f"context must have shape {expected}, got {tuple(context.shape)}")

    def _check_data(self, x: Tensor) -> None:
        if tuple(x.shape[1:]) != self.event_shape or x.dim() != len(self.event_shape) + 1:
            raise ValueError(f"data must have shape (B, {', '.join(map(str, self.event_shape))}), got {tuple(x.shape)}")

    def _check_latent(self, z: Tensor) -> None:
        if z.dim() != 2 or z.shape[1] != self.latent_features:
            raise ValueError(f"latent must have shape (B, {self.latent_features}), got {tuple(z.shape)}")

    # ------------------------------------------------------------------ densities and maps
    def base_log_prob(self, z: Tensor) -> Tensor:
        """log N(z; 0, I) for ``z (..., D)`` → ``(...)``."""
        return -0.5 * z.pow(2).sum(dim=-1) - 0.5 * self.latent_features * math.log(2 * math.pi)

    def to_latent(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``x (B, *event) → (z (B, D), log |det ∂z/∂x| (B,))``."""
        self._check_data(x)
        self._check_context(context, x.shape[0])
        return self.transform(x, context)

    def from_latent(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``z (B, D) → (x (B, *event), log |det ∂z/∂x| (B,))`` (the data → latent log |det| at x)."""
        self._check_latent(z)
        self._check_context(context, z.shape[0])
        x, inverse_logabsdet = self.transform.inverse(z, context)
        return x, -inverse_logabsdet

    def log_prob(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        """log p(x | context) in nats, ``(B,)``."""
        z, logabsdet = self.to_latent(x, context)
        return self.base_log_prob(z) + logabsdet

    # ------------------------------------------------------------------ sampling
    def _zeros_like_latent(self, rows: int) -> Tensor:
        """``(rows, D)`` zeros in the flow's dtype and on its device."""
        reference = next(iter(self.parameters()), None)
        if reference is None:
            reference = next(iter(self.buffers()), torch.empty(0))
        return reference.new_zeros(rows, self.latent_features)

    def _latent_noise(self, n: int, context: Tensor | None, temperature: float,
                      generator: torch.Generator | None = None) -> Tensor:
        """``(B·n, D)`` base noise (``B = 1`` without context), sample-major within each context row, drawn
        from ``generator`` (on the flow's device) when given, else from torch's global generator."""
        if n < 1:
            raise ValueError(f"number of samples must be ≥ 1, got {n}")
        if temperature < 0:
            raise ValueError(f"temperature must be ≥ 0, got {temperature}")
        self._check_context(context, None)
        rows = 1 if context is None else context.shape[0]
        zeros = self._zeros_like_latent(rows * n)
        return torch.randn(zeros.shape, generator=generator, dtype=zeros.dtype, device=zeros.device) * temperature

    def _shape_batch(self, values: Tensor, context: Tensor | None, n: int) -> Tensor:
        return values if context is None else values.reshape(context.shape[0], n, *values.shape[1:])

    def sample_and_log_prob(
        self, n: int, context: Tensor | None = None, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """``n`` samples (``(n, *event)``, or ``(B, n, *event)`` with a ``(B, C)`` context) and their
        log p(x | context) under the flow (``(n,)`` or ``(B, n)``).

        ``temperature`` scales the base standard deviation (``z ~ N(0, T² I)``); the returned log
        density is the flow's own (untempered) one, evaluated at the samples. ``generator`` draws the
        base noise (same generator state → same samples).
        """
        z = self._latent_noise(n, context, temperature, generator)
        x, inverse_logabsdet = self.transform.inverse(z, context)
        log_prob = self.base_log_prob(z) - inverse_logabsdet
        return self._shape_batch(x, context, n), self._shape_batch(log_prob, context, n)

    def sample(self, n: int, context: Tensor | None = None, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples: ``(n, *event)`` without context; ``(B, n, *event)`` with a ``(B, C)`` context;
        ``generator`` draws the base noise (see :meth:`sample_and_log_prob`)."""
        z = self._latent_noise(n, context, temperature, generator)
        x, _ = self.transform.inverse(z, context)
        return self._shape_batch(x, context, n)

    def mode(self, context: Tensor | None = None) -> Tensor:
        """The image of ``z = 0``: ``(*event)`` without context, ``(B, *event)`` with a ``(B, C)`` context.

        That is the exact mode of p(x) only when log |det| does not depend on x (additive coupling);
        for other flows this raises ``ValueError`` (use ``from_latent`` with zeros if the
        approximation is wanted).
        """
        if not self.transform.has_constant_logabsdet():
            raise ValueError(
                "mode() is exact only for flows with constant log|det| (additive coupling); this flow's "
                "log|det| depends on x, so the image of z = 0 is not its mode"
            )
        self._check_context(context, None)
        z = self._zeros_like_latent(1 if context is None else context.shape[0])
        x, _ = self.transform.inverse(z, context)
        return x[0] if context is None else x

    def extra_repr(self) -> str:
        return f"event_shape={self.event_shape}, context_features={self.context_features}"
