"""``Adam``: the fitter's Adam, the same update as ``torch.optim.Adam`` (no weight decay, no amsgrad).

Why not ``torch.optim.Adam``: constructing any ``torch.optim`` optimiser imports ``torch._dynamo`` (about
1.5 s, a fifth of a 96-person ``hmr-flow fit`` run on 2 cores), and the fitter needs none of its options.
Each parameter tensor ``(P, …)`` holds one value set per body, so the per-element update keeps the bodies
of a batch independent, as with torch's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


class Adam:
    """Adam (Kingma & Ba, 2015) over ``parameters``: with gradient ``g`` at step ``t``,
    ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``, ``p ← p − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)``."""

    def __init__(self, parameters: Sequence[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.parameters = list(parameters)
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.steps = 0
        self.first = [torch.zeros_like(p) for p in self.parameters]
        self.second = [torch.zeros_like(p) for p in self.parameters]

    def zero_grad(self) -> None:
        for parameter in self.parameters:
            parameter.grad = None

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Evaluate ``closure`` (which computes the loss and its gradients) with gradients on, then update."""
        with torch.enable_grad():
            loss = closure()
        self.steps += 1
        correction1 = 1.0 - self.beta1**self.steps
        root_correction2 = (1.0 - self.beta2**self.steps) ** 0.5
        for parameter, first, second in zip(self.parameters, self.first, self.second):
            if parameter.grad is None:
                continue
            grad = parameter.grad
            first.lerp_(grad, 1.0 - self.beta1)
            second.mul_(self.beta2).addcmul_(grad, grad, value=1.0 - self.beta2)
            denominator = (second.sqrt() / root_correction2).add_(self.eps)
            parameter.addcdiv_(first, denominator, value=-self.lr / correction1)
        return loss
