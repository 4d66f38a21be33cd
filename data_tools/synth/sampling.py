"""Random scene parameters for one synthetic image: orientation, shape, camera, lights, occluders.

All geometry is in the OpenCV camera frame (x right, y down, z forward, metres). Each image draws
from its own generator ``np.random.default_rng([seed, index])``, so an image depends only on the
seed and its index — never on the number of worker processes or the order they run in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class SceneConfig:
    """Ranges of the random draws (stored in the manifest for provenance).

    Angles in degrees, distances in metres; ``fill`` is the silhouette's longer side over the crop side.
    """

    pitch_std: float = 8.0
    pitch_max: float = 25.0
    roll_std: float = 4.0
    roll_max: float = 12.0
    fov_range: tuple[float, float] = (12.0, 60.0)
    fill_range: tuple[float, float] = (0.55, 0.95)
    truncation_prob: float = 0.1
    truncated_fill_range: tuple[float, float] = (1.0, 1.35)
    betas_std: float = 1.0
    betas_max: float = 3.0
    occluder_prob: float = 0.25
    noise_std_max: float = 3.0

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PoseItem:
    """One image to render: its ``index`` in the set and a mocap frame (``global_orient (3,)`` in
    the Y-up world, ``body_pose (69,)``, subject, clip id and row ``frame`` of the pose file)."""

    index: int
    global_orient: np.ndarray
    body_pose: np.ndarray
    subject: int
    clip: int
    frame: int


@dataclass(frozen=True)
class Light:
    """A directional light: unit ``direction`` it shines along (camera frame), RGB ``colour``, ``intensity``."""

    direction: np.ndarray
    colour: np.ndarray
    intensity: float


@dataclass(frozen=True)
class Occluder:
    """A box (``kind='box'``, ``size`` = extents) or cylinder (``size`` = radius, height, radius),
    posed by ``rotation (3, 3)`` about its centre; ``target`` = fraction of the way from the camera
    to a random body vertex where the centre sits; RGB ``colour`` 0–1."""

    kind: str
    size: np.ndarray
    rotation: np.ndarray
    target: float
    colour: np.ndarray


def camera_rotation(rng: np.random.Generator, config: SceneConfig) -> np.ndarray:
    """``(3, 3)`` world (Y up) → camera: random yaw about the vertical (full turn), small camera
    pitch and roll, then the 180° turn about X that makes a Y-up body stand upright in the image."""
    yaw = rng.uniform(0.0, 360.0)
    pitch = float(np.clip(rng.normal(0.0, config.pitch_std), -config.pitch_max, config.pitch_max))
    roll = float(np.clip(rng.normal(0.0, config.roll_std), -config.roll_max, config.roll_max))
    world_to_view = Rotation.from_euler("ZXY", [roll, pitch, yaw], degrees=True).as_matrix()
    return np.diag([1.0, -1.0, -1.0]) @ world_to_view


def sample_betas(rng: np.random.Generator, config: SceneConfig, num_betas: int = 10) -> np.ndarray:
    return np.clip(rng.normal(0.0, config.betas_std, num_betas), -config.betas_max, config.betas_max)


def sample_focal_and_fill(rng: np.random.Generator, config: SceneConfig, size: int) -> tuple[float, float, np.ndarray]:
    """``(focal_px, fill, centre_offset_px (2,))`` for an ``S``-pixel crop."""
    fov = np.deg2rad(rng.uniform(*config.fov_range))
    focal = 0.5 * size / np.tan(0.5 * fov)
    truncated = rng.random() < config.truncation_prob
    fill = rng.uniform(*(config.truncated_fill_range if truncated else config.fill_range))
    slack = max(1.0 - fill, 0.15 if truncated else 0.0)
    offset = rng.uniform(-0.5, 0.5, 2) * slack * size
    return float(focal), float(fill), offset


def place_body(vertices: np.ndarray, focal: float, size: int, fill: float, offset: np.ndarray, iterations: int = 4) -> np.ndarray:
    """Translation ``(3,)`` putting ``vertices (V, 3)`` (camera-oriented, any origin) in front of the
    camera so that their projected bounding box has longer side ``fill · S`` and centre
    ``(S/2, S/2) + offset`` (a few fixed-point steps; perspective makes the first guess inexact)."""
    centre = 0.5 * (vertices.min(0) + vertices.max(0))
    extent = float(np.ptp(vertices[:, :2], axis=0).max())
    depth = focal * extent / (fill * size) + 0.5 * float(np.ptp(vertices[:, 2]))
    t = np.array([-centre[0], -centre[1], depth - centre[2]])
    target = np.full(2, size / 2.0) + offset
    for _ in range(iterations):
        p = vertices + t
        uv = p[:, :2] / p[:, 2:3] * focal + size / 2.0
        lo, hi = uv.min(0), uv.max(0)
        side = float((hi - lo).max())
        z_ref = float(np.median(p[:, 2]))
        new_z = z_ref * side / (fill * size)
        t[2] += new_z - z_ref
        t[:2] += (target - 0.5 * (lo + hi)) * new_z / focal
    return t


def sample_lights(rng: np.random.Generator) -> tuple[np.ndarray, list[Light]]:
    """Ambient RGB (0–1) and 1–3 directional lights coming from the camera's side of the body."""
    tint = rng.uniform(0.85, 1.0, 3)
    ambient = rng.uniform(0.12, 0.5) * tint
    lights = []
    for _ in range(int(rng.integers(1, 4))):
        direction = rng.normal(size=3)
        direction[2] = abs(direction[2]) + 0.3  # mostly shining away from the camera, onto the body
        direction /= np.linalg.norm(direction)
        warm = rng.uniform(-0.15, 0.15)
        colour = np.clip(np.array([1.0 + warm, 1.0, 1.0 - warm]), 0, 1)
        lights.append(Light(direction, colour, float(rng.uniform(1.0, 4.5))))
    return ambient, lights


def sample_occluders(rng: np.random.Generator, config: SceneConfig, body_height: float) -> list[Occluder]:
    """None (most images) or 1–2 boxes/cylinders sized relative to the body's height (metres)."""
    if rng.random() >= config.occluder_prob:
        return []
    out = []
    for _ in range(int(rng.integers(1, 3))):
        kind = str(rng.choice(["box", "cylinder"]))
        a, b = rng.uniform(0.12, 0.45, 2) * body_height
        size = np.array([a, b, rng.uniform(0.05, 0.3)]) if kind == "box" else np.array([0.25 * a, b, 0.25 * a])
        if rng.random() < 0.5:
            rotation = Rotation.random(random_state=rng).as_matrix()
        else:  # upright-ish (posts, tables, signs)
            rotation = Rotation.from_euler("z", rng.uniform(-40, 40), degrees=True).as_matrix()
        out.append(Occluder(kind, size, rotation, float(rng.uniform(0.55, 0.85)), rng.uniform(0.05, 0.95, 3)))
    return out
