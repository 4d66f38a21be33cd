"""Training augmentation of synthetic samples, keeping every label exactly consistent with the image.

A *sample* is a dict of numpy arrays (crop side ``S``, principal point at the crop centre ``c``):
``image (S, S, 3) uint8``, ``silhouette``/``occluder (S, S) bool``, ``global_orient (3,)`` (camera
frame), ``body_pose (69,)``, ``betas (10,)``, ``transl (3,)``, ``focal ()``, ``joints3d (24, 3)``,
``keypoints2d (17, 2)``, ``visibility (17,)``, ``bbox (4,)`` — see :mod:`hmr_flow.data.synth_format`.

- **Horizontal flip** mirrors the camera frame's x axis. The mirrored person has the SMPL pose with
  left/right joints swapped and the y and z axis-angle components negated (global orientation
  included); 3D joints are mirrored and swapped; keypoints ``u → S − u`` and swapped with the COCO
  flip permutation; the translation becomes ``M·root − J0`` (``root`` = camera-frame pelvis,
  ``J0 = root − transl`` the rest pelvis, which the model rotates about).
- **Rotation/scale** about the principal point: an in-plane image rotation by ``a`` is exactly the
  camera rolling about its optical axis (``Rz(a)`` applied to the 3D scene), and a zoom by ``s``
  is the focal length times ``s``; translation becomes ``Rz·root − J0``.
- **Colour jitter**: brightness, contrast, saturation and per-channel gains (labels unchanged).

Pixel convention: pixel ``(i, j)`` covers ``[j, j+1) × [i, i+1)``; OpenCV's warp uses pixel centres
at integers, converted below.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hmr_flow.body import COCO17_FLIP_PERMUTATION, JOINT_FLIP_PERMUTATION
from hmr_flow.body.skeleton import mirror_pose

_MIRROR = np.array([-1.0, 1.0, 1.0])


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the training augmentation (degrees for angles)."""

    flip_prob: float = 0.5
    rotation_prob: float = 0.5
    rotation_std: float = 20.0
    rotation_max: float = 45.0
    scale_range: tuple[float, float] = (0.8, 1.2)
    colour_jitter: float = 0.3
    channel_gain: float = 0.15


def mask_bbox(mask: np.ndarray) -> np.ndarray:
    """``(4,)`` float32 ``x0, y0, x1, y1`` tight box of a ``(S, S)`` bool mask (``x1, y1`` exclusive);
    all zeros for an empty mask."""
    rows, cols = np.any(mask, axis=1), np.any(mask, axis=0)
    if not rows.any():
        return np.zeros(4, dtype=np.float32)
    r, c = np.nonzero(rows)[0], np.nonzero(cols)[0]
    return np.array([c[0], r[0], c[-1] + 1, r[-1] + 1], dtype=np.float32)


def _inside(keypoints2d: np.ndarray, size: int) -> np.ndarray:
    uv = np.floor(keypoints2d)
    return (uv >= 0).all(axis=1) & (uv < size).all(axis=1)


def flip_sample(sample: dict) -> dict:
    """Horizontally mirrored copy of ``sample`` (see the module docstring)."""
    size = sample["image"].shape[1]
    out = dict(sample)
    for key in ("image", "silhouette", "occluder"):
        out[key] = np.ascontiguousarray(sample[key][:, ::-1])
    pose = np.concatenate([sample["global_orient"], sample["body_pose"]]).reshape(24, 3)
    pose = mirror_pose(pose).astype(np.float32)
    out["global_orient"], out["body_pose"] = pose[0].copy(), pose[1:].reshape(-1).copy()
    root = sample["joints3d"][0].astype(np.float64)
    rest_root = root - sample["transl"]
    out["transl"] = (root * _MIRROR - rest_root).astype(np.float32)
    out["joints3d"] = (sample["joints3d"] * _MIRROR)[list(JOINT_FLIP_PERMUTATION)].astype(np.float32)
    kp = sample["keypoints2d"].copy()
    kp[:, 0] = size - kp[:, 0]
    out["keypoints2d"] = kp[list(COCO17_FLIP_PERMUTATION)]
    out["visibility"] = sample["visibility"][list(COCO17_FLIP_PERMUTATION)].copy()
    x0, y0, x1, y1 = sample["bbox"]
    out["bbox"] = np.array([size - x1, y0, size - x0, y1], dtype=np.float32) if x1 > x0 else sample["bbox"].copy()
    return out


def rotate_scale_sample(sample: dict, angle_deg: float, scale: float) -> dict:
    """Copy of ``sample`` rotated by ``angle_deg`` (clockwise on screen, i.e. +angle about the
    camera's z axis) and zoomed by ``scale`` about the crop centre."""
    if scale <= 0:
        raise ValueError(f"scale: expected > 0, got {scale}")
    size = sample["image"].shape[0]
    a = np.deg2rad(angle_deg)
    rot2 = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    rot3 = np.eye(3)
    rot3[:2, :2] = rot2
    centre_cv = np.full(2, (size - 1) / 2.0)  # the crop centre S/2 in OpenCV's pixel-centre coordinates
    warp = np.concatenate([scale * rot2, (centre_cv - scale * rot2 @ centre_cv)[:, None]], axis=1)
    out = dict(sample)
    out["image"] = cv2.warpAffine(sample["image"], warp, (size, size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    for key in ("silhouette", "occluder"):
        out[key] = cv2.warpAffine(sample[key].astype(np.uint8), warp, (size, size), flags=cv2.INTER_NEAREST,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    centre = size / 2.0
    kp = (sample["keypoints2d"] - centre) @ (scale * rot2).T + centre
    out["keypoints2d"] = kp.astype(np.float32)
    visibility = sample["visibility"].copy()
    inside = _inside(kp, size)
    visibility[~inside] = 0
    visibility[inside & (visibility == 0)] = 1  # entered the crop: its occlusion was never computed
    out["visibility"] = visibility
    out["focal"] = np.float32(sample["focal"] * scale)
    from scipy.spatial.transform import Rotation  # here: importing scipy.spatial takes ~0.7 s of every command

    go = rot3 @ Rotation.from_rotvec(sample["global_orient"].astype(np.float64)).as_matrix()
    out["global_orient"] = Rotation.from_matrix(go).as_rotvec().astype(np.float32)
    root = sample["joints3d"][0].astype(np.float64)
    out["transl"] = (rot3 @ root - (root - sample["transl"])).astype(np.float32)
    out["joints3d"] = (sample["joints3d"] @ rot3.T).astype(np.float32)
    out["bbox"] = mask_bbox(out["silhouette"])
    return out


def colour_jitter(image: np.ndarray, rng: np.random.Generator, strength: float, channel_gain: float) -> np.ndarray:
    """Random brightness/contrast/saturation (factors in ``1 ± strength``) and per-channel gains
    (``1 ± channel_gain``) of a ``(S, S, 3)`` uint8 image."""
    x = image.astype(np.float32)
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * rng.uniform(1 - strength, 1 + strength)  # saturation
    x = x.mean() + (x - x.mean()) * rng.uniform(1 - strength, 1 + strength)  # contrast
    x = x * rng.uniform(1 - strength, 1 + strength) * rng.uniform(1 - channel_gain, 1 + channel_gain, 3)
    return np.clip(x, 0, 255).round().astype(np.uint8)


def augment_sample(sample: dict, rng: np.random.Generator, config: AugmentConfig) -> dict:
    """Random flip, rotation/scale and colour jitter of ``sample`` as configured."""
    if rng.random() < config.flip_prob:
        sample = flip_sample(sample)
    angle = 0.0
    if rng.random() < config.rotation_prob:
        angle = float(np.clip(rng.normal(0.0, config.rotation_std), -config.rotation_max, config.rotation_max))
    scale = float(rng.uniform(*config.scale_range))
    if angle != 0.0 or scale != 1.0:
        sample = rotate_scale_sample(sample, angle, scale)
    sample = dict(sample)
    sample["image"] = colour_jitter(sample["image"], rng, config.colour_jitter, config.channel_gain)
    return sample
