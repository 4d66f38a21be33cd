"""The Flow distribution: shapes, mode, latent maps, normalisation, context, and fit to a known density."""

from __future__ import annotations

import math

import pytest
import torch

from hmr_flow.flows import image_glow, vector_glow

# 2-D toy: equal mixture of 4 isotropic Gaussians (std 0.4) at radius 1.5 on the axes.
MEANS = 1.5 * torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
STD = 0.4


def mixture_sample(n: int, shift: torch.Tensor | None = None) -> torch.Tensor:
    x = MEANS[torch.randint(0, len(MEANS), (n,))] + STD * torch.randn(n, 2)
    return x if shift is None else x + shift


def mixture_log_prob(x: torch.Tensor) -> torch.Tensor:
    sq = (x[:, None, :] - MEANS[None]).pow(2).sum(-1)
    return (-sq / (2 * STD**2) - math.log(2 * math.pi * STD**2)).logsumexp(1) - math.log(len(MEANS))


def train(flow, sampler, iterations: int, batch: int, lr: float):
    optimizer = torch.optim.Adam(flow.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=iterations, pct_start=0.1)
    for _ in range(iterations):
        x, context = sampler(batch)
        loss = -flow.log_prob(x, context).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return flow


def grid_integral(flow, context=None, half_width: float = 5.0, points: int = 401) -> float:
    axis = torch.linspace(-half_width, half_width, points)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    grid = torch.stack([xx.flatten(), yy.flatten()], dim=1)
    with torch.no_grad():
        rows = None if context is None else context.expand(len(grid), -1)
        density = flow.log_prob(grid, rows).exp()
    return density.sum().item() * (axis[1] - axis[0]).item() ** 2


@pytest.fixture(scope="module")
def toy_flow():
    torch.manual_seed(1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    flow = train(vector_glow(2, 8, 64, blocks=1), lambda n: (mixture_sample(n), None), 700, 512, 5e-3)
    torch.set_num_threads(threads)
    return flow


def test_toy_flow_reaches_true_entropy(toy_flow):
    """Bound: cross-entropy NLL ≥ entropy H. H is estimated by Monte Carlo (200k samples, reported
    with its standard error); the excess NLL − H (= KL(p‖q)) is estimated on a held-out set of 20k
    samples as the paired mean of log p(x) − log q(x) and must be below 0.08 nats."""
    reference = mixture_sample(200_000)
    true_log_prob = mixture_log_prob(reference)
    entropy = -true_log_prob.mean().item()
    entropy_se = true_log_prob.std().item() / math.sqrt(len(reference))
    held_out = mixture_sample(20_000)
    with torch.no_grad():
        log_q = toy_flow.log_prob(held_out)
    nll = -log_q.mean().item()
    gap = mixture_log_prob(held_out) - log_q
    kl, kl_se = gap.mean().item(), gap.std().item() / math.sqrt(len(gap))
    print(f"entropy {entropy:.4f} ± {entropy_se:.4f} nats, held-out NLL {nll:.4f}, KL {kl:.4f} ± {kl_se:.4f}")
    assert kl > -4 * kl_se  # a KL cannot be negative: guards against a density that does not normalise
    assert kl < 0.08
    assert abs(nll - entropy) < 0.08 + 4 * (entropy_se + kl_se) + 0.02


def test_trained_density_integrates_to_one(toy_flow):
    assert abs(grid_integral(toy_flow) - 1.0) < 0.02


def test_conditional_density_follows_context():
    torch.manual_seed(2)
    shifts = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])

    def sampler(n):
        which = torch.randint(0, 2, (n,))
        context = torch.nn.functional.one_hot(which, 2).float()
        return shifts[which] + 0.5 * torch.randn(n, 2), context

    flow = train(vector_glow(2, 4, 32, context_features=2, blocks=1), sampler, 300, 256, 1e-2)
    left, right = torch.eye(2)[:1], torch.eye(2)[1:]
    for context in (left, right):
        assert abs(grid_integral(flow, context, half_width=6.0) - 1.0) < 0.02
    with torch.no_grad():
        at_left = flow.log_prob(shifts[:1].repeat(2, 1), torch.eye(2))
        samples = flow.sample(2000, torch.eye(2))
    assert at_left[0] - at_left[1] > 5.0  # (-2, 0) is likely under context "left", not under "right"
    assert torch.allclose(samples.mean(dim=1), shifts, atol=0.15)


@pytest.mark.parametrize("context_features", [0, 5])
@pytest.mark.parametrize(
    ("make", "event"),
    [(lambda c: vector_glow(6, 2, 16, c), (6,)), (lambda c: image_glow((1, 4, 4), 2, 1, 8, "affine", c), (1, 4, 4))],
    ids=["vector", "image"],
)
def test_sample_shapes(make, event, context_features):
    flow = make(context_features)
    init_context = torch.randn(16, context_features) if context_features else None
    flow.log_prob(torch.randn(16, *event), init_context)  # ActNorm's data-dependent initialisation
    if context_features:
        context = torch.randn(3, context_features)
        assert flow.sample(4, context).shape == (3, 4, *event)
        x, log_prob = flow.sample_and_log_prob(4, context, temperature=0.5)
        assert x.shape == (3, 4, *event) and log_prob.shape == (3, 4)
        flat_x, flat_context = x.reshape(12, *event), context.repeat_interleave(4, dim=0)
        assert torch.allclose(log_prob.reshape(12), flow.log_prob(flat_x, flat_context), atol=1e-4)
    else:
        assert flow.sample(4).shape == (4, *event)
        x, log_prob = flow.sample_and_log_prob(4)
        assert x.shape == (4, *event) and log_prob.shape == (4,)
        assert torch.allclose(log_prob, flow.log_prob(x), atol=1e-4)


@pytest.mark.parametrize(
    "make",
    [lambda: vector_glow(6, 3, 16, 5, "affine"), lambda: vector_glow(6, 2, 16, 5, "spline", bins=4),
     lambda: image_glow((1, 4, 4), 2, 1, 8, "additive", 5)],
    ids=["vector_affine", "vector_spline", "image"],
)
def test_grouped_sampling_equals_sampling_with_repeated_context(make, perturb):
    """sample(n, context) feeds each context row once to the conditioners; the result must be the
    map of the same noise with the context repeated per sample (float64, perturbed nets)."""
    flow = make().double()
    event = flow.event_shape
    flow.log_prob(torch.randn(16, *event, dtype=torch.float64), torch.randn(16, 5, dtype=torch.float64))
    perturb(flow)
    context = torch.randn(3, 5, dtype=torch.float64)
    torch.manual_seed(7)
    x, log_prob = flow.sample_and_log_prob(4, context)
    torch.manual_seed(7)
    z = torch.randn(12, flow.latent_features, dtype=torch.float64)
    expected, logabsdet = flow.from_latent(z, context.repeat_interleave(4, dim=0))
    assert (x.reshape(12, *event) - expected).abs().max().item() < 1e-10
    assert (log_prob.reshape(12) - (flow.base_log_prob(z) + logabsdet)).abs().max().item() < 1e-9
    assert (x[0] - x[1]).abs().max().item() > 1e-3  # contexts differ, so do their samples


def test_temperature_zero_gives_the_image_of_zero(perturb):
    flow = vector_glow(4, 2, 16, context_features=3, coupling="additive").double()
    perturb(flow)
    context = torch.randn(2, 3, dtype=torch.float64)
    samples = flow.sample(3, context, temperature=0.0)
    assert torch.allclose(samples, flow.mode(context)[:, None].expand_as(samples))


def test_mode_of_additive_flow_is_image_of_zero_latent(perturb):
    flow = vector_glow(6, 3, 16, context_features=4, coupling="additive").double()
    flow.log_prob(torch.randn(32, 6, dtype=torch.float64), torch.randn(32, 4, dtype=torch.float64))
    perturb(flow)
    context = torch.randn(5, 4, dtype=torch.float64)
    decoded, _ = flow.from_latent(torch.zeros(5, 6, dtype=torch.float64), context)
    assert torch.allclose(flow.mode(context), decoded, atol=1e-12)
    # the mode really is a maximum: nearby points have lower density
    mode = flow.mode(context)
    nearby = mode + 1e-2 * torch.randn_like(mode)
    assert (flow.log_prob(mode, context) > flow.log_prob(nearby, context)).all()
    unconditional = vector_glow(6, 2, 16, coupling="additive")
    assert unconditional.mode().shape == (6,)


def test_mode_of_affine_flow_raises():
    with pytest.raises(ValueError, match="additive"):
        vector_glow(4, 2, 8).mode()


def test_latent_maps_give_log_prob(perturb):
    flow = image_glow((2, 4, 4), 2, 2, 8, "affine", 3).double()
    x, context = torch.randn(4, 2, 4, 4, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    flow.log_prob(x, context)
    perturb(flow, 0.1)
    z, logabsdet = flow.to_latent(x, context)
    assert z.shape == (4, 32)
    x_back, logabsdet_back = flow.from_latent(z, context)
    assert (x_back - x).abs().max().item() < 1e-9
    assert torch.allclose(logabsdet_back, logabsdet, atol=1e-9)
    assert torch.allclose(flow.log_prob(x, context), flow.base_log_prob(z) + logabsdet, atol=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.log_prob(torch.randn(2, 5), torch.randn(2, 3)), "data must have shape"),
        (lambda f: f.log_prob(torch.randn(2, 4)), "needs a context"),
        (lambda f: f.log_prob(torch.randn(2, 4), torch.randn(3, 3)), "context must have shape"),
        (lambda f: f.from_latent(torch.randn(2, 3), torch.randn(2, 3)), "latent must have shape"),
        (lambda f: f.sample(0, torch.randn(2, 3)), "number of samples"),
    ],
    ids=["shape", "missing-context", "context-batch", "latent-shape", "zero-samples"],
)
def test_bad_input_raises_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(vector_glow(4, 1, 8, context_features=3))


def test_values_are_not_checked_per_call():
    """Shape checks only: a NaN row gives a NaN log-density (training loops detect it at their logging
    interval) instead of a per-call ``isfinite(...).all()`` that waits for the device."""
    flow = vector_glow(4, 1, 8, context_features=3)
    flow.log_prob(torch.randn(16, 4), torch.randn(16, 3))  # ActNorm's data-dependent initialisation
    x = torch.randn(3, 4)
    x[1] = float("nan")
    log_prob = flow.log_prob(x, torch.randn(3, 3))
    assert torch.isnan(log_prob[1]) and torch.isfinite(log_prob[[0, 2]]).all()


def test_sampling_takes_a_generator():
    """The same generator state gives the same samples (and leaves torch's global generator alone)."""
    torch.manual_seed(0)
    flow = vector_glow(6, steps=2, hidden=16, context_features=3).double()
    flow.log_prob(torch.randn(32, 6, dtype=torch.float64), torch.randn(32, 3, dtype=torch.float64))  # ActNorm init
    context = torch.randn(2, 3, dtype=torch.float64)
    state = torch.get_rng_state()
    first = flow.sample(4, context, generator=torch.Generator().manual_seed(5))
    again, log_prob = flow.sample_and_log_prob(4, context, generator=torch.Generator().manual_seed(5))
    assert torch.equal(torch.get_rng_state(), state)
    torch.testing.assert_close(first, again)
    torch.testing.assert_close(log_prob, flow.log_prob(again.reshape(8, 6), context.repeat_interleave(4, dim=0)).reshape(2, 4))
    assert not torch.allclose(first, flow.sample(4, context, generator=torch.Generator().manual_seed(6)))
