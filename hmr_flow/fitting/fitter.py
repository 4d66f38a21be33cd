"""Batched SMPLify-style fitting of the body model to 2D keypoints.

All people and all their initial hypotheses form one batch of independent problems optimised
together (their losses are summed, so gradients do not mix). Per body the objective is

    reprojection (robust, confidence-weighted, in nats)  +  λ_prior · prior.loss(body_pose)
    +  λ_shape · ‖β‖²  (+ a depth anchor during the camera stage)

with a pinhole camera at the origin of the OpenCV camera frame (x right, y down, z forward;
:mod:`hmr_flow.geometry.camera`). ``global_orient`` is therefore the body's rotation **in the
camera frame** and ``transl`` its translation there (metres). A stage may end with ``keep``
(:class:`~hmr_flow.fitting.schedule.Stage`; the default schedule keeps one after its camera stage): then only
each person's ``keep`` hypotheses with the lowest objective take further steps, the batch shrinking to
them. The best hypothesis per person is the one with the lowest final objective among those optimised to
the end; all hypotheses' objectives are reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import torch
from tqdm.auto import tqdm

from hmr_flow.body.keypoints import KEYPOINT_NAMES, check_format, num_keypoints
from hmr_flow.fitting.adam import Adam
from hmr_flow.fitting.initialisation import Initialisation, default_initialisation, estimate_translation
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.fitting.losses import depth_anchor_loss, person_scale, reprojection_loss, shape_loss
from hmr_flow.fitting.schedule import PARAMETERS, SAMPLE_TEMPERATURE, FitConfig, Stage
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
        hypothesis (one dropped by a stage's ``keep`` at the parameters it had then); best_hypothesis:
        ``(P,)`` index of the kept one (the lowest final objective among those optimised to the end).
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


def stage_weights(keypoints: torch.Tensor, keypoint_format: str, hip_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The keypoint weights of ``B`` bodies' ``keypoints (B, K, 3)``: ``(K,)`` every keypoint's
    (:func:`keypoint_weights`) and ``(B, K)`` the camera stage's: the torso's, or every keypoint's for a body
    with fewer than 3 visible torso keypoints. On ``keypoints``' device, in its dtype."""
    every = keypoint_weights(keypoint_format, hip_weight).to(keypoints.device, keypoints.dtype)
    torso = keypoint_weights(keypoint_format, hip_weight, torso_only=True).to(keypoints.device, keypoints.dtype)
    enough = ((torso > 0) & (keypoints[..., 2] > 0)).sum(1, keepdim=True) >= 3
    return every, torch.where(enough, torso, every)


def pose_rotations(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """``(B, 24, 3, 3)`` rotation matrices of ``params``' pose (``global_orient (B, 6)`` 6D rotations,
    ``body_pose (B, 69)`` axis-angle), global orientation first."""
    return torch.cat([rot6d_to_matrix(params["global_orient"])[:, None],
                      axis_angle_to_matrix(params["body_pose"].view(-1, 23, 3))], dim=1)


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


@dataclass
class _Bodies:
    """What stays fixed for each of ``B`` bodies (people × hypotheses, people-major, or some of them) during a
    fit: ``keypoints (B, K, 3)``, ``focal (B,)``, ``centre (B, 2)`` pixels, ``scale (B,)`` the person size in
    pixels, ``weights_torso (B, K)`` the camera stage's keypoint weights, ``depth0 (B,)`` the depth anchor
    (m), and the ``prior`` over these bodies."""

    keypoints: torch.Tensor
    focal: torch.Tensor
    centre: torch.Tensor
    scale: torch.Tensor
    weights_torso: torch.Tensor
    depth0: torch.Tensor
    prior: FittingPrior

    def select(self, rows: torch.Tensor) -> _Bodies:
        """The bodies ``rows (R,)`` of these (the prior restricted to them: :meth:`FittingPrior.for_bodies`)."""
        tensors = {f.name: getattr(self, f.name)[rows] for f in fields(self) if f.name != "prior"}
        return _Bodies(**tensors, prior=self.prior.for_bodies(rows, len(self.focal)))


class _Problem:
    """The batched objective: parameters of ``B = P·N`` bodies, their per-body loss terms, and which bodies
    are still optimised (:attr:`active`: every hypothesis until a stage with ``keep`` drops the worse ones)."""

    def __init__(self, body, keypoints, keypoint_format, focal, principal_point, prior: FittingPrior, config, init):
        self.body, self.config = body, config
        self.prior_weight = config.prior_weight if config.prior_weight is not None else prior.fit_weight
        self.matrix = body.keypoint_matrix(keypoint_format)
        device, dtype = keypoints.device, keypoints.dtype
        self.weights_all, weights_torso = stage_weights(keypoints, keypoint_format, config.hip_weight)
        batch = keypoints.shape[0]
        self.hypotheses, self.people = init.num_hypotheses, init.num_people
        self.params = {
            "global_orient": axis_angle_to_rot6d(init.global_orient.reshape(batch, 3).to(device, dtype)),
            "body_pose": init.body_pose.reshape(batch, 69).to(device, dtype).clone(),
            "betas": torch.zeros(batch, body.num_betas, device=device, dtype=dtype),
        }
        if init.betas is not None:
            count = min(body.num_betas, init.betas.shape[-1])
            self.params["betas"][:, :count] = init.betas.reshape(batch, -1)[:, :count].to(device, dtype)
        with torch.no_grad():
            rest = {**self.params, "transl": torch.zeros(batch, 3, device=device, dtype=dtype)}
            points = torch.einsum("ks,bsc->bkc", self.matrix, self.sources(rest, pose_rotations(rest)))
            mask = (weights_torso > 0) & (keypoints[..., 2] > 0)
            self.params["transl"] = estimate_translation(points, keypoints, focal, principal_point, mask)
        self.bodies = _Bodies(keypoints, focal, principal_point, person_scale(keypoints), weights_torso,
                              self.params["transl"][:, 2].clone(), prior)
        #: ``(R,)`` the bodies still optimised, ascending; all ``B`` until a stage keeps fewer hypotheses.
        self.active = torch.arange(batch, device=device)

    def sources(self, params: dict[str, torch.Tensor], rotations: torch.Tensor) -> torch.Tensor:
        """``(B, S, 3)`` joints and keypoint vertices of the bodies of ``params`` posed by ``rotations``."""
        return self.body(rotations, params["betas"], params["transl"])

    def terms(self, stage: Stage, params, bodies: _Bodies, rotations, sources) -> dict[str, torch.Tensor]:
        """Per-body loss terms ``(B,)`` under ``stage``'s keypoint selection, for ``params`` of ``bodies`` as
        ``rotations`` (:func:`pose_rotations`) and ``sources`` (:meth:`sources`) of them."""
        projected = project_points(torch.einsum("ks,bsc->bkc", self.matrix, sources), bodies.focal, bodies.centre)
        weights = bodies.weights_torso if stage.torso_only else self.weights_all
        cfg = self.config
        return {
            "data": reprojection_loss(projected, bodies.keypoints, weights, bodies.scale, cfg.robust_sigma,
                                      cfg.noise_sigma),
            "shape": shape_loss(params["betas"]),
            "depth": depth_anchor_loss(params["transl"], bodies.depth0),
            "prior": bodies.prior.fitting_loss(params["body_pose"], rotations),
        }

    def objective(self, stage: Stage, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B,)`` the weighted sum of ``terms`` (:meth:`terms`) under ``stage``."""
        return (
            terms["data"]
            + self.prior_weight * stage.prior_scale * terms["prior"]
            + self.config.shape_weight * terms["shape"]
            + stage.depth_weight * terms["depth"]
        )

    def evaluate(self, stage: Stage, params=None, bodies: _Bodies | None = None):
        """One forward pass: ``(objective (B,), terms, sources (B, S, 3))`` of ``params`` of ``bodies``
        (default: every body)."""
        params, bodies = params or self.params, bodies or self.bodies
        rotations = pose_rotations(params)
        sources = self.sources(params, rotations)
        terms = self.terms(stage, params, bodies, rotations, sources)
        return self.objective(stage, terms), terms, sources

    def run_stage(self, stage: Stage, bar) -> None:
        """Optimise the active bodies through ``stage``; then, if it says so, keep only the best ``stage.keep``
        hypotheses of each person active."""
        names = [n for n in PARAMETERS if n in stage.parameters]
        if stage.iterations == 0 or not names:
            return
        rows = self.active
        subset = len(rows) < len(self.bodies.focal)
        bodies = self.bodies.select(rows) if subset else self.bodies
        params = {n: p[rows] if subset else p.detach() for n, p in self.params.items()}
        start = {n: params[n].clone() for n in names}
        for n in names:
            params[n] = params[n].detach().requires_grad_(True)
        leaves = [params[n] for n in names]
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
            loss = self.evaluate(stage, params, bodies)[0].sum()
            loss.backward()
            bar.update(1)
            evaluations += 1
            if evaluations % LOG_EVERY == 0:  # reading the loss waits for the device: once per interval
                bar.set_postfix(stage=stage.name, loss=f"{loss.item() / len(rows):.3g}")
            return loss

        if cfg.optimizer == "lbfgs":
            optimiser.step(closure)
        else:
            for _ in range(stage.iterations):
                optimiser.step(closure)
        with torch.no_grad():
            bad = torch.zeros(len(rows), dtype=torch.bool, device=rows.device)
            for n in names:
                bad |= ~torch.isfinite(params[n]).all(dim=1)
            if bad.any():
                log.warning("stage %s: %d bodies diverged (non-finite); reset to their stage start", stage.name, int(bad.sum()))
            for n in names:
                params[n] = torch.where(bad[:, None], start[n], params[n].detach())
                self.params[n] = self.params[n].index_copy(0, rows, params[n]) if subset else params[n]
            if stage.keep is not None and stage.keep < len(rows) // self.people:
                self._keep_best(stage.keep, self.evaluate(stage, params, bodies)[0])

    def _keep_best(self, keep: int, objective: torch.Tensor) -> None:
        """Keep active only the ``keep`` active hypotheses of each person with the lowest ``objective`` ``(R,)``
        (of the active bodies, under the stage just run)."""
        everyone = torch.full((len(self.bodies.focal),), float("inf"), dtype=objective.dtype, device=objective.device)
        everyone[self.active] = torch.nan_to_num(objective, nan=float("inf"))
        per_person = everyone.view(self.people, self.hypotheses)
        best = per_person.topk(keep, dim=1, largest=False).indices
        rows = torch.arange(self.people, device=best.device)[:, None] * self.hypotheses + best
        self.active = rows.flatten().sort().values


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
        still = torch.zeros_like(objective, dtype=torch.bool).index_fill_(0, problem.active, True)
        best = torch.where(still, objective, float("inf")).view(people, n).argmin(dim=1)
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
