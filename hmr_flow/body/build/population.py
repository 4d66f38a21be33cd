"""Sampling a plausible adult population in MakeHuman's macro space and turning it into target weights.

Population (documented in the model file's ``meta_json``):
- sex 50/50; MakeHuman ``gender`` uniform in [0, 0.2] (female) or [0.8, 1] (male);
- age uniform in 18–70 years (MakeHuman maps 11 y → 0.1875, 25 y → 0.5, 90 y → 1.0, linearly between);
- muscle ~ N(0.5, 0.15), weight ~ N(0.5, 0.18), height ~ N(0.5, 0.08), proportions ~ N(0.6, 0.2),
  each clipped to [0, 1];
- ethnic blend (african, asian, caucasian) ~ Dirichlet(1, 1, 1).

Each macro target's weight is the product of the weights of the macro tokens in its file name
(MakeHuman's blending: e.g. ``female-young-maxmuscle-minweight`` gets
``w_female · w_young · w_maxmuscle · w_minweight``).
"""

from __future__ import annotations

import numpy as np


def age_years_to_macro(years: np.ndarray) -> np.ndarray:
    """Age in years → MakeHuman age value in [0, 1] (for years ≥ 11)."""
    years = np.asarray(years, dtype=np.float64)
    young = 0.1875 + (years - 11.0) / (25.0 - 11.0) * (0.5 - 0.1875)
    old = 0.5 + (years - 25.0) / (90.0 - 25.0) * 0.5
    return np.where(years < 25.0, young, old)


def sample_macros(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sample ``n`` adults: scalar macros ``(n,)`` and ``race`` ``(n, 3)`` (african, asian, caucasian)."""
    male = rng.random(n) < 0.5
    offset = rng.uniform(0.0, 0.2, n)
    clip = lambda x: np.clip(x, 0.0, 1.0)  # noqa: E731
    return {
        "gender": np.where(male, 1.0 - offset, offset),
        "age": age_years_to_macro(rng.uniform(18.0, 70.0, n)),
        "muscle": clip(rng.normal(0.5, 0.15, n)),
        "weight": clip(rng.normal(0.5, 0.18, n)),
        "height": clip(rng.normal(0.5, 0.08, n)),
        "proportions": clip(rng.normal(0.6, 0.2, n)),
        "race": rng.dirichlet(np.ones(3), n),
    }


def _three_level(value: np.ndarray, low: str, mid: str, high: str) -> dict[str, np.ndarray]:
    below = np.maximum(0.0, 1.0 - 2.0 * value)
    above = np.maximum(0.0, 2.0 * value - 1.0)
    return {low: below, mid: 1.0 - below - above, high: above}


def token_weights(macros: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-sample weight ``(n,)`` of every macro token (MakeHuman's piecewise-linear blending)."""
    age = macros["age"]
    young_side = age < 0.5
    baby = np.where(young_side, np.maximum(0.0, 1.0 - 5.333 * age), 0.0)
    young = np.where(young_side, np.maximum(0.0, (age - 0.1875) * 3.2), 1.0 - np.maximum(0.0, 2.0 * age - 1.0))
    child = np.where(young_side, np.maximum(0.0, np.minimum(1.0, 5.333 * age) - young), 0.0)
    old = np.where(young_side, 0.0, np.maximum(0.0, 2.0 * age - 1.0))
    weights = {
        "female": 1.0 - macros["gender"],
        "male": macros["gender"],
        "baby": baby,
        "child": child,
        "young": young,
        "old": old,
        "african": macros["race"][:, 0],
        "asian": macros["race"][:, 1],
        "caucasian": macros["race"][:, 2],
    }
    weights |= _three_level(macros["muscle"], "minmuscle", "averagemuscle", "maxmuscle")
    weights |= _three_level(macros["weight"], "minweight", "averageweight", "maxweight")
    height = _three_level(macros["height"], "minheight", "", "maxheight")
    proportions = _three_level(macros["proportions"], "uncommonproportions", "", "idealproportions")
    weights |= {k: v for k, v in (height | proportions).items() if k}
    return weights


def target_weight_matrix(target_tokens: list[tuple[str, ...]], weights: dict[str, np.ndarray]) -> np.ndarray:
    """``(n, T)`` blend weight of each of the ``T`` targets (product of its tokens' weights)."""
    return np.stack([np.prod([weights[t] for t in tokens], axis=0) for tokens in target_tokens], axis=1)
