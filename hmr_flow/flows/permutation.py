"""Fixed permutations of the feature dimension (dim 1); log |det| = 0."""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Transform, zero_logabsdet


class Permutation(Transform):
    """``y[:, i] = x[:, permutation[i]]`` for ``(B, D)`` or ``(B, C, H, W)`` input."""

    def __init__(self, permutation: Tensor) -> None:
        super().__init__()
        permutation = torch.as_tensor(permutation, dtype=torch.long)
        n = permutation.numel()
        if permutation.dim() != 1 or not torch.equal(permutation.sort().values, torch.arange(n)):
            raise ValueError(f"not a permutation of 0..{n - 1}: {permutation.tolist()}")
        self.register_buffer("permutation", permutation)
        self.register_buffer("inverse_permutation", permutation.argsort())

    @classmethod
    def reverse(cls, features: int) -> Permutation:
        """Reverses the feature order."""
        return cls(torch.arange(features - 1, -1, -1))

    @classmethod
    def random(cls, features: int, generator: torch.Generator | None = None) -> Permutation:
        """A fixed random shuffle (drawn once, stored as a buffer)."""
        return cls(torch.randperm(features, generator=generator))

    def _permute(self, x: Tensor, index: Tensor) -> tuple[Tensor, Tensor]:
        if x.dim() < 2 or x.shape[1] != index.numel():
            raise ValueError(f"Permutation expects {index.numel()} features on dim 1, got shape {tuple(x.shape)}")
        return x.index_select(1, index), zero_logabsdet(x)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._permute(x, self.permutation)

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._permute(y, self.inverse_permutation)

    def has_constant_logabsdet(self) -> bool:
        return True
