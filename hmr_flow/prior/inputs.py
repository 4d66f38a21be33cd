"""Body-pose inputs of the priors: checking, canonicalising and reading pose files.

A body pose is the 23 non-root SMPL joint rotations (global orientation excluded), each relative to
its parent, in the joint order of :data:`hmr_flow.body.skeleton.JOINT_NAMES` ``[1:]``. It is given as

- axis-angle ``(B, 69)`` (radians, any angle: it is canonicalised to ``[0, π]``), or
- rotation matrices ``(B, 23, 3, 3)``.

:func:`canonical_axis_angle` turns both into canonical axis-angle ``(B, 23, 3)`` with angles in
``[0, π]`` (the space every prior's density lives in), differentiably.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from hmr_flow.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hmr_flow.validation import UserInputError, first_line

NUM_BODY_JOINTS = 23


def body_pose_tensor(body_pose, name: str = "body_pose", check_finite: bool = True) -> torch.Tensor:
    """Check a ``(B, 69)`` axis-angle or ``(B, 23, 3, 3)`` matrix pose; returns it as a tensor.

    Raises ``TypeError`` for non-arrays and ``ValueError`` (naming ``name``) for a wrong shape, an empty
    batch or (with ``check_finite``; optimisation loops skip it) non-finite values. Numpy arrays are converted (no copy of the gradient history needed).
    """
    if isinstance(body_pose, np.ndarray):
        body_pose = torch.from_numpy(body_pose)
    if not isinstance(body_pose, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor or numpy array, got {type(body_pose).__name__}")
    shape = tuple(body_pose.shape)
    if shape[1:] not in ((NUM_BODY_JOINTS * 3,), (NUM_BODY_JOINTS, 3, 3)) or len(shape) not in (2, 4):
        raise ValueError(
            f"{name}: expected axis-angle (B, 69) or rotation matrices (B, 23, 3, 3) for the 23 body joints "
            f"(global orientation excluded), got shape {shape}"
        )
    if shape[0] == 0:
        raise ValueError(f"{name}: empty batch")
    if not body_pose.is_floating_point():
        body_pose = body_pose.double()
    if check_finite and not torch.isfinite(body_pose).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return body_pose


def canonical_axis_angle(body_pose, dtype: torch.dtype = torch.float32, device=None,
                         check_finite: bool = True) -> torch.Tensor:
    """Any accepted body pose → canonical axis-angle ``(B, 23, 3)``, angles in ``[0, π]``, differentiable.

    Rotation matrices are not re-orthonormalised: pass proper rotations. ``check_finite``: see
    :func:`body_pose_tensor`.
    """
    pose = body_pose_tensor(body_pose, check_finite=check_finite).to(dtype=dtype, device=device)
    if pose.dim() == 2:
        pose = axis_angle_to_matrix(pose.reshape(-1, NUM_BODY_JOINTS, 3))
    return matrix_to_axis_angle(pose)


def _read_pose_arrays(path: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """The ``body_pose``/``poses`` arrays of an ``.npz`` (by content, whatever the extension) or the one
    array of an ``.npy`` (as ``body_pose``), and the keys found."""
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            return {"body_pose": data}, ["<.npy array>"]
        with data:
            return {key: np.asarray(data[key]) for key in data.files if key in ("body_pose", "poses")}, sorted(data.files)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise UserInputError(f"{path}: not a readable .npz/.npy pose file ({first_line(err)})") from None


def load_pose_file(path: str | Path) -> np.ndarray:
    """Body poses ``(N, 69)`` float32 axis-angle from an ``.npz`` or ``.npy`` file (see
    :func:`load_pose_batch`; per-hypothesis files are flattened person by person)."""
    return load_pose_batch(path)[0]


def load_pose_batch(path: str | Path) -> tuple[np.ndarray, tuple[int, ...]]:
    """Body poses ``(N, 69)`` float32 axis-angle from an ``.npz`` or ``.npy`` file, and the batch shape
    they are stored in: ``(N,)``, or ``(P, n)`` for ``P`` people × ``n`` hypotheses (flattened row-major:
    pose ``i`` is person ``i // n``, hypothesis ``i % n``).

    Accepted ``.npz`` keys, in order: ``body_pose`` (``(N, 69)`` or ``(N, 23, 3, 3)``, e.g. the mocap pose
    file, ``prior sample`` and ``fit`` output; or ``(P, n, 69)`` / ``(P, n, 23, 3, 3)``, ``regress``
    output) or ``poses`` (``(N, ≥ 72)``, AMASS/SMPL layout: columns 3–71 are the body joints); an ``.npy``
    holds the ``body_pose`` array itself. Values must be real numbers, finite and within float32 range.
    Errors name the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pose file not found")
    arrays, keys = _read_pose_arrays(path)
    batch: tuple[int, ...] | None = None
    if "body_pose" in arrays:
        poses = arrays["body_pose"]
        trailing = 1 if poses.shape[-1:] == (NUM_BODY_JOINTS * 3,) else 3 if poses.shape[-3:] == (NUM_BODY_JOINTS, 3, 3) else 0
        if trailing and poses.ndim - trailing == 2:  # (P, n, ...): people × hypotheses
            batch = poses.shape[:2]
            poses = poses.reshape(-1, *poses.shape[2:])
    elif "poses" in arrays:
        full = arrays["poses"]
        if full.ndim != 2 or full.shape[1] < 72:
            raise UserInputError(f"{path}: 'poses' must be (N, ≥72) SMPL parameters, got shape {full.shape}")
        poses = full[:, 3:72]
    else:
        raise UserInputError(f"{path}: no 'body_pose' or 'poses' array (keys: {keys})")
    if poses.dtype.kind not in "fiu":
        raise UserInputError(f"{path}: poses must be real numbers, got dtype {poses.dtype}")
    if poses.dtype.kind == "f" and poses.size and np.isfinite(poses).all() and np.abs(poses).max() > np.finfo(np.float32).max:
        raise UserInputError(f"{path}: pose values exceed the float32 range")
    try:
        tensor = body_pose_tensor(poses, name=str(path))
    except (TypeError, ValueError) as err:
        raise UserInputError(str(err)) from None
    if tensor.dim() == 4:
        tensor = matrix_to_axis_angle(tensor).reshape(-1, NUM_BODY_JOINTS * 3)
    return tensor.numpy().astype(np.float32), batch or (len(tensor),)
