"""What the flows reuse between calls (the LU matrices, a conditioner's context term, a vector field's trace
matrix) is reused only while nothing it was computed from changed, and never where a gradient must flow into
it."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from hmr_flow.flows import ResidualMLP, TimeMLP, jacobian_divergence, vector_glow
from hmr_flow.flows.base import FrozenCache


def _reference(net: ResidualMLP, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """The conditioner written out: the context concatenated to every row of its group, nothing reused."""
    context = context.repeat_interleave(x.shape[0] // context.shape[0], dim=0)
    h = F.linear(torch.cat([x, context], dim=1), net.input.weight, net.input.bias)
    for block in net.blocks:
        h = h + block(h)
    return net.output(h)


def _frozen_net() -> ResidualMLP:
    torch.manual_seed(0)
    net = ResidualMLP(3, 4, 8, blocks=1, context_features=5).double()
    torch.nn.init.normal_(net.output[1].weight)  # not the identity start: every part of the net counts
    return net.requires_grad_(False)


def test_a_frozen_conditioner_reuses_the_context_term_of_the_same_context():
    net = _frozen_net()
    context = torch.randn(2, 5, dtype=torch.float64)
    first = net._context_term(context)
    assert net._context_term(context) is first  # the same tensor, unchanged: reused
    for rows in (2, 6):  # one row per context, and three rows per context (grouped)
        x = torch.randn(rows, 3, dtype=torch.float64, requires_grad=True)
        assert torch.allclose(net(x, context), _reference(net, x, context), atol=1e-12)
        net(x, context).sum().backward()  # gradients still reach the input
        assert x.grad is not None and x.grad.abs().sum() > 0


def test_the_context_term_is_rebuilt_when_anything_it_came_from_changes():
    net = _frozen_net()
    x = torch.randn(4, 3, dtype=torch.float64)
    context = torch.randn(4, 5, dtype=torch.float64)
    net(x, context)
    context.add_(1.0)  # changed in place: its version moves
    assert torch.allclose(net(x, context), _reference(net, x, context), atol=1e-12)
    equal = context.clone()  # another tensor with the same values: rebuilt, same result
    assert net._context_term(equal) is not net._context_term(context)
    del context  # its memory cannot come back as a false match: the cache holds the tensor
    fresh = torch.randn(4, 5, dtype=torch.float64)
    assert torch.allclose(net(x, fresh), _reference(net, x, fresh), atol=1e-12)
    with torch.no_grad():
        net.input.weight.mul_(2.0)  # an optimiser step
    assert torch.allclose(net(x, fresh), _reference(net, x, fresh), atol=1e-12)
    other = _frozen_net()
    with torch.no_grad():
        other.input.bias.add_(1.0)
    net.load_state_dict(other.state_dict())  # a checkpoint
    assert torch.allclose(net(x, fresh), _reference(other, x, fresh), atol=1e-12)
    assert net.float()(x.float(), fresh.float()).dtype == torch.float32  # another dtype: rebuilt


def test_nothing_is_reused_where_gradients_must_reach_the_weights_or_the_context():
    net = _frozen_net().requires_grad_(True)
    context = torch.randn(2, 5, dtype=torch.float64)
    assert net._context_term(context) is not net._context_term(context)  # training: built every call
    net(torch.randn(2, 3, dtype=torch.float64), context).sum().backward()
    assert net.input.weight.grad[:, 3:].abs().sum() > 0  # the context columns are trained
    net = _frozen_net()
    features = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)  # e.g. an encoder being trained
    net(torch.randn(2, 3, dtype=torch.float64), features).sum().backward()
    assert features.grad is not None and features.grad.abs().sum() > 0
    with torch.no_grad():
        assert net._context_term(features) is net._context_term(features)  # no gradient wanted: reused


def test_a_frozen_flow_scores_the_same_with_and_without_reuse():
    """A fit's pattern: one set of contexts, new poses at every call, the flow frozen."""
    torch.manual_seed(1)
    flow = vector_glow(6, 2, 16, context_features=4, coupling="additive", blocks=1).double()
    context = torch.randn(3, 4, dtype=torch.float64)
    poses = torch.randn(4, 3, 6, dtype=torch.float64)
    flow.log_prob(poses[0], context)  # ActNorm's data initialisation
    trained = [flow.log_prob(x, context).detach() for x in poses]  # parameters need gradients: nothing reused
    flow.requires_grad_(False)
    for x, expected in zip(poses, trained):
        assert torch.allclose(flow.log_prob(x, context), expected, atol=1e-10)
        assert torch.allclose(flow.log_prob(x, context.clone()), expected, atol=1e-10)


def test_frozen_cache_keys_on_identity_and_version():
    cache = FrozenCache()
    a = torch.ones(3)
    calls = []

    def build():
        calls.append(1)
        return a * 2

    assert cache.get("x", (a,), build) is cache.get("x", (a,), build) and len(calls) == 1
    a[0] = 5.0  # in place
    assert cache.get("x", (a,), build)[0] == 10.0 and len(calls) == 2
    cache.get("x", (a.clone(),), build)  # another tensor
    assert len(calls) == 3


def test_a_conditioner_keeps_the_last_few_contexts():
    """Alternating contexts (a fit's batch, the bodies it still optimises, the final scoring) are all reused;
    one more than it keeps evicts the least recently used."""
    from hmr_flow.flows.nets import CONTEXTS_KEPT

    net = _frozen_net()
    contexts = [torch.randn(2, 5, dtype=torch.float64) for _ in range(CONTEXTS_KEPT + 1)]
    terms = [net._context_term(c) for c in contexts[:CONTEXTS_KEPT]]
    assert all(net._context_term(c) is t for c, t in zip(contexts, terms))  # all kept, in any order
    net._context_term(contexts[0])  # used last: the oldest is now contexts[1]
    net._context_term(contexts[-1])  # one more: evicts contexts[1]
    assert net._context_term(contexts[0]) is terms[0] and net._context_term(contexts[1]) is not terms[1]


def test_a_frozen_vector_field_reuses_its_trace_matrix_until_a_weight_changes():
    torch.manual_seed(2)
    field = TimeMLP(3, 8).double()
    for weight in (field.w3.weight, field.linear.weight):
        torch.nn.init.normal_(weight)  # not the identity start: every term of the divergence counts
    field.requires_grad_(False)
    t, z = torch.tensor(0.4, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    assert field._trace_matrix() is field._trace_matrix()  # frozen: reused
    assert torch.allclose(field.with_divergence(t, z)[1], jacobian_divergence(field, t, z)[1], atol=1e-12)
    with torch.no_grad():
        field.w1.weight.mul_(2.0)  # an optimiser step
    assert torch.allclose(field.with_divergence(t, z)[1], jacobian_divergence(field, t, z)[1], atol=1e-12)
    field.requires_grad_(True)
    assert field._trace_matrix() is not field._trace_matrix()  # training: built every call
    field.with_divergence(t, z)[1].sum().backward()
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in (field.w1.weight, field.w2.weight))
