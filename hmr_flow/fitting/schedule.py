"""The staged optimisation schedule and the fit's weights (:class:`FitConfig`).

Default schedule (SMPLify-like):

1. ``camera``: camera translation and global orientation only, from the torso keypoints
   (shoulders, hips, and BODY_25 neck/mid-hip), with the depth anchored to its similar-triangles
   estimate; pose and shape stay at their initial values.
2. ``body``: everything, all keypoints, a strong pose prior (4× the final weight).
3. ``refine``: everything, the final prior weight.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

PARAMETERS = ("transl", "global_orient", "body_pose", "betas")


@dataclass(frozen=True)
class Stage:
    """One optimisation stage.

    Attributes:
        name: label for progress output.
        iterations: Adam steps (or LBFGS iterations).
        parameters: which of ``transl``, ``global_orient``, ``body_pose``, ``betas`` move.
        torso_only: use only the torso keypoints.
        prior_scale: multiplies :attr:`FitConfig.prior_weight`.
        depth_weight: weight of the camera-depth anchor (m⁻²).
    """

    name: str
    iterations: int
    parameters: tuple[str, ...]
    torso_only: bool = False
    prior_scale: float = 1.0
    depth_weight: float = 0.0

    def __post_init__(self):
        unknown = set(self.parameters) - set(PARAMETERS)
        if unknown:
            raise ValueError(f"Stage {self.name!r}: unknown parameters {sorted(unknown)} (choose from {PARAMETERS})")
        if self.iterations < 0:
            raise ValueError(f"Stage {self.name!r}: iterations must be ≥ 0")


DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage("camera", 60, ("transl", "global_orient"), torso_only=True, depth_weight=100.0),
    Stage("body", 120, PARAMETERS, prior_scale=4.0),
    Stage("refine", 120, PARAMETERS),
)


@dataclass(frozen=True)
class FitConfig:
    """Weights and optimiser settings.

    Attributes:
        stages: the schedule.
        robust_sigma: Geman–McClure scale, as a fraction of the person size.
        noise_sigma: assumed keypoint noise, fraction of the person size (data weight 1/(2σ²)).
        prior_weight: weight of the pose prior's loss; ``None`` = the prior's own ``fit_weight``.
        shape_weight: weight of ``‖β‖²``.
        hip_weight: weight of the hip keypoints (SMPL hips sit inside the pelvis: down-weighted).
        optimizer: ``'adam'`` (default: per-parameter steps suit a batch of independent problems)
            or ``'lbfgs'`` (strong-Wolfe line search on the summed objective; use ``learning_rate=1``).
        learning_rate: Adam learning rate / LBFGS step size.
    """

    stages: tuple[Stage, ...] = field(default=DEFAULT_STAGES)
    robust_sigma: float = 0.1
    noise_sigma: float = 0.02
    prior_weight: float | None = None
    shape_weight: float = 5.0
    hip_weight: float = 0.3
    optimizer: str = "adam"
    learning_rate: float = 0.02

    def __post_init__(self):
        if self.optimizer not in ("lbfgs", "adam"):
            raise ValueError(f"optimizer: expected 'lbfgs' or 'adam', got {self.optimizer!r}")
        for name in ("robust_sigma", "noise_sigma", "learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be positive")


def scaled_config(iterations: int, config: FitConfig | None = None) -> FitConfig:
    """``config`` (default :class:`FitConfig`) with ``iterations`` optimiser steps in all, shared between
    its stages in their proportions (each stage keeps at least one step): quicker or longer fits."""
    config = config or FitConfig()
    if iterations < len(config.stages):
        raise ValueError(f"iterations: expected at least {len(config.stages)} (one per stage), got {iterations}")
    scale = iterations / sum(stage.iterations for stage in config.stages)
    stages = tuple(replace(s, iterations=max(1, round(s.iterations * scale))) for s in config.stages)
    return replace(config, stages=stages)
