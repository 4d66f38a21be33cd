"""Fitting one person's track of video frames: per-frame pose, orientation and translation, one body
shape for the whole track, the chosen prior on every detected frame and a temporal term that keeps the
body from jumping between frames.

For a track of ``T`` frames (``detected (T,)`` says which have keypoints; the others are frames where the
detector missed the person, inside the track) the objective is

``Σ_t data_t + w_p Σ_{t detected} prior_t + w_s T ‖β‖² + Σ_{t=1}^{T-2} Σ_s log(1 + ‖a_{t,s}‖² / (2 σ_a²))``

with ``data_t`` the robust reprojection cost of :func:`~hmr_flow.fitting.losses.reprojection_loss` (0 on a
missed frame), ``prior_t`` the prior's fitting loss, and ``a_{t,s} = x_{t+1,s} − 2 x_{t,s} + x_{t−1,s}`` the
acceleration (metres per frame²) of the 24 joints and the 11 keypoint vertices ``s`` in the camera frame
(translation included, so depth jitter is smoothed too). ``σ_a`` is
:attr:`SequenceConfig.acceleration_sigma`. The temporal term is a heavy-tailed (Cauchy-like) negative
log-likelihood of the acceleration, in nats like the other terms: ``≈ ‖a‖² / (2 σ_a²)`` for accelerations
well below ``σ_a`` (jitter), but growing only logarithmically beyond it, so the real, sudden accelerations of
a kick or a jump are not flattened — and its gradient stays bounded, which keeps the coupled problem quick
to optimise (a Gaussian term of the same scale converges several times slower and fits worse; docs/video.md).
A missed frame starts from its neighbours' values interpolated in time and is then moved by the temporal
term alone (and the shared shape).

The stages of :class:`~hmr_flow.fitting.schedule.FitConfig` run on the whole window at once (camera stage:
torso keypoints with the depth anchored; then everything with the prior 4× and 1×); the temporal term is
on in every stage. Long tracks are fitted in windows of :attr:`SequenceConfig.window` frames that overlap
by :attr:`SequenceConfig.overlap`: each window after the first starts with the last ``overlap // 2``
frames already kept from the window before, held fixed (so the joints' acceleration stays continuous
across the seam), and keeps its own frames up to ``overlap // 2`` before its end (the later ones are fitted
again, with more future, by the next window). The shape is fitted in the first window and held by the
later ones. Memory is that of one window, whatever the track's length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.fitting.adam import Adam
from hmr_flow.fitting.fitter import keypoint_weights, pose_rotations, stage_weights
from hmr_flow.fitting.initialisation import estimate_translation
from hmr_flow.fitting.losses import depth_anchor_loss, person_scale, reprojection_loss, shape_loss
from hmr_flow.fitting.schedule import DEFAULT_STAGES, FitConfig, Stage, scaled_stages
from hmr_flow.geometry import (
    axis_angle_to_matrix,
    axis_angle_to_rot6d,
    project_points,
    rot6d_to_axis_angle,
)
from hmr_flow.metrics import acceleration
from hmr_flow.prior import FittingPrior, NoPrior

#: Default scale ``σ_a`` of the temporal term, metres per frame² (its weight on small accelerations is
#: ``1 / (2 σ_a²)``), chosen on validation clips at 30 frames/s with the command's 120 steps
#: (``bench/video.py --seeds 777 --acceleration-sigmas 50 100 200 --iterations 60 90 120``, docs/video.md):
#: 100 mm/frame² gave PA-MPJPE 67.2 mm and acceleration error 16.6 mm/frame² (50: 70.1 / 11.7; 200: 65.3 / 27.5;
#: every frame alone: 72.2 / 109.5).
ACCELERATION_SIGMA = 0.1
#: Optimiser steps of a clip's fit: the temporal term couples the frames, so more than a photo's 60 (chosen
#: with the temporal scale, ``bench/video.py --seeds 777 … --iterations 60 90 120``: PA-MPJPE 72.5 / 69.2 /
#: 67.2 mm, 28 / 24 / 20 frames per CPU-second; docs/video.md).
SEQUENCE_ITERATIONS = 120
#: Initial hypotheses per frame: the conditional model's mode (the neighbouring frames settle what one
#: frame leaves open); more are fitted frame by frame first and the best kept.
SEQUENCE_HYPOTHESES = 1


@dataclass(frozen=True)
class SequenceConfig:
    """Settings of a track's fit.

    Attributes:
        fit: the stages and weights of the per-frame terms and the hypotheses per frame (:class:`FitConfig`;
            default :data:`SEQUENCE_ITERATIONS` steps, :data:`SEQUENCE_HYPOTHESES` hypothesis; the default
            schedule's stages, so with several hypotheses per frame only each frame's best one goes on past the
            camera stage of the per-frame fits, :attr:`~hmr_flow.fitting.schedule.Stage.keep`).
        acceleration_sigma: ``σ_a``, metres per frame² (see the module docstring); ``inf`` turns the
            temporal term off.
        window: most frames fitted at once (memory and time per step scale with it).
        overlap: frames shared by consecutive windows (at least 4, less than ``window / 2``).
    """

    fit: FitConfig = field(default_factory=lambda: FitConfig(stages=scaled_stages(DEFAULT_STAGES, SEQUENCE_ITERATIONS),
                                                            num_hypotheses=SEQUENCE_HYPOTHESES))
    acceleration_sigma: float = ACCELERATION_SIGMA
    window: int = 150
    overlap: int = 16

    def __post_init__(self):
        if not self.acceleration_sigma > 0:
            raise ValueError(f"acceleration_sigma: must be positive, got {self.acceleration_sigma}")
        if not 4 <= self.overlap < self.window / 2:
            raise ValueError(f"overlap: expected 4 ≤ overlap < window / 2, got {self.overlap} (window {self.window})")


@dataclass
class TrackFit:
    """The fitted track, ``T`` frames, camera frame (OpenCV: x right, y down, z forward), metres.

    Attributes:
        global_orient: ``(T, 3)`` axis-angle. body_pose: ``(T, 69)`` axis-angle. betas: ``(num_betas,)``,
        one shape for the track. transl: ``(T, 3)``. joints: ``(T, 24, 3)``. keypoints_2d: ``(T, K, 2)``
        fitted keypoints, pixels. data_loss, prior_loss: ``(T,)`` per-frame reprojection and (unweighted)
        prior terms (0 and NaN on missed frames). prior_log_prob: ``(T,)`` log-likelihood of the fitted pose
        under the prior, nats (NaN on missed frames and for priors without a density). temporal_loss:
        ``(T,)`` the temporal term of the acceleration centred on each frame (0 on the first and last frame).
    """

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor
    joints: torch.Tensor
    keypoints_2d: torch.Tensor
    data_loss: torch.Tensor
    prior_loss: torch.Tensor
    prior_log_prob: torch.Tensor
    temporal_loss: torch.Tensor


@dataclass
class TrackStart:
    """Initial values of a track's ``T`` frames: ``global_orient (T, 3)`` camera-frame axis-angle,
    ``body_pose (T, 69)``, ``betas (num_betas,)`` (see :func:`fill_missed`)."""

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    betas: torch.Tensor


def temporal_loss(sources: torch.Tensor, sigma: float) -> torch.Tensor:
    """``(T,)`` the temporal term of each frame: ``Σ_s log(1 + ‖a_{t,s}‖² / (2 σ²))`` over the points ``s`` of
    ``sources (T, S, 3)`` (metres), with ``a`` their :func:`~hmr_flow.metrics.acceleration` centred on frame ``t`` (0 for the first
    and last frame); ``sigma`` metres per frame²."""
    squared = acceleration(sources).square().sum(-1)
    return torch.nn.functional.pad(torch.log1p(squared * (0.5 / sigma**2)).sum(-1), (1, 1))


def interpolate_rotations(rot6d: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Fill the unknown rows of ``rot6d (T, J, 6)`` (6D rotations) from the nearest known rows before and
    after, interpolated linearly in time in the 6D representation (a rotation again once Gram–Schmidt
    turns it into a matrix, :func:`~hmr_flow.geometry.rot6d_to_matrix`); before the first and after the last
    known row, that row's value. ``known (T,)`` bool."""
    return torch.from_numpy(_interpolate(rot6d.numpy(), known.numpy())).to(rot6d)


def _interpolate(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``values (T, …)`` with the rows where ``known`` is False replaced by linear interpolation in time
    between the known rows (held constant before the first and after the last known row)."""
    index = np.flatnonzero(known)
    if len(index) == 0:
        raise ValueError("a track needs at least one detected frame")
    flat = values.reshape(len(values), -1)
    frames = np.arange(len(values))
    filled = np.stack([np.interp(frames, index, flat[index, c]) for c in range(flat.shape[1])], axis=1)
    return filled.reshape(values.shape).astype(values.dtype)


def fill_missed(global_orient: torch.Tensor, body_pose: torch.Tensor,
                detected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Poses of the missed frames of a track, interpolated: ``global_orient (T, 3)`` and ``body_pose
    (T, 69)`` axis-angle, whose rows where ``detected (T,)`` is False are replaced by their neighbours'
    rotations interpolated in time (:func:`interpolate_rotations`)."""
    frames = len(detected)
    pose = torch.cat([global_orient[:, None], body_pose.reshape(frames, 23, 3)], dim=1)
    rot6d = interpolate_rotations(axis_angle_to_rot6d(pose), detected)
    axis_angle = rot6d_to_axis_angle(rot6d.reshape(-1, 6)).reshape(frames, 24, 3)
    keep = detected[:, None, None]
    axis_angle = torch.where(keep, pose, axis_angle)
    return axis_angle[:, 0].contiguous(), axis_angle[:, 1:].reshape(frames, 69).contiguous()


class _WindowProblem:
    """The objective of one window of ``T`` frames of a track and its parameters."""

    def __init__(self, body: KeypointBody, keypoints: torch.Tensor, detected: torch.Tensor, keypoint_format: str,
                 focal: float, centre: tuple[float, float], prior: FittingPrior, config: SequenceConfig,
                 start: TrackStart, transl: torch.Tensor, fixed: torch.Tensor, fit_betas: bool):
        self.body, self.prior, self.config = body, prior, config
        fit = config.fit
        self.prior_weight = fit.prior_weight if fit.prior_weight is not None else prior.fit_weight
        self.keypoints, self.detected, self.fixed, self.fit_betas = keypoints, detected, fixed, fit_betas
        self.focal, self.centre = focal, centre
        self.matrix = body.keypoint_matrix(keypoint_format)
        self.scale = person_scale(keypoints)
        dtype = keypoints.dtype
        self.weights_all, self.weights_torso = stage_weights(keypoints, keypoint_format, fit.hip_weight)
        self.params = {
            "global_orient": axis_angle_to_rot6d(start.global_orient).to(dtype),
            "body_pose": start.body_pose.to(dtype).clone(),
            "betas": start.betas.to(dtype).reshape(1, -1).clone(),
            "transl": transl.to(dtype).clone(),
        }
        self.depth0 = self.params["transl"][:, 2].clone()

    def sources(self, rotations: torch.Tensor) -> torch.Tensor:
        betas = self.params["betas"].expand(len(rotations), -1)
        return self.body(rotations, betas, self.params["transl"])

    def terms(self, stage: Stage) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Per-frame terms ``(T,)`` (prior ``(D,)`` over the detected frames, shape ``(1,)``) and the
        sources ``(T, S, 3)`` of the current parameters."""
        rotations = pose_rotations(self.params)
        sources = self.sources(rotations)
        projected = project_points(torch.einsum("ks,bsc->bkc", self.matrix, sources), self.focal, self.centre)
        weights = self.weights_torso if stage.torso_only else self.weights_all
        fit = self.config.fit
        temporal = temporal_loss(sources, self.config.acceleration_sigma)
        detected = self.detected
        terms = {
            "data": reprojection_loss(projected, self.keypoints, weights, self.scale, fit.robust_sigma, fit.noise_sigma),
            "prior": self.prior.fitting_loss(self.params["body_pose"][detected], rotations[detected]),
            "shape": shape_loss(self.params["betas"]),
            "depth": depth_anchor_loss(self.params["transl"], self.depth0),
            "temporal": temporal,
        }
        return terms, sources

    def objective(self, stage: Stage, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        frames = len(terms["data"])
        return (terms["data"].sum() + self.prior_weight * stage.prior_scale * terms["prior"].sum()
                + self.config.fit.shape_weight * frames * terms["shape"].sum()
                + stage.depth_weight * terms["depth"].sum() + terms["temporal"].sum())

    def frame_values(self, stage: Stage) -> dict[str, torch.Tensor]:
        """Per frame ``(T, …)``, at the current parameters: the pose (axis-angle), translation, joints, fitted
        keypoints, and the terms under ``stage`` — data (0 where missed), prior and its log-likelihood (NaN
        where missed or without a density), temporal."""
        with torch.no_grad():
            terms, sources = self.terms(stage)
            rotations = pose_rotations(self.params)
            log_prob = self.prior.fitted_log_prob(self.params["body_pose"][self.detected], rotations[self.detected])
        frames = len(self.detected)
        prior_loss = torch.full((frames,), float("nan"))
        prior_log_prob = prior_loss.clone()
        prior_loss[self.detected] = terms["prior"].float()
        if log_prob is not None:
            prior_log_prob[self.detected] = log_prob.float()
        return {
            "global_orient": rot6d_to_axis_angle(self.params["global_orient"]),
            "body_pose": self.params["body_pose"],
            "transl": self.params["transl"],
            "joints": sources[:, :24],
            "keypoints_2d": project_points(torch.einsum("ks,bsc->bkc", self.matrix, sources), self.focal, self.centre),
            "data_loss": torch.where(self.detected, terms["data"], torch.zeros(())),
            "prior_loss": prior_loss,
            "prior_log_prob": prior_log_prob,
            "temporal_loss": terms["temporal"],
        }

    def run_stage(self, stage: Stage) -> None:
        names = [n for n in ("transl", "global_orient", "body_pose", "betas") if n in stage.parameters]
        if not self.fit_betas and "betas" in names:
            names.remove("betas")
        if stage.iterations == 0 or not names:
            return
        free = (~self.fixed).to(self.depth0.dtype)[:, None]
        leaves = []
        for n in names:
            self.params[n] = self.params[n].detach().requires_grad_(True)
            if n != "betas" and bool(self.fixed.any()):
                self.params[n].register_hook(lambda grad: grad * free)
            leaves.append(self.params[n])
        if self.config.fit.optimizer == "lbfgs":
            optimiser = torch.optim.LBFGS(leaves, lr=self.config.fit.learning_rate, max_iter=stage.iterations,
                                          line_search_fn="strong_wolfe")
        else:
            optimiser = Adam(leaves, lr=self.config.fit.learning_rate)

        def closure():
            optimiser.zero_grad()
            loss = self.objective(stage, self.terms(stage)[0])
            loss.backward()
            return loss

        if self.config.fit.optimizer == "lbfgs":
            optimiser.step(closure)
        else:
            for _ in range(stage.iterations):
                optimiser.step(closure)
        self.params = {n: p.detach() for n, p in self.params.items()}


def _start_translation(body: KeypointBody, keypoints: torch.Tensor, detected: torch.Tensor, keypoint_format: str,
                       focal: float, centre: tuple[float, float], start: TrackStart, hip_weight: float) -> torch.Tensor:
    """``(T, 3)`` initial translations: similar triangles on the torso keypoints of the detected frames
    (all keypoints where fewer than 3 torso ones are seen), interpolated over the missed ones."""
    frames = len(keypoints)
    rotations = torch.cat([axis_angle_to_matrix(start.global_orient)[:, None],
                           axis_angle_to_matrix(start.body_pose.reshape(frames, 23, 3))], dim=1)
    with torch.no_grad():
        sources = body(rotations, start.betas.reshape(1, -1).expand(frames, -1), torch.zeros(frames, 3))
    points = torch.einsum("ks,bsc->bkc", body.keypoint_matrix(keypoint_format), sources)
    torso = keypoint_weights(keypoint_format, hip_weight, torso_only=True) > 0
    seen = keypoints[..., 2] > 0
    mask = torso & seen
    mask = torch.where((mask.sum(1, keepdim=True) >= 3), mask, seen)
    transl = estimate_translation(points, keypoints, torch.full((frames,), float(focal)),
                                  torch.tensor(centre, dtype=keypoints.dtype).expand(frames, 2), mask)
    return torch.from_numpy(_interpolate(transl.numpy(), detected.numpy()))


def _windows(frames: int, window: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """``(start, stop, fixed_until, keep_until)`` per window: frames ``[start, stop)`` are fitted, those before
    ``fixed_until`` are held (kept from the window before), those before ``keep_until`` are kept."""
    if frames <= window:
        return [(0, frames, 0, frames)]
    half = overlap // 2
    spans, start, fixed = [], 0, 0
    while True:
        stop = min(start + window, frames)
        keep = frames if stop == frames else stop - half
        spans.append((start, stop, fixed, keep))
        if stop == frames:
            return spans
        start, fixed = keep - half, keep


def fit_track(
    body: KeypointBody,
    keypoints: torch.Tensor,
    detected: torch.Tensor,
    keypoint_format: str,
    focal: float,
    principal_point: tuple[float, float],
    start: TrackStart,
    prior_of: Callable[[np.ndarray], FittingPrior | None] | None = None,
    config: SequenceConfig | None = None,
    progress: Callable[[int], object] | None = None,
) -> TrackFit:
    """Fit one track (see the module docstring).

    Args:
        body: the reduced body model (CPU).
        keypoints: ``(T, K, 3)`` ``(u, v, confidence)`` pixels; rows of missed frames are ignored.
        detected: ``(T,)`` bool, the frames with keypoints; the first and last must be True.
        keypoint_format: ``'coco17'`` or ``'body25'``.
        focal: pixels; principal_point: ``(cx, cy)`` pixels (one camera for the clip).
        start: initial values of every frame (:class:`TrackStart`; missed frames e.g. by :func:`fill_missed`).
        prior_of: ``frames -> prior``: the prior of the detected frames ``frames`` (indices into the
            track, ascending), a :class:`~hmr_flow.prior.FittingPrior` scoring one body per frame in that
            order (e.g. the conditional model's likelihood given each frame's keypoints); ``None``: no prior.
        config: :class:`SequenceConfig`.
        progress: called with the number of frames done after each window (e.g. a tqdm bar's ``update``).

    Returns:
        :class:`TrackFit`.
    """
    config = config or SequenceConfig()
    keypoints = torch.as_tensor(keypoints, dtype=torch.float32)
    detected = torch.as_tensor(detected, dtype=torch.bool)
    frames = len(keypoints)
    if keypoints.dim() != 3 or keypoints.shape[-1] != 3 or detected.shape != (frames,):
        raise ValueError(f"keypoints (T, K, 3) and detected (T,) expected, got {tuple(keypoints.shape)} and "
                         f"{tuple(detected.shape)}")
    if frames == 0 or not (detected[0] and detected[-1]):
        raise ValueError("a track starts and ends on a detected frame")
    keypoints = torch.where(detected[:, None, None], keypoints, torch.zeros(()))
    transl = _start_translation(body, keypoints, detected, keypoint_format, focal, principal_point, start,
                                config.fit.hip_weight)
    kept: dict[str, list[torch.Tensor]] = {}
    betas = start.betas.float().clone()
    for begin, stop, fixed_until, keep in _windows(frames, config.window, config.overlap):
        part, held = slice(begin, stop), fixed_until - begin
        window_start = TrackStart(start.global_orient[part].clone(), start.body_pose[part].clone(), betas)
        window_transl = transl[part].clone()
        if held:  # the held frames start (and stay) where the previous window left them
            for name, values in (("global_orient", window_start.global_orient), ("body_pose", window_start.body_pose),
                                 ("transl", window_transl)):
                values[:held] = kept[name][-1][-held:]  # the previous window kept frames up to fixed_until
        seen = detected[part]
        rows = np.flatnonzero(seen.numpy())
        prior = prior_of(rows + begin) if prior_of is not None and len(rows) else None
        problem = _WindowProblem(body, keypoints[part], seen, keypoint_format, focal, principal_point,
                                 NoPrior() if prior is None else prior, config, window_start, window_transl,
                                 torch.arange(begin, stop) < fixed_until, fit_betas=begin == 0)
        for stage in config.fit.stages:
            problem.run_stage(stage)
        for name, values in problem.frame_values(config.fit.stages[-1]).items():
            kept.setdefault(name, []).append(values[held : keep - begin])
        betas = problem.params["betas"][0]
        if progress is not None:
            progress(keep - fixed_until)
    out = {name: torch.cat(parts) for name, parts in kept.items()}
    return TrackFit(out["global_orient"], out["body_pose"], betas, out["transl"], out["joints"], out["keypoints_2d"],
                    out["data_loss"], out["prior_loss"], out["prior_log_prob"], out["temporal_loss"])


__all__ = ["ACCELERATION_SIGMA", "SEQUENCE_HYPOTHESES", "SEQUENCE_ITERATIONS", "SequenceConfig", "TrackFit", "TrackStart", "acceleration", "fill_missed",
           "fit_track", "interpolate_rotations", "temporal_loss"]
