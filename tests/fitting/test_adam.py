"""The fitter's Adam takes the same steps as ``torch.optim.Adam``."""

import torch

from hmr_flow.fitting.adam import Adam


def _trajectory(make_optimiser, steps: int = 50) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    target = torch.randn(6, 3, generator=g, dtype=torch.float64)
    scale = torch.rand(6, 3, generator=g, dtype=torch.float64) * 10
    a = torch.zeros(6, 3, dtype=torch.float64, requires_grad=True)
    b = torch.ones(6, 2, dtype=torch.float64, requires_grad=True)
    optimiser = make_optimiser([a, b])

    def closure():
        optimiser.zero_grad()
        loss = (scale * (a - target) ** 2).sum() + (b**4).sum() + (a[:, :2] * b).sum()
        loss.backward()
        return loss

    path = []
    for _ in range(steps):
        optimiser.step(closure)
        path.append(torch.cat([a.detach().flatten(), b.detach().flatten()]))
    return path


def test_same_steps_as_torch_adam():
    ours = _trajectory(lambda params: Adam(params, lr=0.05))
    torch_adam = _trajectory(lambda params: torch.optim.Adam(params, lr=0.05))
    for mine, reference in zip(ours, torch_adam):
        assert torch.allclose(mine, reference, atol=1e-12, rtol=1e-10)
    assert (ours[-1] - ours[0]).abs().max() > 0.1  # it really moved


def test_step_returns_the_closure_loss_and_skips_parameters_without_gradient():
    used = torch.ones(3, requires_grad=True)
    unused = torch.ones(3, requires_grad=True)
    optimiser = Adam([used, unused], lr=0.1)

    def closure():
        optimiser.zero_grad()
        loss = (used**2).sum()
        loss.backward()
        return loss

    assert optimiser.step(closure).item() == 3.0
    assert torch.equal(unused.detach(), torch.ones(3)) and (used.detach() < 1).all()
