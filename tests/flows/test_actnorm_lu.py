"""ActNorm initialisation and the LU layers' exactness after training steps and checkpoint loading."""

from __future__ import annotations

import pytest
import torch

from hmr_flow.flows import ActNorm, LUConv1x1, LULinear


@pytest.mark.parametrize("shape", [(256, 4), (32, 3, 5, 5)], ids=["vector", "image"])
def test_actnorm_initialises_to_zero_mean_unit_std(shape):
    x = torch.randn(*shape, dtype=torch.float64) * torch.tensor([3.0, 0.1, 7.0] + [1.0] * (shape[1] - 3), dtype=torch.float64).view(1, -1, *([1] * (len(shape) - 2))) + 5.0
    layer = ActNorm(shape[1]).double()
    y, _ = layer(x)
    per_feature = y.transpose(0, 1).reshape(shape[1], -1)
    assert per_feature.mean(dim=1).abs().max().item() < 1e-10
    assert (per_feature.std(dim=1, unbiased=False) - 1).abs().max().item() < 1e-10


def test_actnorm_constant_feature_is_finite():
    x = torch.randn(16, 3)
    x[:, 1] = 4.0
    layer = ActNorm(3)
    y, logabsdet = layer(x)
    assert torch.isfinite(y).all() and torch.isfinite(logabsdet).all()
    x_back, _ = layer.inverse(y)
    assert torch.allclose(x_back, x, atol=1e-5)


def test_actnorm_state_dict_keeps_initialisation():
    layer = ActNorm(3)
    layer(torch.randn(50, 3) * 4 + 2)
    restored = ActNorm(3)
    restored.load_state_dict(layer.state_dict())
    assert bool(restored.initialized)
    probe = torch.randn(7, 3) * 100
    assert torch.equal(restored(probe)[0], layer(probe)[0])
    layer.load_state_dict(ActNorm(3).state_dict())  # an uninitialised state: the next batch initialises again
    assert torch.allclose(layer(probe)[0].mean(0), torch.zeros(3), atol=1e-5)


LU_CASES = [(LULinear, (6, 5)), (LUConv1x1, (6, 5, 3, 2))]


@pytest.mark.parametrize(("cls", "shape"), LU_CASES, ids=["linear", "conv1x1"])
def test_lu_initial_weight_is_orthogonal(cls, shape):
    layer = cls(shape[1]).double()
    w = layer.core.weight()
    assert torch.allclose(w @ w.T, torch.eye(shape[1], dtype=torch.float64), atol=1e-6)


def _assert_exact(layer, shape):
    w = layer.core.weight().detach().double()
    sign, logabsdet = torch.linalg.slogdet(w)
    positions = 1 if len(shape) == 2 else shape[2] * shape[3]
    x = torch.randn(*shape, dtype=torch.float64)
    y, reported = layer(x)
    assert sign != 0
    assert abs(reported[0].item() - positions * logabsdet.item()) < 1e-9
    x_back, _ = layer.inverse(y)
    assert (x_back - x).abs().max().item() < 1e-9
    w_inv = layer.core.inverse_weight(torch.float64).detach()
    assert (w_inv @ w - torch.eye(w.shape[0], dtype=torch.float64)).abs().max().item() < 1e-10


@pytest.mark.parametrize(("cls", "shape"), LU_CASES, ids=["linear", "conv1x1"])
def test_lu_exact_after_optimizer_steps_and_load_state_dict(cls, shape):
    layer = cls(shape[1]).double()
    permutation = layer.core.permutation.clone()
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(5):
        y, logabsdet = layer(torch.randn(*shape, dtype=torch.float64))
        x_back, _ = layer.inverse(y.detach() + 1.0)
        loss = y.pow(2).mean() - logabsdet.mean() + x_back.pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert layer.core.log_s.detach().abs().sum().item() > 0.05  # the steps really moved the matrix
    assert torch.equal(layer.core.permutation, permutation)
    _assert_exact(layer, shape)

    # use the layer (so any cache would be filled), then overwrite its parameters from another layer
    layer.inverse(torch.randn(*shape, dtype=torch.float64))
    other = cls(shape[1]).double()
    layer.load_state_dict(other.state_dict())
    probe = torch.randn(*shape, dtype=torch.float64)
    assert torch.equal(layer.inverse(probe)[0], other.inverse(probe)[0])
    _assert_exact(layer, shape)


def test_lu_float32_inverse_is_accurate():
    layer = LULinear(64)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.randn(10, 64)
    y, _ = layer(x)
    x_back, _ = layer.inverse(y)
    assert (x_back - x).abs().max().item() < 1e-4


def test_lu_matrices_are_reused_only_while_nothing_changed():
    """Without gradients into them, W and W⁻¹ are built once and reused; any in-place update (optimiser
    step, load_state_dict), a dtype move or switching gradients back on gives fresh, exact matrices."""
    layer = LULinear(12).double()
    probe = torch.randn(5, 12, dtype=torch.float64)

    def fresh(core):
        return core._build_weight(), core._build_inverse(torch.float64)

    with torch.no_grad():
        first = layer.core.weight()
        assert layer.core.weight() is first  # reused
        assert layer.core.inverse_weight(torch.float64) is layer.core.inverse_weight(torch.float64)
        layer.core.log_s.add_(0.1)  # what an optimiser step does
        weight, inverse = fresh(layer.core)
        assert torch.equal(layer.core.weight(), weight) and torch.equal(layer.core.inverse_weight(torch.float64), inverse)
        other = LULinear(12).double()
        layer.load_state_dict(other.state_dict())
        assert torch.equal(layer(probe)[0], other(probe)[0]) and torch.equal(layer.inverse(probe)[0], other.inverse(probe)[0])
        single = layer.float()
        assert single.core.weight().dtype == torch.float32
        assert torch.allclose(single.core.weight().double(), other.core.weight(), atol=1e-6)
    layer.double()
    frozen = LULinear(12).double().requires_grad_(False)
    assert frozen.core.weight() is frozen.core.weight()  # a frozen prior reuses them even with grad enabled
    x = torch.randn(3, 12, dtype=torch.float64, requires_grad=True)
    frozen(x)[0].sum().backward()  # gradients still reach the input
    assert x.grad is not None and torch.isfinite(x.grad).all()
    trained = layer.core.weight()
    assert trained.requires_grad and layer.core.weight() is not trained  # trainable: rebuilt every call
