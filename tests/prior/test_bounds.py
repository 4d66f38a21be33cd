"""Bounded, readable scores: every finite pose gets a log-likelihood ≥ −10⁴ nats and a gradient of
norm ≤ 10⁴ under the shipped flow prior, its floor costs held-out poses (almost) nothing, and the
uniform-rotation component it mixes in is a normalised density that its sampler follows."""

from __future__ import annotations

import math

import pytest
import torch

from hmr_flow.prior.flow import FlowPrior
from hmr_flow.prior.space import log_uniform_rotation_density, uniform_rotations

LOWEST, STEEPEST = -1e4, 1e4


def _random_rotations(n: int, scale: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    axis = torch.nn.functional.normalize(torch.randn(n, 23, 3, generator=generator), dim=-1)
    return (axis * scale * torch.rand(n, 23, 1, generator=generator)).reshape(n, 69)


def _absurd_and_shaken(val_poses: torch.Tensor) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    axis = torch.nn.functional.normalize(torch.randn(64, 23, 3, generator=generator), dim=-1)
    cases = {
        "random rotations": _random_rotations(256, math.pi, 0),
        "half turns": (axis * math.pi).reshape(64, 69),
        "huge axis-angle": 50.0 * torch.randn(64, 69, generator=generator),
        "identity": torch.zeros(4, 69),
    }
    for sigma in (0.05, 0.2, 0.5, 1.0, 2.0):  # held-out poses shaken ever harder: the way to absurd
        cases[f"held-out + {sigma} rad"] = val_poses[::7] + sigma * torch.randn(val_poses[::7].shape, generator=generator)
    return cases


def test_every_pose_scores_above_the_floor_with_bounded_gradient(flow_prior, val_poses):
    for name, poses in _absurd_and_shaken(val_poses).items():
        poses = poses.clone().requires_grad_(True)
        log_prob = flow_prior.log_prob(poses)
        (gradient,) = torch.autograd.grad(log_prob.sum(), poses)
        assert torch.isfinite(log_prob).all() and torch.isfinite(gradient).all(), name
        assert log_prob.min().item() >= LOWEST, (name, log_prob.min().item())
        assert gradient.norm(dim=1).max().item() <= STEEPEST, (name, gradient.norm(dim=1).max().item())


def test_floor_costs_held_out_poses_at_most_its_weight(flow_prior, val_poses):
    assert flow_prior.floor > 0  # the shipped prior has one
    without = FlowPrior.from_checkpoint({**_checkpoint(flow_prior), "config": {**flow_prior.config(), "floor": 0.0}})
    with torch.no_grad():
        mixed, alone = flow_prior.log_prob(val_poses), without.log_prob(val_poses)
    assert (mixed - alone).min().item() >= math.log1p(-flow_prior.floor) - 1e-4
    # far from the data the floor is all that is left: a half-turn of every joint
    half_turns = torch.full((1, 69), math.pi / math.sqrt(3))
    with torch.no_grad():
        assert flow_prior.log_prob(half_turns).item() > without.log_prob(half_turns).item() + 100


def test_held_out_poses_score_above_their_noisy_versions(flow_prior, val_poses):
    generator = torch.Generator().manual_seed(0)
    noisy = val_poses + 0.2 * torch.randn(val_poses.shape, generator=generator)
    clean_score, noisy_score = flow_prior.score(val_poses)[0], flow_prior.score(noisy)[0]
    assert (clean_score > noisy_score).float().mean().item() >= 0.99


def _checkpoint(prior: FlowPrior) -> dict:
    from hmr_flow.prior.flow import FORMAT

    return {"format": FORMAT, "config": prior.config(), "state_dict": prior.state_dict(), "info": prior.info}


def test_uniform_rotation_density_is_normalised_and_sampled():
    # ∫ q over the π-ball of one joint = vol(ball) · E_uniform-in-ball[q]
    generator = torch.Generator().manual_seed(0)
    points = (torch.rand(400_000, 3, generator=generator) * 2 - 1) * math.pi
    points = points[points.norm(dim=1) <= math.pi]
    ball = 4.0 / 3.0 * math.pi * math.pi**3
    integral = ball * log_uniform_rotation_density(points.double()).exp().mean().item()
    assert integral == pytest.approx(1.0, abs=0.01)
    # uniform rotations have angle density (1 − cos θ)/π, whose mean is π/2 + 2/π
    torch.manual_seed(0)
    angles = uniform_rotations(200_000, 1).norm(dim=1)
    assert angles.max().item() <= math.pi + 1e-5
    assert angles.mean().item() == pytest.approx(math.pi / 2 + 2 / math.pi, abs=0.01)
