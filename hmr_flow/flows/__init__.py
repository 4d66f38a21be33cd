"""Normalizing-flow core: Glow-style invertible layers, a continuous flow (neural ODE), builders and a flow
distribution.

Knows nothing about bodies or images beyond tensor shapes. Every layer is a :class:`Transform`
with ``forward(x, context=None) -> (y, logabsdet (B,))`` (data → latent) and
``inverse(y, context=None) -> (x, logabsdet (B,))``; contexts are ``(B, C)``.
"""

from .actnorm import ActNorm
from .base import Compose, Transform
from .builders import image_glow, vector_glow
from .continuous import ContinuousFlow, ODESolution, ODESolver, TimeMLP, jacobian_divergence
from .coupling import AdditiveCoupling, AffineCoupling, Coupling, half_mask
from .distribution import Flow
from .linear import LUConv1x1, LUCore, LULinear
from .nets import ConvNet, ResidualMLP
from .permutation import Permutation
from .reshape import Flatten, Split, Squeeze
from .spline import SplineCoupling, rational_quadratic_spline
from .tails import LogTails

__all__ = [
    "ActNorm",
    "AdditiveCoupling",
    "AffineCoupling",
    "Compose",
    "ContinuousFlow",
    "ConvNet",
    "Coupling",
    "Flatten",
    "Flow",
    "LUConv1x1",
    "LUCore",
    "LULinear",
    "LogTails",
    "ODESolution",
    "ODESolver",
    "Permutation",
    "ResidualMLP",
    "Split",
    "SplineCoupling",
    "Squeeze",
    "TimeMLP",
    "Transform",
    "half_mask",
    "image_glow",
    "jacobian_divergence",
    "rational_quadratic_spline",
    "vector_glow",
]
