"""The transform protocol shared by every flow layer, and sequential composition.

Convention (nflows-style): a transform maps *data → latent* in :meth:`Transform.forward` and
*latent → data* in :meth:`Transform.inverse`; both return ``(output, logabsdet)`` where
``logabsdet`` has shape ``(B,)`` and is the log |det| of the Jacobian **of the map that was applied**
(so ``inverse``'s value is minus ``forward``'s at the corresponding point).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable

import torch
from torch import Tensor, nn


class Transform(nn.Module, abc.ABC):
    """An invertible map ``x (B, ...) ↔ y (B, ...)`` with an optional context ``(B, C)``."""

    @abc.abstractmethod
    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Data → latent: returns ``(y, logabsdet (B,))``."""

    @abc.abstractmethod
    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Latent → data: returns ``(x, logabsdet (B,))``, the log |det| of the inverse map."""

    def has_constant_logabsdet(self) -> bool:
        """Whether log |det| is independent of the input (then ``z = 0`` maps to the exact mode).

        Conservative default ``False``; layers whose Jacobian determinant does not depend on ``x``
        override it.
        """
        return False


def zero_logabsdet(x: Tensor) -> Tensor:
    """A ``(B,)`` zero log |det| matching ``x``'s batch size, dtype and device."""
    return x.new_zeros(x.shape[0])


class Compose(Transform):
    """Applies ``transforms`` in order in :meth:`forward` and in reverse order in :meth:`inverse`."""

    def __init__(self, *transforms: Transform) -> None:
        super().__init__()
        if not transforms:
            raise ValueError("Compose needs at least one transform")
        for t in transforms:
            if not isinstance(t, Transform):
                raise TypeError(f"Compose expects Transform instances, got {type(t).__name__}")
        self.transforms = nn.ModuleList(transforms)

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        total = zero_logabsdet(x)
        for t in self.transforms:
            x, logabsdet = t(x, context)
            total = total + logabsdet
        return x, total

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        total = zero_logabsdet(y)
        for t in reversed(self.transforms):
            y, logabsdet = t.inverse(y, context)
            total = total + logabsdet
        return y, total

    def has_constant_logabsdet(self) -> bool:
        return all(t.has_constant_logabsdet() for t in self.transforms)


def per_sample_sum(values: Tensor) -> Tensor:
    """Sum over every dimension but the first: ``(B, ...) → (B,)``."""
    return values.reshape(values.shape[0], -1).sum(dim=1)


def feature_view_shape(x: Tensor) -> tuple[int, ...]:
    """Shape that broadcasts a per-feature vector ``(C,)`` over ``x`` of shape ``(B, C)`` or ``(B, C, H, W)``."""
    if x.dim() not in (2, 4):
        raise ValueError(f"expected a (B, D) or (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    return (1, -1) + (1,) * (x.dim() - 2)


def spatial_size(x: Tensor) -> int:
    """Number of positions each feature occupies: 1 for ``(B, D)``, ``H·W`` for ``(B, C, H, W)``."""
    return math.prod(x.shape[2:])


class FrozenCache:
    """Values computed from some tensors, reused while no gradient can flow into them and each is still the
    same tensor, unchanged; up to ``size`` of them per name (the most recently used).

    :meth:`get` rebuilds the value whenever gradients are enabled and one of its tensors requires them
    (training: every call must see the current parameters, in the graph), and otherwise as soon as one of
    them is another tensor object, lives elsewhere (storage, device, dtype, shape) or was modified in place
    (its version counter moved: an optimiser step, ``load_state_dict``, ``copy_``). An entry holds
    references to its tensors, so a freed tensor's memory cannot come back as a false match. Not saved
    with the module (a plain attribute, not a buffer).
    """

    def __init__(self, size: int = 1) -> None:
        self.size = size
        self._entries: dict[str, list[tuple[tuple[Tensor, ...], tuple, Tensor]]] = {}

    @staticmethod
    def _state(tensors: tuple[Tensor, ...]) -> tuple:
        return tuple((t.data_ptr(), t._version, t.device, t.dtype, t.shape) for t in tensors)

    def get(self, name: str, tensors: tuple[Tensor, ...], build: Callable[[], Tensor]) -> Tensor:
        """``build()``, or the value it gave for ``tensors`` at an earlier call under ``name`` (see the class)."""
        if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
            return build()
        entries = self._entries.setdefault(name, [])
        state = self._state(tensors)
        for index, (held, held_state, value) in enumerate(entries):
            if len(held) == len(tensors) and all(a is b for a, b in zip(held, tensors)) and held_state == state:
                entries.append(entries.pop(index))  # the most recently used last
                return value
        entries.append((tensors, state, build()))
        del entries[: -self.size]
        return entries[-1][2]
