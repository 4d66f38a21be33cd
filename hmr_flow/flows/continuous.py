"""A continuous normalizing flow (neural ODE, Chen et al. 2018; FFJORD, Grathwohl et al. 2019).

The map data → latent is the solution at time ``T`` of ``dz/dt = f(z, t, context)`` started at
``z(0) = x``; :meth:`ContinuousFlow.inverse` solves from ``T`` back to 0. Its log |det| follows from the
instantaneous change of variables ``d log|det ∂z(t)/∂x| / dt = tr ∂f/∂z``, integrated as a second ODE
state beside ``z``; the inverse solve integrates the same equations backwards, so its log |det| is that of
the inverse map, as :mod:`hmr_flow.flows.base` requires. Shapes: ``x (B, D)``, ``context (B, C)``.

**Divergence** ``tr ∂f/∂z``, per sample ``(B,)``:

- ``"exact"``: the vector field's own closed form when it has one (:meth:`TimeMLP.with_divergence`, one
  extra ``H × H`` product per evaluation), else the full ``(B, D, D)`` Jacobian by ``torch.func``
  (``vmap(jacfwd)``: ``D`` forward-mode products in one batched pass) and its trace.
- ``"hutchinson"``: ``εᵀ (∂f/∂z) ε`` with one Rademacher ``ε`` per sample and solve (unbiased, one
  vector-Jacobian product whatever ``D``; FFJORD's training estimator).

**Regularisers** (RNODE, Finlay et al. 2020), integrated with the states when ``regularise=True``: the
kinetic energy ``∫ ‖f‖² dt`` and the Jacobian norm ``∫ ‖εᵀ ∂f/∂z‖² dt`` (an unbiased estimate of
``∫ ‖∂f/∂z‖_F² dt``), per sample. Penalising them keeps trajectories straight and the field smooth, so an
adaptive solver takes few steps.

**Solvers** (:class:`ODESolver`): torchdiffeq's ``odeint`` (gradients by back-propagation through the
solver's operations: memory grows with the number of steps) or ``odeint_adjoint`` (``adjoint=True``:
the adjoint ``a(t) = ∂L/∂z(t)`` solved backwards in time, memory independent of the number of steps, at
the price of a second solve); adaptive Runge–Kutta (``dopri5`` with ``rtol``/``atol``) or fixed steps
(``rk4`` with ``steps``). Each solve reports its number of function evaluations (:attr:`ODESolution.nfe`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import FrozenCache, Transform

#: Step-size-controlled methods of torchdiffeq (use ``rtol``/``atol``).
ADAPTIVE_METHODS = ("dopri5", "dopri8", "bosh3", "adaptive_heun")
#: Fixed-grid methods of torchdiffeq (use ``steps``).
FIXED_METHODS = ("euler", "midpoint", "rk4")
DIVERGENCES = ("exact", "hutchinson")


@dataclass(frozen=True)
class ODESolver:
    """How to integrate: ``method`` (:data:`ADAPTIVE_METHODS` with tolerances ``rtol``, ``atol`` and at most
    ``max_steps`` accepted steps, or :data:`FIXED_METHODS` with ``steps`` equal steps over ``[0, T]``) and
    ``adjoint`` (gradients by the adjoint method instead of back-propagation through the solver)."""

    method: str = "dopri5"
    rtol: float = 1e-5
    atol: float = 1e-5
    steps: int = 8
    max_steps: int = 1000
    adjoint: bool = False

    def __post_init__(self) -> None:
        if self.method not in ADAPTIVE_METHODS + FIXED_METHODS:
            raise ValueError(f"ODE solver method must be one of {ADAPTIVE_METHODS + FIXED_METHODS}, got {self.method!r}")
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"ODE solver {name} must be a finite number > 0, got {value!r}")
        for name in ("steps", "max_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ODE solver {name} must be an integer ≥ 1, got {value!r}")

    @property
    def adaptive(self) -> bool:
        return self.method in ADAPTIVE_METHODS

    def odeint_options(self) -> dict:
        """Keyword arguments of torchdiffeq's ``odeint`` (the fixed grid is exactly ``steps`` equal steps)."""
        if self.adaptive:
            return {"method": self.method, "rtol": self.rtol, "atol": self.atol,
                    "options": {"max_num_steps": self.max_steps}}
        steps = self.steps

        def grid(func, y0, t):
            return torch.linspace(float(t[0]), float(t[-1]), steps + 1, dtype=t.dtype, device=t.device)

        return {"method": self.method, "options": {"grid_constructor": grid}}


class ODESolution(NamedTuple):
    """One solve: ``output (B, D)``, ``logabsdet (B,)`` of the map applied, the regularisers ``kinetic``
    and ``jacobian`` ``(B,)`` (``None`` unless asked for) and ``nfe``, the vector-field evaluations of the
    solve (every sample of the batch takes part in each)."""

    output: Tensor
    logabsdet: Tensor
    kinetic: Tensor | None
    jacobian: Tensor | None
    nfe: int


_ACTIVATIONS = {
    # name: (σ, σ' given the pre-activation a and σ(a))
    "softplus": (F.softplus, lambda a, h: torch.sigmoid(a)),
    "tanh": (torch.tanh, lambda a, h: 1.0 - h * h),
}
ACTIVATIONS = tuple(_ACTIVATIONS)


class TimeMLP(nn.Module):
    """A time-dependent vector field ``f(z, t, context)`` for ``z (B, D)`` with two hidden layers:

    ``h₁ = σ(g₁ ⊙ W₁z + b₁)``, ``h₂ = σ(g₂ ⊙ W₂h₁ + b₂)``, ``f = W₃h₂ + Az + b₃``, where the gates
    ``g_k = sigmoid(·)`` and biases ``b_k`` are affine in ``s = [t, context]`` (FFJORD's concat-squash
    layers), ``σ`` is smooth (``"softplus"`` or ``"tanh"``: the log-density's gradient needs ``σ''``) and
    the linear term ``Az`` (``D × D``) carries the correlations of the data, which the MLP would otherwise
    have to learn through its nonlinearity. ``W₃`` and ``A`` start at zero: the flow starts as the identity.

    **Exact divergence in closed form.** ``∂f/∂z = W₃ S₂ W₂ S₁ W₁ + A`` with ``S_k = diag(σ'(a_k) ⊙ g_k)``, so
    ``tr ∂f/∂z = s₂ᵀ K s₁ + tr A`` with ``K = W₂ ⊙ (W₁W₃)ᵀ`` (``H × H``, shared by the batch): one extra
    ``(B, H) × (H, H)`` product per evaluation instead of ``D`` Jacobian-vector products. (Hence two hidden
    layers and no gate on the output: a third layer or a per-sample output gate breaks the closed form.)
    ``K`` is built once and reused while the weights are frozen (scoring, fitting:
    :class:`~hmr_flow.flows.base.FrozenCache`), not at every evaluation of a solve.
    """

    def __init__(self, features: int, hidden: int, context_features: int = 0, activation: str = "softplus") -> None:
        super().__init__()
        if min(features, hidden) < 1 or context_features < 0:
            raise ValueError(f"invalid TimeMLP sizes: features={features}, hidden={hidden}, context={context_features}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.features, self.hidden, self.context_features = features, hidden, context_features
        self.activation = activation
        self.w1 = nn.Linear(features, hidden, bias=False)
        self.w2 = nn.Linear(hidden, hidden, bias=False)
        self.w3 = nn.Linear(hidden, features, bias=False)
        self.linear = nn.Linear(features, features, bias=False)
        nn.init.zeros_(self.w3.weight)
        nn.init.zeros_(self.linear.weight)
        # gates and biases of both hidden layers and the output bias, from s = [t, context]
        self.conditioning = nn.Linear(1 + context_features, 4 * hidden + features)
        with torch.no_grad():
            self.conditioning.weight[4 * hidden:].zero_()
            self.conditioning.bias[4 * hidden:].zero_()
        self._cache = FrozenCache()

    def _layers(self, t: Tensor, z: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """``(f (B, D), s₁ (B, H), s₂ (B, H))`` with ``s_k = σ'(a_k) ⊙ g_k`` (see the class docstring)."""
        s = t.to(z.dtype).expand(z.shape[0], 1)
        if context is not None:
            s = torch.cat([s, context], dim=1)
        h = self.hidden
        gate1, bias1, gate2, bias2, bias3 = self.conditioning(s).split([h, h, h, h, self.features], dim=1)
        gate1, gate2 = torch.sigmoid(gate1), torch.sigmoid(gate2)
        act, slope = _ACTIVATIONS[self.activation]
        a1 = gate1 * self.w1(z) + bias1
        h1 = act(a1)
        a2 = gate2 * self.w2(h1) + bias2
        h2 = act(a2)
        return self.w3(h2) + self.linear(z) + bias3, slope(a1, h1) * gate1, slope(a2, h2) * gate2

    def forward(self, t: Tensor, z: Tensor, context: Tensor | None = None) -> Tensor:
        """``dz/dt (B, D)`` at time ``t`` (0-dim)."""
        return self._layers(t, z, context)[0]

    def with_divergence(self, t: Tensor, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(dz/dt (B, D), tr ∂f/∂z (B,))``, the trace exact (class docstring)."""
        f, s1, s2 = self._layers(t, z, context)
        return f, ((s2 @ self._trace_matrix()) * s1).sum(dim=1) + self.linear.weight.trace()

    def _trace_matrix(self) -> Tensor:
        """``K = W₂ ⊙ (W₁W₃)ᵀ (H, H)`` of the closed-form divergence (class docstring), reused while frozen."""
        w1, w2, w3 = self.w1.weight, self.w2.weight, self.w3.weight
        return self._cache.get("trace", (w1, w2, w3), lambda: w2 * (w1 @ w3).T)

    def extra_repr(self) -> str:
        return f"features={self.features}, hidden={self.hidden}, context={self.context_features}, {self.activation}"


def jacobian_divergence(field: nn.Module, t: Tensor, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``(f (B, D), tr ∂f/∂z (B,))`` of any field ``f(t, z (B, D), context)`` from its full per-sample Jacobian
    (``torch.func.vmap(jacfwd)``: the ``D`` columns as one batched forward-mode pass)."""

    def single(zi: Tensor, ci: Tensor | None) -> tuple[Tensor, Tensor]:
        out = field(t, zi[None], None if ci is None else ci[None])[0]
        return out, out

    in_dims = (0, None if context is None else 0)
    jac, f = torch.func.vmap(torch.func.jacfwd(single, has_aux=True), in_dims=in_dims)(z, context)
    return f, jac.diagonal(dim1=-2, dim2=-1).sum(dim=-1)


class _Dynamics(nn.Module):
    """torchdiffeq's ``func(t, state)`` for the state ``(z, logabsdet, [kinetic, jacobian], [context])``."""

    def __init__(self, flow: ContinuousFlow, divergence: str, regularise: bool, noise: Tensor | None,
                 has_context: bool) -> None:
        super().__init__()
        self.flow, self.divergence, self.regularise, self.noise = flow, divergence, regularise, noise
        self.has_context = has_context

    def forward(self, t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        self.flow.evaluations += 1
        z, context = state[0], state[-1] if self.has_context else None
        field = self.flow.field
        vjp = None
        if self.noise is None:  # exact divergence, no regulariser needing a vector-Jacobian product
            dz, div = self._exact(t, z, context)
        else:
            create_graph = torch.is_grad_enabled()  # only then is the result differentiated further
            with torch.enable_grad():
                if not (create_graph and z.requires_grad):  # a leaf of its own where no outer graph is built
                    z = z.detach().requires_grad_()
                if self.divergence == "exact":
                    dz, div = self._exact(t, z, context)
                else:
                    dz = field(t, z, context)
                vjp = torch.autograd.grad(dz, z, self.noise, create_graph=create_graph)[0]
            if self.divergence == "hutchinson":
                div = (vjp * self.noise).sum(dim=1)
        derivatives = [dz, div]
        if self.regularise:
            derivatives += [dz.pow(2).sum(dim=1), vjp.pow(2).sum(dim=1)]
        if self.has_context:
            derivatives.append(torch.zeros_like(context))
        return tuple(derivatives)

    def _exact(self, t: Tensor, z: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        field = self.flow.field
        if hasattr(field, "with_divergence"):
            return field.with_divergence(t, z, context)
        return jacobian_divergence(field, t, z, context)


class ContinuousFlow(Transform):
    """A continuous normalizing flow over ``(B, features)`` (see the module docstring).

    Args:
        field: the vector field, ``field(t (0-dim), z (B, D), context (B, C) | None) → (B, D)``; if it has
            ``with_divergence`` (same arguments → ``(f, tr ∂f/∂z)``, e.g. :class:`TimeMLP`) that gives the exact
            divergence, else the full Jacobian does (:func:`jacobian_divergence`).
        features: ``D``; context_features: ``C`` (0: unconditional); time: the end time ``T > 0``.
        solver: the :class:`ODESolver` of :meth:`forward` and :meth:`inverse`.
        training_divergence: the divergence :meth:`forward` uses in training mode (``"hutchinson"`` or
            ``"exact"``); in eval mode it is always exact.

    :attr:`evaluations` counts every vector-field evaluation, those of backward passes included;
    :attr:`last_nfe` is the count of the last forward or inverse solve.
    """

    def __init__(self, field: nn.Module, features: int, context_features: int = 0, time: float = 1.0,
                 solver: ODESolver | None = None, training_divergence: str = "hutchinson") -> None:
        super().__init__()
        if features < 1 or context_features < 0:
            raise ValueError(f"invalid ContinuousFlow sizes: features={features}, context={context_features}")
        if not (math.isfinite(time) and time > 0):
            raise ValueError(f"ContinuousFlow end time must be a finite number > 0, got {time}")
        if training_divergence not in DIVERGENCES:
            raise ValueError(f"divergence must be one of {DIVERGENCES}, got {training_divergence!r}")
        self.field = field
        self.features, self.context_features, self.time = features, context_features, float(time)
        self.solver = solver if solver is not None else ODESolver()
        self.training_divergence = training_divergence
        self.evaluations = 0
        self.last_nfe = 0

    def _check(self, x: Tensor, context: Tensor | None, solver: ODESolver) -> None:
        if x.dim() != 2 or x.shape[1] != self.features:
            raise ValueError(f"ContinuousFlow expects (B, {self.features}) inputs, got shape {tuple(x.shape)}")
        if self.context_features == 0:
            if context is not None:
                raise ValueError(f"this ContinuousFlow is unconditional but got a context of shape {tuple(context.shape)}")
        elif context is None or tuple(context.shape) != (x.shape[0], self.context_features):
            got = None if context is None else tuple(context.shape)
            raise ValueError(f"ContinuousFlow needs a context of shape ({x.shape[0]}, {self.context_features}), got {got}")
        # An adaptive solver fed NaN shrinks its step to nothing and fails with an obscure assertion; say why
        # instead (fixed-step solvers pass non-finite values through, like every other layer).
        if solver.adaptive and not torch.isfinite(x).all():
            raise ValueError("ContinuousFlow: the input has NaN or infinite values (an adaptive ODE solver "
                             "cannot step through them)")

    def solve(self, x: Tensor, context: Tensor | None = None, *, inverse: bool = False, solver: ODESolver | None = None,
              divergence: str = "exact", regularise: bool = False) -> ODESolution:
        """Integrate ``x (B, D)`` from 0 to ``T`` (``inverse``: from ``T`` to 0) with ``solver`` (default
        :attr:`solver`), the divergence by ``divergence`` (:data:`DIVERGENCES`), and the RNODE regularisers
        if ``regularise`` (forward solves only)."""
        solver = self.solver if solver is None else solver
        if divergence not in DIVERGENCES:
            raise ValueError(f"divergence must be one of {DIVERGENCES}, got {divergence!r}")
        if regularise and inverse:
            raise ValueError("the RNODE regularisers are integrated on forward (data → latent) solves only")
        self._check(x, context, solver)
        from torchdiffeq import odeint, odeint_adjoint

        batch = x.shape[0]
        needs_vjp = divergence == "hutchinson" or regularise
        noise = torch.randint(0, 2, x.shape, dtype=x.dtype, device=x.device) * 2 - 1 if needs_vjp else None
        state = [x, x.new_zeros(batch)]
        if regularise:
            state += [x.new_zeros(batch), x.new_zeros(batch)]
        if context is not None:
            state.append(context)
        times = torch.tensor([self.time, 0.0] if inverse else [0.0, self.time], dtype=x.dtype, device=x.device)
        dynamics = _Dynamics(self, divergence, regularise, noise, context is not None)
        kwargs = solver.odeint_options()
        if solver.adjoint:
            integrate = odeint_adjoint
            kwargs["adjoint_params"] = tuple(self.field.parameters())
            if solver.adaptive:  # the parameters' adjoints do not steer the backward step size (Kidger et al. 2021)
                kwargs["adjoint_options"] = {**kwargs["options"], "norm": "seminorm"}
        else:
            integrate = odeint
        before = self.evaluations
        try:
            states = integrate(dynamics, tuple(state), times, **kwargs)
        except AssertionError as err:  # torchdiffeq's way of saying the step size underflowed or ran out of steps
            raise RuntimeError(f"ODE solver {solver.method} failed ({err}); the dynamics are too stiff for rtol "
                               f"{solver.rtol:g}, atol {solver.atol:g} (or max_steps {solver.max_steps})") from None
        self.last_nfe = self.evaluations - before
        final = [s[-1] for s in states]
        kinetic, jacobian = (final[2], final[3]) if regularise else (None, None)
        return ODESolution(final[0], final[1], kinetic, jacobian, self.last_nfe)

    def _divergence(self) -> str:
        return self.training_divergence if self.training else "exact"

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        solution = self.solve(x, context, divergence=self._divergence())
        return solution.output, solution.logabsdet

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        solution = self.solve(y, context, inverse=True, divergence=self._divergence())
        return solution.output, solution.logabsdet

    def extra_repr(self) -> str:
        return f"features={self.features}, context={self.context_features}, time={self.time:g}, solver={self.solver}"
