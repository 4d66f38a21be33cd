"""Clothing-like per-vertex colours: skin, hair, top, trousers and shoes regions from the skinning weights.

Regions are decided on the **rest (T-pose) template**, where arms lie along ±x and legs along −y, so
sleeve and trouser lengths are plain coordinate thresholds. Each vertex's body part is its dominant
skinning joint (``argmax`` over the ``(V, 24)`` weights). Patterns (stripes, checks, blotches) are
functions of rest-pose coordinates, so they stay attached to the body when it is posed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmr_flow.body import JOINT_NAMES

_J = {name: i for i, name in enumerate(JOINT_NAMES)}
_TORSO = ("pelvis", "spine1", "spine2", "spine3", "left_collar", "right_collar")
_ARM = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow")
_LEG = ("left_hip", "right_hip", "left_knee", "right_knee")
_FOOT = ("left_ankle", "right_ankle", "left_foot", "right_foot")
_HEAD = ("head",)

#: Skin tones (sRGB 0–1), from light to dark; each draw is jittered.
SKIN_TONES = np.array([
    [0.96, 0.80, 0.69], [0.91, 0.72, 0.60], [0.84, 0.63, 0.50], [0.76, 0.55, 0.42],
    [0.64, 0.45, 0.33], [0.53, 0.36, 0.25], [0.42, 0.28, 0.19], [0.31, 0.21, 0.15],
])
HAIR_COLOURS = np.array([
    [0.08, 0.06, 0.05], [0.22, 0.14, 0.08], [0.40, 0.26, 0.14], [0.70, 0.55, 0.32],
    [0.55, 0.25, 0.12], [0.60, 0.60, 0.60], [0.90, 0.88, 0.82],
])

REGIONS = ("skin", "hair", "top", "bottom", "shoes")


@dataclass(frozen=True)
class BodyRegions:
    """Per-vertex facts of the template needed to dress it.

    Attributes:
        part: ``(V,)`` dominant skinning joint. rest: ``(V, 3)`` rest vertices (metres, Y up, +Z front).
        joints: ``(24, 3)`` rest joints.
    """

    part: np.ndarray
    rest: np.ndarray
    joints: np.ndarray

    @classmethod
    def from_model(cls, weights: np.ndarray, rest_vertices: np.ndarray, rest_joints: np.ndarray) -> "BodyRegions":
        if weights.ndim != 2 or weights.shape != (rest_vertices.shape[0], len(JOINT_NAMES)):
            raise ValueError(f"weights: expected ({rest_vertices.shape[0]}, 24), got {weights.shape}")
        return cls(weights.argmax(1), np.asarray(rest_vertices, np.float64), np.asarray(rest_joints, np.float64))

    def in_parts(self, names: tuple[str, ...]) -> np.ndarray:
        return np.isin(self.part, [_J[n] for n in names])

    def labels(self, sleeve: float, trouser: float, waist: float, hairline: float | None) -> np.ndarray:
        """``(V,)`` index into :data:`REGIONS`.

        Args:
            sleeve: sleeve end as a fraction of the shoulder→wrist distance (0 sleeveless, 1 long).
            trouser: trouser end as a fraction of the hip→ankle drop (0.3 shorts, 1 long).
            waist: top/trousers boundary height relative to the pelvis joint, metres.
            hairline: hair covers head vertices above ``head_y + hairline`` and behind the face;
                ``None`` = bald.
        """
        x, y, z = self.rest.T
        j = self.joints
        labels = np.zeros(len(self.part), dtype=np.int64)  # skin
        shoulder_x, wrist_x = j[_J["left_shoulder"], 0], j[_J["left_wrist"], 0]
        arm = self.in_parts(_ARM) & (np.abs(x) < shoulder_x + sleeve * (wrist_x - shoulder_x))
        labels[self.in_parts(_TORSO) | arm] = REGIONS.index("top")
        hip_y, ankle_y = j[_J["left_hip"], 1], j[_J["left_ankle"], 1]
        legs = self.in_parts(_LEG) & (y > hip_y + trouser * (ankle_y - hip_y))
        below_waist = self.in_parts(("pelvis", "spine1")) & (y < j[_J["pelvis"], 1] + waist)
        labels[legs | below_waist] = REGIONS.index("bottom")
        labels[self.in_parts(_FOOT) & (y < ankle_y + 0.04)] = REGIONS.index("shoes")
        if hairline is not None:
            head = j[_J["head"]]
            hair = self.in_parts(_HEAD) & (y > head[1] + hairline) & ((z < head[2] + 0.02) | (y > head[1] + 0.09))
            labels[hair] = REGIONS.index("hair")
        return labels


def _random_cloth_colour(rng: np.random.Generator) -> np.ndarray:
    """Mix of neutral (grey/black/white/denim-ish) and saturated colours, sRGB 0–1."""
    if rng.random() < 0.35:
        grey = rng.uniform(0.05, 0.95)
        return np.clip(grey + rng.normal(0, 0.03, 3), 0, 1)
    hue, sat, val = rng.random(), rng.uniform(0.25, 0.95), rng.uniform(0.2, 0.95)
    k = (np.array([5.0, 3.0, 1.0]) + hue * 6.0) % 6.0
    return val - val * sat * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _pattern(rng: np.random.Generator, rest: np.ndarray, base: np.ndarray) -> np.ndarray:
    """``(V, 3)`` colours: plain, stripes, checks or blotches of ``base`` and a second colour."""
    kind = rng.choice(["plain", "stripes", "checks", "blotches"], p=[0.45, 0.25, 0.15, 0.15])
    if kind == "plain":
        return np.broadcast_to(base, rest.shape).copy()
    other = _random_cloth_colour(rng)
    period = rng.uniform(0.03, 0.12)
    if kind == "stripes":
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        mix = (np.sin(2 * np.pi * rest @ axis / period) > rng.uniform(-0.5, 0.5)).astype(float)
    elif kind == "checks":
        cells = np.floor(rest / period).astype(np.int64)
        mix = ((cells[:, 0] + cells[:, 1] + cells[:, 2]) % 2).astype(float)
    else:
        freqs = rng.normal(size=(4, 3)) / period
        phases = rng.uniform(0, 2 * np.pi, 4)
        mix = (np.sin(rest @ freqs.T + phases).sum(1) > 0.5).astype(float)
    return base * (1 - mix[:, None]) + other * mix[:, None]


def sample_vertex_colours(regions: BodyRegions, rng: np.random.Generator) -> np.ndarray:
    """Draw one outfit and return ``(V, 4)`` uint8 RGBA vertex colours (alpha 255)."""
    skin = np.clip(SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.92, 1.08) + rng.normal(0, 0.02, 3), 0, 1)
    labels = regions.labels(
        sleeve=float(rng.choice([0.0, rng.uniform(0.15, 0.45), 1.0], p=[0.15, 0.45, 0.40])),
        trouser=float(rng.choice([rng.uniform(0.3, 0.55), rng.uniform(0.7, 1.0)], p=[0.3, 0.7])),
        waist=float(rng.uniform(0.0, 0.12)),
        hairline=None if rng.random() < 0.15 else float(rng.uniform(-0.02, 0.05)),
    )
    colours = np.empty((len(labels), 3))
    colours[:] = skin
    colours[labels == REGIONS.index("hair")] = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))]
    for name in ("top", "bottom"):
        mask = labels == REGIONS.index(name)
        colours[mask] = _pattern(rng, regions.rest[mask], _random_cloth_colour(rng))
    colours[labels == REGIONS.index("shoes")] = rng.uniform(0.02, 0.6) * rng.uniform(0.7, 1.0, 3)
    colours *= rng.uniform(0.93, 1.0, (len(labels), 1))  # fabric/skin micro-variation
    rgba = np.full((len(labels), 4), 255, dtype=np.uint8)
    rgba[:, :3] = np.clip(colours * 255.0, 0, 255).round().astype(np.uint8)
    return rgba
