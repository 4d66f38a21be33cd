"""Batched SMPLify-style fitting of the body model to 2D keypoints.

All people and all their initial hypotheses form one batch of independent problems optimised
together (their losses are summed, so gradients do not mix). Per body the objective is

    reprojection (robust, confidence-weighted, in nats)  +  λ_prior · prior.loss(body_pose)
    +  λ_shape · ‖β‖²  (+ a depth anchor during the camera stage)

with a pinhole camera at the origin of the OpenCV camera frame (x right, y down, z forward;
:mod:`hmr_flow.geometry.camera`). ``global_orient`` is therefore the body's rotation **in the
camera frame** and ``transl`` its translation there (metres). The best hypothesis per person is the
one with the lowest final objective; all hypotheses' objectives are reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from hmr_flow.body.keypoints import KEYPOINT_NAMES, check_format, num_keypoints
from hmr_flow.fitting.adam import Adam
from hmr_flow.fitting.initialisation import Initialisation, default_initialisation, estimate_translation
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.fitting.losses import depth_anchor_loss, person_scale, reprojection_loss, shape_loss
from hmr_flow.fitting.schedule import SAMPLE_TEMPERATURE, FitConfig, Stage
from hmr_flow.prior import FittingPrior, NoPrior, PosePrior
from hmr_flow.geometry import (
    axis_angle_to_matrix,
    axis_angle_to_rot6d,
    project_points,
    rot6d_to_axis_angle,
    rot6d_to_matrix,
)
from hmr_flow.training import LOG_EVERY

log = logging.getLogger(__name__)

_TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "neck", "mid_hip")
_HIPS = ("left_hip", "right_hip", "mid_hip")


@dataclass
class FitResult:
    """Fitted parameters of ``P`` people (best hypothesis each), all in the camera frame.

    Attributes:
        global_orient: ``(P, 3)`` axis-angle, camera frame. body_pose: ``(P, 69)`` axis-angle.
        betas: ``(P, num_betas)``. transl: ``(P, 3)`` metres.
        focal: ``(P,)`` pixels. principal_point: ``(P, 2)`` pixels.
        joints: ``(P, 24, 3)`` camera frame, metres. keypoints_2d: ``(P, K, 2)`` fitted keypoints, pixels.
        loss: ``(P,)`` final objective; data_loss, prior_loss: ``(P,)`` its reprojection and
        (unweighted) prior terms. hypothesis_losses: ``(P, N)`` final objective of every
        hypothesis; best_hypothesis: ``(P,)`` index of the kept one.
    """

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor
    focal: torch.Tensor
    principal_point: torch.Tensor
    joints: torch.Tensor
    keypoints_2d: torch.Tensor
    loss: torch.Tensor
    data_loss: torch.Tensor
    prior_loss: torch.Tensor
    hypothesis_losses: torch.Tensor
    best_hypothesis: torch.Tensor


def keypoint_weights(keypoint_format: str, hip_weight: float, torso_only: bool = False) -> torch.Tensor:
    """``(K,)`` per-keypoint weights: hips at ``hip_weight``; non-torso keypoints 0 if ``torso_only``."""
    names = KEYPOINT_NAMES[check_format(keypoint_format)]
    weights = torch.tensor([hip_weight if n in _HIPS else 1.0 for n in names])
    if torso_only:
        weights = weights * torch.tensor([float(n in _TORSO) for n in names])
    return weights


def _check_keypoints(keypoints: torch.Tensor, keypoint_format: str) -> None:
    k = num_keypoints(keypoint_format)
    if keypoints.dim() != 3 or tuple(keypoints.shape[1:]) != (k, 3):
        raise ValueError(f"keypoints: expected (P, {k}, 3) for {keypoint_format}, got {tuple(keypoints.shape)}")
    if not torch.isfinite(keypoints).all():
        raise ValueError("keypoints: contains NaN or infinite values")
    if ((keypoints[..., 2] > 0).sum(1) < 2).any():
        raise ValueError("keypoints: every person needs at least two keypoints with confidence > 0")


def _per_body(value, batch: int, trailing: tuple[int, ...], name: str, dtype, device) -> torch.Tensor:
    tensor = torch.as_tensor(value, dtype=dtype, device=device)
    if tensor.dim() == len(trailing):
        tensor = tensor.expand(batch, *trailing)
    if tuple(tensor.shape) != (batch,) + trailing:
        raise ValueError(f"{name}: expected {trailing or 'a scalar'} or {(batch,) + trailing}, got {tuple(tensor.shape)}")
    return tensor


class _Problem:
    """The batched objective: parameters of ``B = P·N`` bodies and their per-body loss terms."""

    def __init__(self, body, keypoints, keypoint_format, focal, principal_point, prior: FittingPrior, config, init):
        self.body, self.prior, self.config = body, prior, config
        self.prior_weight = config.prior_weight if config.prior_weight is not None else prior.fit_weight
        self.keypoints, self.focal, self.centre = keypoints, focal, principal_point
        self.matrix = body.keypoint_matrix(keypoint_format)
        self.scale = person_scale(keypoints)
        device, dtype = keypoints.device, keypoints.dtype
        self.weights_all = keypoint_weights(keypoint_format, config.hip_weight).to(device, dtype)
        torso = keypoint_weights(keypoint_format, config.hip_weight, torso_only=True).to(device, dtype)
        # Bodies with fewer than 3 visible torso keypoints use every keypoint in the camera stage.
        enough = ((torso > 0) & (keypoints[..., 2] > 0)).sum(1, keepdim=True) >= 3
        self.weights_torso = torch.where(enough, torso, self.weights_all)
        batch = keypoints.shape[0]
        self.params = {
            "global_orient": axis_angle_to_rot6d(init.global_orient.reshape(batch, 3).to(device, dtype)),
            "body_pose": init.body_pose.reshape(batch, 69).to(device, dtype).clone(),
            "betas": torch.zeros(batch, body.num_betas, device=device, dtype=dtype),
        }
        if init.betas is not None:
            count = min(body.num_betas, init.betas.shape[-1])
            self.params["betas"][:, :count] = init.betas.reshape(batch, -1)[:, :count].to(device, dtype)
        with torch.no_grad():
            points = self.keypoints3d(transl=torch.zeros(batch, 3, device=device, dtype=dtype))
            mask = (self.weights_torso > 0) & (keypoints[..., 2] > 0)
            self.params["transl"] = estimate_translation(points, keypoints, focal, principal_point, mask)
        self.depth0 = self.params["transl"][:, 2].clone()

    def rotations(self) -> torch.Tensor:
        """``(B, 24, 3, 3)`` rotation matrices of the current pose, global orientation first."""
        p = self.params
        return torch.cat(
            [rot6d_to_matrix(p["global_orient"])[:, None], axis_angle_to_matrix(p["body_pose"].view(-1, 23, 3))], dim=1
        )

    def sources(self, rotations: torch.Tensor, transl=None) -> torch.Tensor:
        """``(B, S, 3)`` joints and keypoint vertices of the bodies posed by ``rotations``."""
        return self.body(rotations, self.params["betas"], self.params["transl"] if transl is None else transl)

    def keypoints3d(self, transl=None) -> torch.Tensor:
        return torch.einsum("ks,bsc->bkc", self.matrix, self.sources(self.rotations(), transl))

    def terms(self, stage: Stage, rotations: torch.Tensor, sources: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-body loss terms ``(B,)`` under ``stage``'s keypoint selection, for the current parameters
        as ``rotations`` (:meth:`rotations`) and ``sources`` (:meth:`sources`) of them."""
        projected = project_points(torch.einsum("ks,bsc->bkc", self.matrix, sources), self.focal, self.centre)
        weights = self.weights_torso if stage.torso_only else self.weights_all
        cfg = self.config
        terms = {
            "data": reprojection_loss(projected, self.keypoints, weights, self.scale, cfg.robust_sigma, cfg.noise_sigma),
            "shape": shape_loss(self.params["betas"]),
            "depth": depth_anchor_loss(self.params["transl"], self.depth0),
            "prior": self.prior.fitting_loss(self.params["body_pose"], rotations),
        }
        return terms

    def objective(self, stage: Stage, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B,)`` the weighted sum of ``terms`` (:meth:`terms`) under ``stage``."""
        return (
            terms["data"]
            + self.prior_weight * stage.prior_scale * terms["prior"]
            + self.config.shape_weight * terms["shape"]
            + stage.depth_weight * terms["depth"]
        )

    def evaluate(self, stage: Stage) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        """One forward pass: ``(objective (B,), terms, sources (B, S, 3))`` of the current parameters."""
        rotations = self.rotations()
        sources = self.sources(rotations)
        terms = self.terms(stage, rotations, sources)
        return self.objective(stage, terms), terms, sources

    def run_stage(self, stage: Stage, bar) -> None:
        names = [n for n in ("transl", "global_orient", "body_pose", "betas") if n in stage.parameters]
        if stage.iterations == 0 or not names:
            return
        start = {n: p.detach().clone() for n, p in self.params.items()}
        leaves = []
        for n in names:
            self.params[n] = self.params[n].detach().requires_grad_(True)
            leaves.append(self.params[n])
        cfg = self.config
        if cfg.optimizer == "lbfgs":
            optimiser = torch.optim.LBFGS(
                leaves, lr=cfg.learning_rate, max_iter=stage.iterations, line_search_fn="strong_wolfe"
            )
        else:
            optimiser = Adam(leaves, lr=cfg.learning_rate)

        evaluations = 0

        def closure():
            nonlocal evaluations
            optimiser.zero_grad()
            loss = self.evaluate(stage)[0].sum()
            loss.backward()
            bar.update(1)
            evaluations += 1
            if evaluations % LOG_EVERY == 0:  # reading the loss waits for the device: once per interval
                bar.set_postfix(stage=stage.name, loss=f"{loss.item() / len(self.depth0):.3g}")
            return loss

        if cfg.optimizer == "lbfgs":
            optimiser.step(closure)
        else:
            for _ in range(stage.iterations):
                optimiser.step(closure)
        with torch.no_grad():
            bad = torch.zeros(len(self.depth0), dtype=torch.bool, device=self.depth0.device)
            for n in names:
                bad |= ~torch.isfinite(self.params[n]).all(dim=1)
            if bad.any():
                log.warning("stage %s: %d bodies diverged (non-finite); reset to their stage start", stage.name, int(bad.sum()))
        self.params = {
            n: torch.where(bad[:, None], start[n], p.detach()) if n in names else p.detach() for n, p in self.params.items()
        }


def fit_people(
    body: KeypointBody,
    keypoints: torch.Tensor,
    keypoint_format: str,
    focal: torch.Tensor | float,
    principal_point: torch.Tensor | tuple[float, float],
    prior=None,
    init: Initialisation | None = None,
    num_hypotheses: int | None = None,
    config: FitConfig | None = None,
    progress: bool = True,
    generator: torch.Generator | None = None,
) -> FitResult:
    """Fit the body to the 2D keypoints of ``P`` people at once.

    Args:
        body: the reduced body model (on the device to use).
        keypoints: ``(P, K, 3)`` ``(u, v, confidence)`` pixels, ``K`` matching ``keypoint_format``.
        keypoint_format: a key of :data:`hmr_flow.body.KEYPOINT_NAMES` (``'coco17'``, ``'body25'``).
        focal: pixels, scalar or ``(P,)``; principal_point: ``(2,)`` or ``(P, 2)`` pixels.
        prior: a :class:`hmr_flow.prior.FittingPrior` (a ``PosePrior``, or the conditional model's
            :class:`hmr_flow.models.ConditionalPrior`, whose ``B`` bodies are people × hypotheses,
            people-major), or ``None`` for no prior.
        init: hypotheses per person; default :func:`default_initialisation` with ``num_hypotheses``
            (default ``config.num_hypotheses``; prior samples at ``config.sample_temperature`` when
            ``prior`` can sample).
        config: weights, schedule and hypotheses (:class:`FitConfig`; its defaults are the command's).
        generator: seeds the default initialisation (its noise and prior samples): same seed → same fit.

    Returns:
        :class:`FitResult` (best hypothesis per person).
    """
    config = config or FitConfig()
    device = body.joint_template.device
    dtype = body.joint_template.dtype
    keypoints = torch.as_tensor(keypoints, dtype=dtype, device=device)
    _check_keypoints(keypoints, keypoint_format)
    people = keypoints.shape[0]
    focal = _per_body(focal, people, (), "focal", dtype, device)
    centre = _per_body(principal_point, people, (2,), "principal_point", dtype, device)
    if init is None:
        sampler = prior_sampler(prior, generator, config.sample_temperature)
        init = default_initialisation(people, num_hypotheses or config.num_hypotheses, sampler, generator)
    if init.num_people != people:
        raise ValueError(f"init: has {init.num_people} people, keypoints have {people}")
    n = init.num_hypotheses

    def repeat(t: torch.Tensor) -> torch.Tensor:
        return t.repeat_interleave(n, dim=0)

    prior = NoPrior() if prior is None else prior
    problem = _Problem(body, repeat(keypoints), keypoint_format, repeat(focal), repeat(centre), prior, config, init)
    final = config.stages[-1]
    # Adam evaluates once per step; LBFGS at most max_iter · 5/4 times (torch's default max_eval).
    total = sum(s.iterations if config.optimizer == "adam" else s.iterations * 5 // 4 for s in config.stages)
    with tqdm(total=total, desc=f"fit {people}×{n}", disable=not progress, leave=False) as bar:
        for stage in config.stages:
            problem.run_stage(stage, bar)
    with torch.no_grad():
        objective, terms, sources = problem.evaluate(Stage("final", 0, (), prior_scale=final.prior_scale))
        objective = torch.nan_to_num(objective, nan=float("inf"))
        hyp = objective.view(people, n)
        best = hyp.argmin(dim=1)
        index = torch.arange(people, device=device) * n + best
        sources = sources[index]
        projected = project_points(torch.einsum("ks,bsc->bkc", problem.matrix, sources), focal, centre)
        p = problem.params
        return FitResult(
            global_orient=rot6d_to_axis_angle(p["global_orient"][index]),
            body_pose=p["body_pose"][index],
            betas=p["betas"][index],
            transl=p["transl"][index],
            focal=focal,
            principal_point=centre,
            joints=sources[:, :24],
            keypoints_2d=projected,
            loss=objective[index],
            data_loss=terms["data"][index],
            prior_loss=terms["prior"][index],
            hypothesis_losses=hyp,
            best_hypothesis=best,
        )


def prior_sampler(prior, generator: torch.Generator | None = None, temperature: float = SAMPLE_TEMPERATURE):
    """``n -> (n, 69)`` pose samples at ``temperature`` from ``prior``, or ``None`` if it cannot sample.
    With a ``generator`` the samples are drawn under a seed taken from it (the global RNG is left as it
    was), so a seeded fit starts from the same hypotheses every time."""
    if not isinstance(prior, PosePrior) or prior.kind == "none":
        return None

    def sample(count: int) -> torch.Tensor:
        if generator is None:
            with torch.no_grad():
                return prior.sample(count, temperature=temperature)
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            return prior.sample(count, temperature=temperature)

    return sample
