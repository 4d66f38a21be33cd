"""The pose file written by ``mocap convert`` / ``mocap build`` (one ``.npz``), and its reader.

Layout (``N`` frames, ``C`` clips, ``S`` sources):

========================  ==========  =========================================================
key                       shape/dtype meaning
========================  ==========  =========================================================
``global_orient``         (N, 3) f4   root rotation, axis-angle (radians), the clip's world (Y up)
``body_pose``             (N, 69) f4  23 joint rotations relative to their parents, axis-angle
``transl``                (N, 3) f4   metres, SMPL convention (joints = FK(rest joints at betas) + transl)
``betas``                 (N, B) f4   body shape fitted to the clip's rig (B = 10 on the open model;
                                      files written before this key existed lack it)
``subject``               (N,) i4     subject id: CMU's number, HDM05's actor 1001–1005 (``HDM05_SUBJECTS``)
``clip``                  (N,) i4     index into ``clip_names``
``source``                (N,) i4     index into ``source_names`` (rig / conversion)
``frame``                 (N,) i4     frame index within the clip at ``fps``
``partial``               (N,) bool   the frame's rig leaves some SMPL joints undriven (``RigSpec.undriven``,
                                      DeepMimic): training data only, never held out (files written
                                      before this key existed lack it)
``fps``                   () f4       output frame rate
``clip_names``            (C,) str    clip ids, e.g. ``cmu_daz43/misc/07_03``, ``hdm05/HDM_bd_kick…_120``
``clip_scale``            (C,) f4     rig units → metres used for the clip
``source_names``          (S,) str    rig names (see ``data_tools.mocap.rigs``)
========================  ==========  =========================================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_tools.mocap.convert import ConvertedClip
from data_tools.mocap.rigs import RIGS
from hmr_flow.validation import UserInputError

_PARTIAL_RIGS = {rig.name for rig in RIGS if rig.undriven}
POSE_KEYS = ("global_orient", "body_pose", "transl", "subject", "clip", "source", "frame")


def pack_clips(clips: list[ConvertedClip]) -> dict[str, np.ndarray]:
    """Concatenate converted clips into the layout above."""
    if not clips:
        raise ValueError("no clips to write")
    sources = sorted({c.rig for c in clips})
    widths = {c.betas.shape[1] for c in clips}
    if len(widths) != 1:
        raise ValueError(f"clips have different numbers of betas {sorted(widths)}")
    fps = {c.fps for c in clips}
    if len(fps) != 1:
        raise ValueError(f"clips have different output fps {sorted(fps)}")
    sizes = [len(c.frame) for c in clips]
    return {
        "global_orient": np.concatenate([c.global_orient for c in clips]).astype(np.float32),
        "body_pose": np.concatenate([c.body_pose for c in clips]).astype(np.float32),
        "transl": np.concatenate([c.transl for c in clips]).astype(np.float32),
        "betas": np.concatenate([c.betas for c in clips]).astype(np.float32),
        "subject": np.repeat([c.subject for c in clips], sizes).astype(np.int32),
        "clip": np.repeat(np.arange(len(clips)), sizes).astype(np.int32),
        "source": np.repeat([sources.index(c.rig) for c in clips], sizes).astype(np.int32),
        "frame": np.concatenate([c.frame for c in clips]).astype(np.int32),
        "partial": np.repeat([c.rig in _PARTIAL_RIGS for c in clips], sizes).astype(bool),
        "fps": np.float32(fps.pop()),
        "clip_names": np.array([c.clip for c in clips]),
        "clip_scale": np.array([c.scale for c in clips], dtype=np.float32),
        "source_names": np.array(sources),
    }


def load_poses(path: str | Path) -> dict[str, np.ndarray]:
    """Read a pose file, checking keys, shapes and finiteness; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pose file not found: {path}")
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise UserInputError(f"{path}: not a readable .npz pose file ({err})") from None
    missing = [k for k in POSE_KEYS + ("fps", "clip_names", "source_names") if k not in arrays]
    if missing:
        raise UserInputError(f"{path}: missing keys {missing}")
    n = arrays["body_pose"].shape[0]
    for key, width in (("global_orient", 3), ("body_pose", 69), ("transl", 3)):
        if arrays[key].shape != (n, width):
            raise UserInputError(f"{path}: {key} has shape {arrays[key].shape}, expected ({n}, {width})")
        if not np.isfinite(arrays[key]).all():
            raise UserInputError(f"{path}: {key} contains NaN or infinite values")
    if "betas" in arrays:
        betas = arrays["betas"]
        if betas.ndim != 2 or betas.shape[0] != n:
            raise UserInputError(f"{path}: betas has shape {betas.shape}, expected ({n}, B)")
        if not np.isfinite(betas).all():
            raise UserInputError(f"{path}: betas contains NaN or infinite values")
    return arrays
