"""The staged optimisation schedule and the fit's settings (:class:`FitConfig`): the one place of the fit's
defaults, read by :func:`~hmr_flow.fitting.fit_people`, :class:`~hmr_flow.fitting.FitOptions` and
``hmr-flow fit`` alike — :data:`DEFAULT_ITERATIONS` optimiser steps, :data:`DEFAULT_HYPOTHESES` hypotheses
per person, prior samples at :data:`SAMPLE_TEMPERATURE`, the optimiser's step size from
:data:`LEARNING_RATES`.

Schedule (SMPLify-like, :data:`SMPLIFY_STAGES` in its proportions, :data:`DEFAULT_STAGES` scaled to
:data:`DEFAULT_ITERATIONS`):

1. ``camera``: camera translation and global orientation only, from the torso keypoints
   (shoulders, hips, and BODY_25 neck/mid-hip), with the depth anchored to its similar-triangles
   estimate; pose and shape stay at their initial values. In :data:`DEFAULT_STAGES` only the best
   :data:`DEFAULT_KEEP` hypothesis of each person goes on from here (:attr:`Stage.keep`).
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
        keep: after this stage, only the ``keep`` hypotheses of each person with the lowest objective are
            optimised further (the others keep their parameters and take no more steps); ``None``: all.
    """

    name: str
    iterations: int
    parameters: tuple[str, ...]
    torso_only: bool = False
    prior_scale: float = 1.0
    depth_weight: float = 0.0
    keep: int | None = None

    def __post_init__(self):
        unknown = set(self.parameters) - set(PARAMETERS)
        if unknown:
            raise ValueError(f"Stage {self.name!r}: unknown parameters {sorted(unknown)} (choose from {PARAMETERS})")
        if self.iterations < 0:
            raise ValueError(f"Stage {self.name!r}: iterations must be ≥ 0")
        if self.keep is not None and self.keep < 1:
            raise ValueError(f"Stage {self.name!r}: keep must be ≥ 1 (or None: every hypothesis)")


#: The SMPLify-like schedule at its full length (300 steps): the proportions of :data:`DEFAULT_STAGES`.
SMPLIFY_STAGES: tuple[Stage, ...] = (
    Stage("camera", 60, ("transl", "global_orient"), torso_only=True, depth_weight=100.0),
    Stage("body", 120, PARAMETERS, prior_scale=4.0),
    Stage("refine", 120, PARAMETERS),
)
#: Optimiser steps of a fit. With 4 hypotheses per person, 60 steps fit as well as 300
#: (bench/fit_command.py, 96 validation persons: PA-MPJPE 100.4 vs 100.7 mm) at twice the speed.
DEFAULT_ITERATIONS = 60
#: Initial hypotheses per person (the best fit is kept).
DEFAULT_HYPOTHESES = 4
#: Temperature of the prior samples among the initial hypotheses (the third and later).
SAMPLE_TEMPERATURE = 0.5
#: Step size of each optimiser: Adam's learning rate; LBFGS's strong-Wolfe line search scales the step itself.
LEARNING_RATES: dict[str, float] = {"adam": 0.02, "lbfgs": 1.0}


def scaled_stages(stages: tuple[Stage, ...], iterations: int) -> tuple[Stage, ...]:
    """``stages`` with ``iterations`` optimiser steps in all, shared in their proportions (each stage keeps
    at least one step)."""
    if iterations < len(stages):
        raise ValueError(f"iterations: expected at least {len(stages)} (one per stage), got {iterations}")
    scale = iterations / sum(stage.iterations for stage in stages)
    return tuple(replace(s, iterations=max(1, round(s.iterations * scale))) for s in stages)


#: Hypotheses per person that the default schedule optimises past its camera stage (the one with the lowest
#: objective then). The body and refine stages are most of a fit's cost, so this makes the default fit 2.5× less
#: work; the fit is as good (bench/fit_command.py, 96 validation persons, 60 steps × 4 hypotheses: PA-MPJPE 76.9
#: vs 76.4 mm with the conditional prior, 102.1 vs 101.6 mm with the flow prior; keeping 2 after the camera stage
#: 77.3 / 101.3, keeping 1 after the body stage instead 77.1 / 104.2).
DEFAULT_KEEP = 1
#: The default schedule: :data:`SMPLIFY_STAGES` in :data:`DEFAULT_ITERATIONS` steps (12 / 24 / 24), only the best
#: :data:`DEFAULT_KEEP` hypothesis of each person optimised past the camera stage.
DEFAULT_STAGES: tuple[Stage, ...] = tuple(
    replace(stage, keep=DEFAULT_KEEP) if stage.name == "camera" else stage
    for stage in scaled_stages(SMPLIFY_STAGES, DEFAULT_ITERATIONS)
)


@dataclass(frozen=True)
class FitConfig:
    """Weights, optimiser settings and hypotheses of a fit.

    Attributes:
        stages: the schedule (default :data:`DEFAULT_STAGES`).
        robust_sigma: Geman–McClure scale, as a fraction of the person size.
        noise_sigma: assumed keypoint noise, fraction of the person size (data weight 1/(2σ²)).
        prior_weight: weight of the pose prior's loss; ``None`` = the prior's own ``fit_weight``.
        shape_weight: weight of ``‖β‖²``.
        hip_weight: weight of the hip keypoints (SMPL hips sit inside the pelvis: down-weighted).
        optimizer: ``'adam'`` (default: per-parameter steps suit a batch of independent problems)
            or ``'lbfgs'`` (strong-Wolfe line search on the summed objective).
        learning_rate: Adam learning rate / LBFGS step size; ``None`` = the optimizer's own
            (:data:`LEARNING_RATES`: 0.02 for Adam, 1 for LBFGS), filled in on creation.
        num_hypotheses: initial hypotheses per person when the fit makes its own (:data:`DEFAULT_HYPOTHESES`).
        sample_temperature: temperature of the prior samples among them (:data:`SAMPLE_TEMPERATURE`).
    """

    stages: tuple[Stage, ...] = field(default=DEFAULT_STAGES)
    robust_sigma: float = 0.1
    noise_sigma: float = 0.02
    prior_weight: float | None = None
    shape_weight: float = 5.0
    hip_weight: float = 0.3
    optimizer: str = "adam"
    learning_rate: float | None = None
    num_hypotheses: int = DEFAULT_HYPOTHESES
    sample_temperature: float = SAMPLE_TEMPERATURE

    def __post_init__(self):
        if self.optimizer not in LEARNING_RATES:
            raise ValueError(f"optimizer: expected one of {', '.join(map(repr, LEARNING_RATES))}, got {self.optimizer!r}")
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", LEARNING_RATES[self.optimizer])
        for name in ("robust_sigma", "noise_sigma", "learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be positive")
        if self.num_hypotheses < 1:
            raise ValueError(f"num_hypotheses: expected ≥ 1, got {self.num_hypotheses}")
        if not 0.0 <= self.sample_temperature < float("inf"):
            raise ValueError(f"sample_temperature: expected a finite number ≥ 0, got {self.sample_temperature}")


def scaled_config(iterations: int, config: FitConfig | None = None) -> FitConfig:
    """``config`` (default :class:`FitConfig`) with ``iterations`` optimiser steps in all, shared between
    its stages in their proportions (:func:`scaled_stages`): quicker or longer fits."""
    config = config or FitConfig()
    return replace(config, stages=scaled_stages(config.stages, iterations))
