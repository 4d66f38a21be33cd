"""The continuous flow: log |det| against the autograd Jacobian of the whole flow map, inversion within the
solver's tolerance, the closed-form divergence, Hutchinson's estimator, adjoint against back-propagation
gradients, the regularisers, and one clear error for bad settings and inputs (float64, small dimension)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hmr_flow.flows import ActNorm, Compose, ContinuousFlow, Flow, ODESolver, TimeMLP, jacobian_divergence

D, C = 3, 2


def _flow(perturb, context_features: int = 0, activation: str = "softplus", **solver) -> ContinuousFlow:
    field = TimeMLP(D, 8, context_features, activation).double()
    perturb(field, 0.5)
    settings = {"rtol": 1e-10, "atol": 1e-10, **solver}
    return ContinuousFlow(field, D, context_features, solver=ODESolver(**settings)).double().eval()


def _data(rows: int = 5, context: bool = False):
    x = torch.randn(rows, D, dtype=torch.float64)
    return x, (torch.randn(rows, C, dtype=torch.float64) if context else None)


@pytest.mark.parametrize("context", [False, True])
@pytest.mark.parametrize("activation", ["softplus", "tanh"])
def test_closed_form_divergence_is_the_jacobian_trace(perturb, context, activation):
    field = _flow(perturb, C if context else 0, activation).field
    z, c = _data(6, context)
    t = torch.tensor(0.37, dtype=torch.float64)
    f, div = field.with_divergence(t, z, c)
    jac = torch.stack([torch.autograd.functional.jacobian(lambda v: field(t, v[None], None if c is None else c[i:i + 1])[0], z[i])
                       for i in range(len(z))])
    torch.testing.assert_close(f, field(t, z, c), rtol=0, atol=1e-14)
    torch.testing.assert_close(div, jac.diagonal(dim1=1, dim2=2).sum(1), rtol=0, atol=1e-12)
    torch.testing.assert_close(jacobian_divergence(field, t, z, c)[1], div, rtol=0, atol=1e-12)


@pytest.mark.parametrize("context", [False, True])
def test_logabsdet_matches_the_brute_force_jacobian_of_the_flow_map(perturb, context):
    """log |det ∂z/∂x| of the solved map (autograd through dopri5, then slogdet) equals the integrated trace."""
    flow = _flow(perturb, C if context else 0)
    x, c = _data(4, context)
    z, logabsdet = flow(x, c)
    assert flow.last_nfe > 12  # the field is not trivial: the solver had to work
    for i in range(len(x)):
        ci = None if c is None else c[i:i + 1]
        jac = torch.autograd.functional.jacobian(lambda v: flow(v[None], ci)[0][0], x[i])
        assert logabsdet[i].item() == pytest.approx(torch.linalg.slogdet(jac)[1].item(), abs=1e-7)


@pytest.mark.parametrize("solver", [{}, {"method": "rk4", "steps": 40}])
def test_inverse_undoes_forward_within_the_solver_tolerance(perturb, solver):
    flow = _flow(perturb, C, **solver)
    x, c = _data(8, context=True)
    z, logabsdet = flow(x, c)
    back, inverse_logabsdet = flow.inverse(z, c)
    tolerance = 1e-8 if not solver else 1e-5  # dopri5 at 1e-10; RK4 with 40 steps (its error ~ h⁴)
    torch.testing.assert_close(back, x, rtol=0, atol=tolerance)
    torch.testing.assert_close(inverse_logabsdet, -logabsdet, rtol=0, atol=tolerance)


def test_flow_distribution_with_a_continuous_layer(perturb):
    """It composes like any layer: ActNorm → CNF inside a Flow; samples invert to their latents."""
    flow = Flow(Compose(ActNorm(D), _flow(perturb)), (D,)).double()
    x, _ = _data(64)
    flow.log_prob(x)  # ActNorm initialisation
    flow.eval()
    samples, log_prob = flow.sample_and_log_prob(5)
    torch.testing.assert_close(flow.log_prob(samples), log_prob, rtol=0, atol=1e-7)


def test_hutchinson_estimate_is_unbiased(perturb):
    flow = _flow(perturb, method="rk4", steps=8)  # the same quadrature of the trace or of its estimates
    x, _ = _data(1)
    exact = flow.solve(x).logabsdet
    torch.manual_seed(1)
    estimates = flow.solve(x.expand(4000, D), divergence="hutchinson").logabsdet
    assert estimates.std() > 1e-3  # a real estimate, not the exact value
    assert estimates.mean().item() == pytest.approx(exact.item(), abs=4 * estimates.std().item() / 4000**0.5)


def test_training_mode_uses_hutchinson_and_eval_mode_the_exact_trace(perturb):
    flow = _flow(perturb, method="rk4", steps=4)
    x, _ = _data(6)
    exact = flow(x)[1]
    flow.train()
    torch.testing.assert_close(flow(x)[0], flow.eval()(x)[0])  # same map
    assert not torch.allclose(flow.train()(x)[1], exact)
    flow.training_divergence = "exact"
    torch.testing.assert_close(flow(x)[1], exact)


def test_regularisers_are_the_integrals_of_kinetic_energy_and_jacobian_norm(perturb):
    """For the linear field f(z) = A z: ‖εᵀA‖² integrates to T·‖εᵀA‖²; kinetic energy by a fine rule."""

    class Linear(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Parameter(torch.tensor([[0.3, -0.2, 0.0], [0.1, 0.2, 0.4], [0.0, -0.3, -0.1]], dtype=torch.float64))

        def forward(self, t, z, context=None):
            return z @ self.a.T

    flow = ContinuousFlow(Linear(), D, time=2.0, solver=ODESolver(rtol=1e-10, atol=1e-10))
    x, _ = _data(4)
    torch.manual_seed(3)
    solution = flow.solve(x, regularise=True)
    torch.manual_seed(3)
    noise = torch.randint(0, 2, x.shape, dtype=x.dtype) * 2 - 1
    a = flow.field.a.detach()
    torch.testing.assert_close(solution.jacobian, 2.0 * (noise @ a).pow(2).sum(1))
    torch.testing.assert_close(solution.logabsdet, torch.full((4,), 2.0 * a.trace().item(), dtype=torch.float64))
    times = torch.linspace(0, 2, 2001, dtype=torch.float64)
    speed = torch.stack([(x @ torch.linalg.matrix_exp(t * a).T @ a.T).pow(2).sum(1) for t in times])
    torch.testing.assert_close(solution.kinetic, torch.trapezoid(speed, times, dim=0), rtol=1e-5, atol=0)
    with pytest.raises(ValueError, match="forward"):
        flow.solve(x, inverse=True, regularise=True)


@pytest.mark.parametrize("method", ["dopri5", "rk4"])
def test_adjoint_gradients_match_backpropagation_through_the_solver(perturb, method):
    """Both approximate the same exact gradient: the adjoint solves its own ODE backwards (with RK4 on the
    same 20 steps: an O(h⁴) difference from differentiating the forward steps)."""
    flow = _flow(perturb, C)
    x, c = _data(5, context=True)
    gradients = []
    for adjoint in (False, True):
        solver = ODESolver(method, rtol=1e-9, atol=1e-9, steps=20, adjoint=adjoint)
        xi, ci = x.clone().requires_grad_(), c.clone().requires_grad_()
        flow.field.zero_grad()
        solution = flow.solve(xi, ci, solver=solver)
        (solution.output.pow(2).sum() - solution.logabsdet.sum()).backward()
        gradients.append([xi.grad, ci.grad, *(p.grad for p in flow.field.parameters())])
    for by_backprop, by_adjoint in zip(*gradients):
        torch.testing.assert_close(by_adjoint, by_backprop, rtol=1e-5, atol=1e-7)


def test_adjoint_handles_hutchinson_and_regularisers(perturb):
    """The adjoint differentiates through the vector-Jacobian product inside the dynamics (second order)."""
    flow = _flow(perturb)
    x, _ = _data(5)
    grads = []
    for adjoint in (False, True):
        flow.field.zero_grad()
        torch.manual_seed(7)
        solution = flow.solve(x, solver=ODESolver("rk4", steps=20, adjoint=adjoint), divergence="hutchinson",
                              regularise=True)
        (solution.logabsdet + solution.kinetic + solution.jacobian).sum().backward()
        grads.append(flow.field.w1.weight.grad.clone())
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-7)


def test_fixed_steps_count_function_evaluations(perturb):
    flow = _flow(perturb, method="rk4", steps=5)
    x, _ = _data(3)
    assert flow.solve(x).nfe == 20 and flow.last_nfe == 20  # 4 evaluations per RK4 step
    flow.solve(x.requires_grad_(), solver=ODESolver("rk4", steps=5, adjoint=True)).output.sum().backward()
    assert flow.evaluations > 40  # the adjoint's backward solve evaluates the field again


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"rtol": 0.0}, "rtol must be a finite number > 0"),
        ({"atol": -1e-6}, "atol must be a finite number > 0"),
        ({"rtol": float("nan")}, "rtol must be a finite number > 0"),
        ({"steps": 0}, "steps must be an integer ≥ 1"),
        ({"method": "leapfrog"}, "method must be one of"),
    ],
)
def test_bad_solver_settings_give_one_clear_error(settings, match):
    with pytest.raises(ValueError, match=match):
        ODESolver(**settings)


def test_bad_inputs_give_one_clear_error(perturb):
    flow = _flow(perturb)
    x, _ = _data(2)
    x[1, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        flow(x)
    with pytest.raises(ValueError, match=r"\(B, 3\) inputs"):
        flow(torch.zeros(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="unconditional"):
        flow(torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, C, dtype=torch.float64))
    with pytest.raises(ValueError, match="divergence must be one of"):
        flow.solve(torch.zeros(2, 3, dtype=torch.float64), divergence="exactish")
    with pytest.raises(ValueError, match="end time"):
        ContinuousFlow(flow.field, D, time=0.0)
    fixed = _flow(perturb, method="rk4")  # fixed steps pass NaN through, like every other layer
    assert torch.isnan(fixed(x)[0][1]).all() and torch.isfinite(fixed(x)[0][0]).all()


def test_stiff_dynamics_are_reported_as_a_solver_failure(perturb):
    flow = _flow(perturb, rtol=1e-10, atol=1e-10, max_steps=3)
    with pytest.raises(RuntimeError, match="dopri5 failed.*max_steps 3"):
        flow(_data(2)[0])
