"""DeepMimic motion files (``cmu_deepmimic``): reader and forward kinematics of the humanoid3d rig.

A DeepMimic clip is JSON ``{"Loop": ..., "Frames": [[...], ...]}``; each frame row is ``[duration
(s), root position (3), root quaternion (4)]`` then, in joint-id order, a quaternion ``(w, x, y, z)``
per *spherical* joint and one angle (radians, about the joint's local Z axis) per *revolute* joint
(knees, elbows); *fixed* joints (wrists) take no value. The rig itself (joint names, types, parents,
offsets in the parent's frame, metres, Y up, the body facing +X with its right side at +Z) is the
humanoid3d skeleton JSON (``humanoid3d_skeleton.json`` beside the clips' subject folders).

The rig stops at the wrists, ankles and neck. Three kinds of fixed end points are added so that every
SMPL joint has a counterpart (:data:`END_SITES`), placed from the humanoid's collision shapes in
``humanoid3d.txt``: the head 0.15 m above the neck joint (its sphere's centre, 0.175 m, less the
skull above SMPL's head joint), the ball of each foot (its box runs 0.13 m ahead of the
ankle and 0.05 m below it) and the middle of each hand (the wrist's sphere, 0.08 m beyond the wrist).

:class:`DeepMimicMotion` offers what the BVH converter needs of a clip (``names``, ``num_frames``,
``fps``, ``forward_kinematics``, ``rest_positions``), in the same conventions as
:class:`~data_tools.mocap.bvh.BvhMotion`, so :func:`data_tools.mocap.convert.convert_clip` retargets it
unchanged through :data:`data_tools.mocap.rigs.DEEPMIMIC`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hmr_flow.geometry import axis_angle_to_matrix
from hmr_flow.geometry.kinematics import forward_kinematics
from hmr_flow.geometry.rotations import quaternion_to_axis_angle
from hmr_flow.validation import UserInputError

#: The skeleton file's name, looked up in a clip's folder and the folder above it.
SKELETON_NAME = "humanoid3d_skeleton.json"
#: Fixed end points added to the rig: name → (parent joint, offset in the parent's frame, metres).
END_SITES = {
    "head_end": ("neck", (0.0, 0.15, 0.0)),
    "right_toe_end": ("right_ankle", (0.13, -0.05, 0.0)),
    "left_toe_end": ("left_ankle", (0.13, -0.05, 0.0)),
    "right_hand_end": ("right_wrist", (0.0, -0.08, 0.0)),
    "left_hand_end": ("left_wrist", (0.0, -0.08, 0.0)),
}
_VALUES = {"none": 0, "spherical": 4, "revolute": 1, "fixed": 0}


def _wxyz_to_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` DeepMimic quaternions ``(w, x, y, z)``, any norm > 0 → ``(..., 3, 3)`` rotations."""
    xyzw = torch.nn.functional.normalize(quaternion.roll(-1, dims=-1), dim=-1)
    return axis_angle_to_matrix(quaternion_to_axis_angle(xyzw))


class DeepMimicError(UserInputError):
    """A DeepMimic clip or skeleton file that cannot be read (the message names the file)."""


@dataclass(frozen=True)
class Humanoid:
    """The rig: ``names (J,)``, ``parents (J,)`` (``-1`` for the root), ``offsets (J, 3)`` metres in the
    parent's frame, ``kinds (J,)`` (``none``/``spherical``/``revolute``/``fixed``), end sites included."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    kinds: tuple[str, ...]

    @property
    def frame_width(self) -> int:
        """Values per frame row: duration, root position and quaternion, then the joints' values."""
        return 8 + sum(_VALUES[k] for k in self.kinds[1:])


def read_humanoid(path: str | Path) -> Humanoid:
    """The humanoid3d skeleton JSON (see ``../shared/data/README.md``) plus :data:`END_SITES`."""
    path = Path(path)
    try:
        joints = json.loads(path.read_text())["joints"]
        names = [j["name"] for j in joints]
        parents = [int(j["parent"]) for j in joints]
        offsets = [[float(v) for v in j["offset"]] for j in joints]
        kinds = [j["type"] for j in joints]
    except FileNotFoundError:
        raise DeepMimicError(f"{path}: DeepMimic skeleton not found") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeepMimicError(f"{path}: not a DeepMimic skeleton JSON ({exc})") from None
    bad = [k for k in kinds if k not in _VALUES]
    if bad or any(p >= i for i, p in enumerate(parents)) or parents[:1] != [-1]:
        raise DeepMimicError(f"{path}: joints must be ordered parents first from one root, types in {sorted(_VALUES)}")
    for name, (parent, offset) in END_SITES.items():
        if parent not in names:
            raise DeepMimicError(f"{path}: joint {parent!r} (parent of the added {name}) is missing")
        names.append(name)
        parents.append(names.index(parent))
        offsets.append(list(offset))
        kinds.append("fixed")
    return Humanoid(tuple(names), tuple(parents), np.asarray(offsets), tuple(kinds))


def find_skeleton(clip: str | Path) -> Path:
    """:data:`SKELETON_NAME` in the clip's folder or the one above it."""
    clip = Path(clip)
    for folder in (clip.parent, clip.parent.parent):
        if (folder / SKELETON_NAME).is_file():
            return folder / SKELETON_NAME
    raise DeepMimicError(f"{clip}: no {SKELETON_NAME} in its folder or the one above it")


@dataclass
class DeepMimicMotion:
    """One clip on the humanoid: ``values (F, W)`` frame rows (see the module docstring), ``fps`` (from
    the rows' durations; the last row's is 0 by DeepMimic's convention)."""

    path: str
    rig: Humanoid
    values: np.ndarray
    fps: float

    @property
    def names(self) -> list[str]:
        return list(self.rig.names)

    @property
    def parents(self) -> np.ndarray:
        return np.asarray(self.rig.parents)

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    def local_rotations(self, frames: np.ndarray | slice | None = None) -> np.ndarray:
        """``(F, J, 3, 3)`` local rotations (the root's is global; identity for fixed joints)."""
        values = torch.from_numpy(self.values if frames is None else self.values[frames])
        rot = torch.eye(3, dtype=values.dtype).repeat(values.shape[0], len(self.rig.names), 1, 1)
        rot[:, 0] = _wxyz_to_matrix(values[:, 4:8])
        column = 8
        for j, kind in enumerate(self.rig.kinds):
            if kind == "spherical":
                rot[:, j] = _wxyz_to_matrix(values[:, column : column + 4])
            elif kind == "revolute":
                rot[:, j] = axis_angle_to_matrix(torch.nn.functional.pad(values[:, column : column + 1], (2, 0)))
            column += _VALUES[kind]
        return rot.numpy()

    def forward_kinematics(self, frames: np.ndarray | slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Global joint rotations ``(F, J, 3, 3)`` and positions ``(F, J, 3)`` (metres, world frame)."""
        values = self.values if frames is None else self.values[frames]
        rest = torch.from_numpy(self.rest_positions()[None] + values[:, None, 1:4])
        joints, world = forward_kinematics(torch.from_numpy(self.local_rotations(frames)), rest, self.rig.parents)
        return world.numpy(), joints.numpy()

    def rest_positions(self) -> np.ndarray:
        """``(J, 3)`` joint positions with every rotation at identity (arms down), root at the origin."""
        pos = np.zeros((len(self.rig.names), 3))
        for j, parent in enumerate(self.rig.parents):
            if parent >= 0:
                pos[j] = pos[parent] + self.rig.offsets[j]
        return pos


def read_deepmimic(path: str | Path, skeleton: str | Path | None = None) -> DeepMimicMotion:
    """Read a DeepMimic clip; ``skeleton`` defaults to :func:`find_skeleton`.

    Raises :class:`DeepMimicError` naming the file (and the frame) for a missing or malformed file, rows
    of the wrong width, non-finite values, a zero quaternion or durations that are not one positive rate.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"DeepMimic clip not found: {path}")
    rig = read_humanoid(skeleton if skeleton is not None else find_skeleton(path))
    try:
        frames = json.loads(path.read_text())["Frames"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeepMimicError(f"{path}: not a DeepMimic motion JSON with 'Frames' ({exc})") from None
    if not isinstance(frames, list) or not frames:
        raise DeepMimicError(f"{path}: 'Frames' holds no frame rows")
    for i, row in enumerate(frames):
        if not isinstance(row, list) or len(row) != rig.frame_width:
            width = len(row) if isinstance(row, list) else type(row).__name__
            raise DeepMimicError(f"{path}: frame {i} has {width} values, the humanoid needs {rig.frame_width}")
    try:
        values = np.asarray(frames, dtype=np.float64)
    except (TypeError, ValueError):
        raise DeepMimicError(f"{path}: frame rows must hold numbers only") from None
    bad = np.flatnonzero(~np.isfinite(values).all(1))
    if bad.size:
        raise DeepMimicError(f"{path}: frame {bad[0]} holds NaN or infinite values")
    column, quaternions = 4, []
    for kind in ("spherical", *rig.kinds[1:]):  # the root's quaternion first
        if kind == "spherical":
            quaternions.append(np.linalg.norm(values[:, column : column + 4], axis=1))
        column += _VALUES[kind]
    zero = np.flatnonzero((np.stack(quaternions, 1) < 1e-6).any(1))
    if zero.size:
        raise DeepMimicError(f"{path}: frame {zero[0]} has a zero quaternion")
    durations = values[:-1, 0] if len(values) > 1 else values[:, 0]  # the last frame's is 0 by convention
    if not (durations > 0).all() or np.ptp(durations) > 1e-3 * durations.mean():
        raise DeepMimicError(f"{path}: frame durations must be one positive value, got {durations.min():g} to "
                             f"{durations.max():g} s")
    return DeepMimicMotion(str(path), rig, values, float(1.0 / durations.mean()))
