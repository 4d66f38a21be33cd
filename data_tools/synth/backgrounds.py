"""Random backgrounds: procedural textures and crops of public-domain/CC0 photographs that ship
inside scikit-image (no download).

Photographs used (from ``skimage.data``; licences as stated in scikit-image's docstrings). Images
that show people (``astronaut``, ``camera``) are deliberately excluded: an unlabelled person in the
background would contradict the keypoint labels.

==================== =====================================================================
name                  licence
==================== =====================================================================
brick, grass, gravel  CC0 (cc0textures.com)
coffee                CC0 (photographer Rachel Michetti, courtesy of Pikolo Espresso Bar)
chelsea               CC0 (photographer Stefan van der Walt)
rocket                public domain (SpaceX)
hubble_deep_field     public domain (NASA)
retina                CC0 1.0 (Wikimedia Commons)
coins                 no known copyright restrictions (Brooklyn Museum)
immunohistochemistry  no known copyright restrictions
text                  no known copyright restrictions, public domain
==================== =====================================================================
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

PHOTO_NAMES: tuple[str, ...] = (
    "brick", "grass", "gravel", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina", "coins",
    "immunohistochemistry", "text",
)
PHOTO_LICENCES: dict[str, str] = {
    "brick": "CC0", "grass": "CC0", "gravel": "CC0", "coffee": "CC0", "chelsea": "CC0",
    "rocket": "public domain (SpaceX)", "hubble_deep_field": "public domain (NASA)", "retina": "CC0 1.0",
    "coins": "no known copyright restrictions", "immunohistochemistry": "no known copyright restrictions",
    "text": "public domain",
}

#: Background kinds and their probabilities.
KINDS: dict[str, float] = {"photo": 0.45, "noise": 0.2, "pattern": 0.15, "clutter": 0.2}


@lru_cache(maxsize=None)
def _photos() -> tuple[np.ndarray, ...]:
    """The photographs as ``(H, W, 3)`` uint8 RGB (greyscale ones replicated to RGB)."""
    import skimage.data

    out = []
    for name in PHOTO_NAMES:
        image = np.asarray(getattr(skimage.data, name)())
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        if image.dtype != np.uint8:
            image = (255 * (image - image.min()) / max(np.ptp(image), 1e-9)).astype(np.uint8)
        out.append(np.ascontiguousarray(image[..., :3]))
    return tuple(out)


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, 3)


def _photo(rng: np.random.Generator, size: int) -> np.ndarray:
    photos = _photos()
    image = photos[rng.integers(len(photos))]
    h, w = image.shape[:2]
    side = int(rng.uniform(0.25, 1.0) * min(h, w))
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crop = cv2.resize(image[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    crop = crop * rng.uniform(0.6, 1.3, 3) + rng.uniform(-30, 30)  # per-channel gain, offset
    return crop


def _value_noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """``(S, S)`` multi-octave value noise in [0, 1]."""
    total = np.zeros((size, size), np.float32)
    amplitude, cells = 1.0, int(rng.integers(2, 5))
    for _ in range(4):
        grid = rng.random((cells, cells)).astype(np.float32)
        total += amplitude * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
        amplitude, cells = amplitude * 0.5, cells * 2
    total -= total.min()
    return total / max(float(total.max()), 1e-6)


def _noise(rng: np.random.Generator, size: int) -> np.ndarray:
    field = _value_noise(rng, size)[..., None]
    a, b = _random_colour(rng), _random_colour(rng)
    return a * (1 - field) + b * field


def _pattern(rng: np.random.Generator, size: int) -> np.ndarray:
    v, u = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    s = u * np.cos(angle) + v * np.sin(angle)
    t = -u * np.sin(angle) + v * np.cos(angle)
    period = rng.uniform(4, size / 2)
    if rng.random() < 0.5:
        mask = (np.sin(2 * np.pi * s / period) > 0).astype(np.float32)
    else:
        mask = ((np.floor(s / period) + np.floor(t / period)) % 2).astype(np.float32)
    mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.3, 1.5))[..., None]
    return _random_colour(rng) * (1 - mask) + _random_colour(rng) * mask


def _clutter(rng: np.random.Generator, size: int) -> np.ndarray:
    v, u = np.mgrid[0:size, 0:size].astype(np.float32) / size
    g = (u * rng.normal() + v * rng.normal())[..., None]
    g = (g - g.min()) / max(float(np.ptp(g)), 1e-6)
    image = np.ascontiguousarray(_random_colour(rng) * (1 - g) + _random_colour(rng) * g)
    for _ in range(int(rng.integers(3, 12))):
        colour = tuple(float(c) for c in _random_colour(rng))
        p = rng.integers(-size // 4, size + size // 4, 2)
        r = rng.integers(size // 16, size // 2, 2)
        shape = rng.integers(3)
        if shape == 0:
            cv2.rectangle(image, (int(p[0]), int(p[1])), (int(p[0] + r[0]), int(p[1] + r[1])), colour, -1)
        elif shape == 1:
            cv2.ellipse(image, (int(p[0]), int(p[1])), (int(r[0]), int(r[1])), float(rng.uniform(0, 180)), 0, 360, colour, -1)
        else:
            q = rng.integers(0, size, 2)
            cv2.line(image, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), colour, int(rng.integers(1, max(2, size // 20))))
    return image


_MAKERS = {"photo": _photo, "noise": _noise, "pattern": _pattern, "clutter": _clutter}


def random_background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, str]:
    """A random ``(S, S, 3)`` uint8 RGB background and its kind (a key of :data:`KINDS`).

    A slight blur (out-of-focus background) is applied with probability 0.5.
    """
    kind = str(rng.choice(list(KINDS), p=list(KINDS.values())))
    image = _MAKERS[kind](rng, size)
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(np.ascontiguousarray(image, dtype=np.float32), (0, 0), rng.uniform(0.5, 2.0))
    return np.clip(image, 0, 255).round().astype(np.uint8), kind
