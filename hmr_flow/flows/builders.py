"""Ready-made Glow architectures: :func:`vector_glow` for ``(B, D)`` data, :func:`image_glow` for images."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from .actnorm import ActNorm
from .base import Compose, Transform
from .coupling import AdditiveCoupling, AffineCoupling, Coupling, half_mask
from .distribution import Flow
from .linear import LUConv1x1, LULinear
from .nets import ConvNet, ResidualMLP
from .permutation import Permutation
from .reshape import Flatten, Split, Squeeze
from .spline import SplineCoupling
from .tails import LogTails

_COUPLINGS: dict[str, type[Coupling]] = {"affine": AffineCoupling, "additive": AdditiveCoupling, "spline": SplineCoupling}
_MIXINGS = ("lu", "reverse", "random")


def _coupling_factory(coupling: str, bins: int) -> tuple[int, Callable[[Tensor, nn.Module], Coupling]]:
    """``(conditioner outputs per transformed feature, (mask, conditioner) → coupling layer)``."""
    if coupling not in _COUPLINGS:
        raise ValueError(f"coupling must be one of {sorted(_COUPLINGS)}, got {coupling!r}")
    if coupling == "spline":
        return SplineCoupling.spline_params(bins), lambda mask, net: SplineCoupling(mask, net, bins=bins)
    cls = _COUPLINGS[coupling]
    return cls.params_per_feature, cls


def _mixing_layer(mixing: str, features: int, image: bool) -> Transform:
    if mixing == "lu":
        return LUConv1x1(features) if image else LULinear(features)
    if mixing == "reverse":
        return Permutation.reverse(features)
    if mixing == "random":
        return Permutation.random(features)
    raise ValueError(f"mixing must be one of {_MIXINGS}, got {mixing!r}")


def vector_glow(
    features: int,
    steps: int,
    hidden: int,
    context_features: int = 0,
    coupling: str = "affine",
    blocks: int = 2,
    mixing: str = "lu",
    bins: int = 8,
    tails: float | None = None,
) -> Flow:
    """A flow over ``(B, features)`` vectors: ``steps × (ActNorm → mixing → coupling)`` [→ ``LogTails``].

    Coupling ``k`` keeps the first half of the features fixed when ``k`` is even and the second half
    when odd; its conditioner is a :class:`ResidualMLP` (``hidden`` units, ``blocks`` residual blocks)
    with the ``(B, context_features)`` context concatenated to its input. ``mixing`` is ``"lu"`` (LU
    linear), ``"reverse"`` or ``"random"`` (fixed permutations). ``coupling`` is ``"affine"``,
    ``"additive"`` or ``"spline"`` (rational-quadratic, ``bins`` bins on ``[-4, 4]``, identity tails).
    ``tails`` (a bound) appends :class:`LogTails` on the latent side: heavy-tailed density, bounded
    scores and gradients far from the data. ProHMR's prior is
    ``vector_glow(144, 4, 1024, context_features=2048, coupling="additive", blocks=2)``.
    """
    if features < 2 or steps < 1:
        raise ValueError(f"vector_glow needs features ≥ 2 and steps ≥ 1, got features={features}, steps={steps}")
    per_feature, make_coupling = _coupling_factory(coupling, bins)
    layers: list[Transform] = []
    for k in range(steps):
        n_fixed = int(half_mask(features, k).sum())
        net = ResidualMLP(n_fixed, per_feature * (features - n_fixed), hidden, blocks, context_features)
        layers += [ActNorm(features), _mixing_layer(mixing, features, image=False), make_coupling(half_mask(features, k), net)]
    if tails is not None:
        layers.append(LogTails(tails))
    return Flow(Compose(*layers), (features,), context_features)


def image_glow(
    shape: tuple[int, int, int],
    levels: int,
    steps: int,
    hidden: int,
    coupling: str = "affine",
    context_features: int = 0,
    mixing: str = "lu",
    bins: int = 8,
) -> Flow:
    """A multi-scale Glow over ``(B, C, H, W)`` images with ``shape = (C, H, W)``.

    Each of the ``levels`` levels is ``Squeeze(2) → steps × (ActNorm → 1×1 conv → coupling)``; every
    level but the last then factors half of its channels out to the latent (:class:`Split`), the last
    flattens what is left. Couplings (``coupling`` and ``bins`` as in :func:`vector_glow`) split channels in halves (alternating which half is fixed) with a
    :class:`ConvNet` conditioner (``hidden`` channels, context broadcast over space). The latent is flat
    ``(C·H·W,)``. ``H`` and ``W`` must be divisible by ``2**levels``.
    """
    channels, height, width = (int(s) for s in shape)
    if levels < 1 or steps < 1:
        raise ValueError(f"image_glow needs levels ≥ 1 and steps ≥ 1, got levels={levels}, steps={steps}")
    if height % 2**levels or width % 2**levels:
        raise ValueError(f"image_glow with {levels} levels needs H and W divisible by {2**levels}, got {shape}")
    per_feature, make_coupling = _coupling_factory(coupling, bins)
    level_shapes = []
    for _ in range(levels):
        channels, height, width = channels * 4, height // 2, width // 2
        level_shapes.append((channels, height, width))
        channels -= channels // 2
    tail: Transform | None = None
    for index in reversed(range(levels)):
        c, h, w = level_shapes[index]
        layers: list[Transform] = [Squeeze(2)]
        for k in range(steps):
            n_fixed = int(half_mask(c, k).sum())
            net = ConvNet(n_fixed, per_feature * (c - n_fixed), hidden, context_features)
            layers += [ActNorm(c), _mixing_layer(mixing, c, image=True), make_coupling(half_mask(c, k), net)]
        layers.append(Flatten((c, h, w)) if tail is None else Split((c, h, w), c // 2, tail))
        tail = Compose(*layers)
    return Flow(tail, tuple(int(s) for s in shape), context_features)
