"""Every layer and both builders: exact inverse and log|det| equal to slogdet of the autograd Jacobian."""

from __future__ import annotations

import pytest
import torch

from hmr_flow.flows import (
    ActNorm,
    AdditiveCoupling,
    AffineCoupling,
    ConvNet,
    Flatten,
    LogTails,
    LUConv1x1,
    LULinear,
    Permutation,
    ResidualMLP,
    Split,
    SplineCoupling,
    Squeeze,
    half_mask,
    image_glow,
    vector_glow,
)

CTX = 3

# name -> (factory(context_features) -> Transform, data shape without batch, accepts context)
CASES = {
    "actnorm_vector": (lambda c: ActNorm(5), (5,), False),
    "actnorm_image": (lambda c: ActNorm(2), (2, 4, 4), False),
    "lu_linear": (lambda c: LULinear(5), (5,), False),
    "lu_conv1x1": (lambda c: LUConv1x1(3), (3, 2, 2), False),
    "permutation": (lambda c: Permutation.random(5), (5,), False),
    "affine_vector": (lambda c: AffineCoupling(half_mask(5, 0), ResidualMLP(2, 6, 8, 1, c)), (5,), True),
    "additive_vector": (lambda c: AdditiveCoupling(half_mask(5, 1), ResidualMLP(3, 2, 8, 1, c)), (5,), True),
    # bound 1 puts about half of the inputs (std 1.5) on the identity tails, bound 4 nearly none
    "spline_vector_tails": (lambda c: SplineCoupling(half_mask(5, 0), ResidualMLP(2, 3 * 14, 8, 1, c), bins=5, bound=1.0), (5,), True),
    "spline_vector": (lambda c: SplineCoupling(half_mask(5, 1), ResidualMLP(3, 2 * 23, 8, 1, c)), (5,), True),
    "spline_image": (lambda c: SplineCoupling(half_mask(4, 1), ConvNet(2, 2 * 11, 8, c), bins=4, bound=2.0), (4, 2, 2), True),
    "affine_image": (lambda c: AffineCoupling(half_mask(4, 1), ConvNet(2, 4, 8, c)), (4, 2, 2), True),
    "additive_image": (lambda c: AdditiveCoupling(half_mask(4, 0), ConvNet(2, 2, 8, c)), (4, 2, 2), True),
    "log_tails": (lambda c: LogTails(1.0), (5,), False),  # bound 1: inputs (std 1.5) on both branches
    "squeeze": (lambda c: Squeeze(2), (1, 4, 4), False),
    "flatten": (lambda c: Flatten((2, 2, 2)), (2, 2, 2), False),
    "split": (lambda c: Split((4, 2, 2), 2, Flatten((2, 2, 2))), (4, 2, 2), False),
    "vector_glow_affine": (lambda c: vector_glow(7, 3, 16, c, "affine").transform, (7,), True),
    "vector_glow_additive": (lambda c: vector_glow(7, 3, 16, c, "additive").transform, (7,), True),
    "vector_glow_spline": (lambda c: vector_glow(7, 3, 16, c, "spline", bins=6).transform, (7,), True),
    "vector_glow_spline_tails": (lambda c: vector_glow(7, 2, 16, c, "spline", bins=4, tails=1.0).transform, (7,), True),
    "vector_glow_reverse": (lambda c: vector_glow(6, 2, 16, c, mixing="reverse").transform, (6,), True),
    "image_glow_1x4x4_affine": (lambda c: image_glow((1, 4, 4), 2, 2, 8, "affine", c).transform, (1, 4, 4), True),
    "image_glow_2x4x4_additive": (lambda c: image_glow((2, 4, 4), 2, 2, 8, "additive", c).transform, (2, 4, 4), True),
    "image_glow_2x4x4_spline": (lambda c: image_glow((2, 4, 4), 1, 2, 8, "spline", c, bins=3).transform, (2, 4, 4), True),
    "image_glow_2x4x4_affine": (lambda c: image_glow((2, 4, 4), 1, 2, 8, "affine", c).transform, (2, 4, 4), True),
}

# Perturbation scale per case (default 0.3). Stacked splines perturbed at 0.3 reach bin slopes of e^-7
# in several features at once, and their inverse then amplifies float64 rounding of the conditioner
# past 1e-9 (conditioning, not an error: each layer alone inverts to 1e-13); 0.1 still bends them.
PERTURB_SCALE = {"vector_glow_spline": 0.1, "vector_glow_spline_tails": 0.1, "image_glow_2x4x4_spline": 0.1}

PARAMS = [
    pytest.param(name, context, id=f"{name}-{'ctx' if context else 'noctx'}")
    for name, (_, _, accepts) in CASES.items()
    for context in ((0, CTX) if accepts else (0,))
]


def _build(name: str, context_features: int, perturb, batch: int = 4):
    factory, shape, _ = CASES[name]
    transform = factory(context_features).double()
    x = torch.randn(batch, *shape, dtype=torch.float64) * 1.5 + 0.3
    context = torch.randn(batch, context_features, dtype=torch.float64) if context_features else None
    init_context = torch.randn(64, context_features, dtype=torch.float64) if context_features else None
    transform(torch.randn(64, *shape, dtype=torch.float64), init_context)  # ActNorm data-dependent init
    perturb(transform, PERTURB_SCALE.get(name, 0.3))
    return transform, x, context


@pytest.mark.parametrize(("name", "context_features"), PARAMS)
def test_inverse_recovers_input(name, context_features, perturb):
    transform, x, context = _build(name, context_features, perturb)
    y, logabsdet = transform(x, context)
    x_back, inverse_logabsdet = transform.inverse(y, context)
    assert logabsdet.shape == (x.shape[0],) and inverse_logabsdet.shape == (x.shape[0],)
    assert (x_back - x).abs().max().item() < 1e-9
    assert torch.allclose(inverse_logabsdet, -logabsdet, atol=1e-9, rtol=0)


@pytest.mark.parametrize(("name", "context_features"), PARAMS)
def test_logabsdet_matches_autograd_jacobian(name, context_features, perturb):
    transform, x, context = _build(name, context_features, perturb, batch=3)
    _, logabsdet = transform(x, context)
    for i in range(x.shape[0]):
        row_context = None if context is None else context[i : i + 1]

        def flat_map(v, i=i, row_context=row_context):
            return transform(v.reshape(1, *x.shape[1:]), row_context)[0].reshape(-1)

        jacobian = torch.autograd.functional.jacobian(flat_map, x[i].reshape(-1))
        sign, expected = torch.linalg.slogdet(jacobian)
        assert sign != 0
        assert abs(logabsdet[i].item() - expected.item()) < 1e-8, (i, logabsdet[i].item(), expected.item())


@pytest.mark.parametrize(("name", "context_features"), [p for p in PARAMS if p.values[1]])
def test_context_changes_the_map(name, context_features, perturb):
    transform, x, context = _build(name, context_features, perturb)
    y_a, _ = transform(x, context)
    y_b, _ = transform(x, context + 1.0)
    assert (y_a - y_b).abs().max().item() > 1e-3


def test_couplings_start_as_identity():
    x = torch.randn(8, 6)
    for coupling in (AffineCoupling(half_mask(6, 0), ResidualMLP(3, 6, 16)), AdditiveCoupling(half_mask(6, 1), ResidualMLP(3, 3, 16))):
        y, logabsdet = coupling(x)
        assert torch.equal(y, x) and torch.equal(logabsdet, torch.zeros(8))


def test_spline_starts_as_identity_and_is_identity_outside_its_interval(perturb):
    coupling = SplineCoupling(half_mask(6, 0), ResidualMLP(3, 3 * 23, 16))
    x = torch.randn(8, 6) * 3
    y, logabsdet = coupling(x)
    assert torch.allclose(y, x, atol=1e-6) and logabsdet.abs().max().item() < 1e-5
    perturb(coupling, 1.0)
    x = torch.tensor([[0.1, -0.2, 0.3, 5.0, -7.0, 1e6], [0.0, 0.0, 0.0, 4.5, -1e8, 4.01]])
    y, logabsdet = coupling(x)
    assert torch.equal(y, x) and torch.equal(logabsdet, torch.zeros(2))  # all transformed features outside ±4
    inside = torch.tensor([[0.1, -0.2, 0.3, 1.0, -2.0, 3.9]])
    assert (coupling(inside)[0] - inside).abs().max().item() > 1e-2  # ... but not inside


def test_spline_is_monotonic_and_continuous_at_the_bounds(perturb):
    from hmr_flow.flows import rational_quadratic_spline

    params = torch.randn(1, 3 * 6 - 1, dtype=torch.float64) * 2
    x = torch.linspace(-3, 3, 20001, dtype=torch.float64, requires_grad=True)
    y, log_derivative = rational_quadratic_spline(x, params.expand(len(x), -1), 2.0, inverse=False)
    assert (y.diff() > 0).all()
    (slope,) = torch.autograd.grad(y.sum(), x)
    assert (slope.log() - log_derivative).abs().max().item() < 1e-9  # log_derivative is log dy/dx
    at_bounds = torch.tensor([-2.0, 2.0], dtype=torch.float64)
    assert torch.allclose(rational_quadratic_spline(at_bounds, params.expand(2, -1), 2.0, False)[0], at_bounds)


def test_log_tails_grow_logarithmically():
    x = torch.tensor([[0.5, -3.9, 4.0, 1e3, -1e6]], dtype=torch.float64)
    y, logabsdet = LogTails(4.0)(x)
    assert y[0, :3].tolist() == [0.5, -3.9, 4.0]
    assert y[0, 3].item() == pytest.approx(4.0 + torch.log1p(torch.tensor(996.0)).item())
    assert y[0, 4].item() == pytest.approx(-(4.0 + torch.log1p(torch.tensor(1e6 - 4)).item()))
    assert logabsdet.item() == pytest.approx(-(torch.log1p(torch.tensor(996.0)) + torch.log1p(torch.tensor(1e6 - 4))).item())


def test_affine_scale_is_soft_clamped():
    coupling = AffineCoupling(half_mask(4, 0), ResidualMLP(2, 4, 8), clamp=2.0)
    with torch.no_grad():
        coupling.conditioner.output[1].bias.fill_(1e4)
    _, logabsdet = coupling(torch.randn(5, 4))
    assert torch.isfinite(logabsdet).all() and logabsdet.max().item() <= 2 * 2.0


def test_squeeze_layout():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    y, _ = Squeeze(2)(x)
    assert y.shape == (1, 4, 2, 2)
    assert y[0, :, 0, 0].tolist() == [0.0, 1.0, 4.0, 5.0]


@pytest.mark.parametrize(
    ("layer", "bad"),
    [
        (ActNorm(3), torch.randn(2, 4)),
        (LULinear(3), torch.randn(2, 3, 1, 1)),
        (LUConv1x1(3), torch.randn(2, 3)),
        (Squeeze(2), torch.randn(2, 1, 3, 4)),
        (AffineCoupling(half_mask(4, 0), ResidualMLP(2, 4, 8)), torch.randn(2, 5)),
    ],
    ids=["actnorm", "lu_linear", "lu_conv", "squeeze", "coupling"],
)
def test_wrong_shapes_raise_clear_errors(layer, bad):
    with pytest.raises(ValueError, match="expects|needs"):
        layer(bad)
