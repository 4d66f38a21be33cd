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
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from hmr_flow.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hmr_flow.validation import UserInputError, check_input_file, first_line

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


#: Largest deviation of ``RᵀR`` from the identity (and of ``det R`` from 1) of a rotation matrix read from a file.
ROTATION_TOLERANCE = 1e-3
#: Poses per chunk when a pose file is read piece by piece (:meth:`PoseFile.chunks`).
CHUNK = 4096


def _array_stream(path: Path) -> tuple[object, np.dtype, tuple[int, ...], str, object]:
    """The array a pose file holds: ``(open file positioned at its data (or the array itself), dtype, shape,
    key, the archive to close)``, reading only its header: ``body_pose``, else ``poses`` of an ``.npz`` (by
    content, whatever the extension), or the one array of an ``.npy`` (as ``body_pose``)."""
    try:
        if zipfile.is_zipfile(path):
            archive = zipfile.ZipFile(path)
            names = {name.removesuffix(".npy"): name for name in archive.namelist()}
            key = next((k for k in ("body_pose", "poses") if k in names), None)
            if key is None:
                archive.close()
                raise UserInputError(f"{path}: no 'body_pose' or 'poses' array (keys: {sorted(names)})")
            handle = archive.open(names[key])
        else:
            archive, key, handle = None, "body_pose", open(path, "rb")
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(handle)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise UserInputError(f"{path}: not a readable .npz/.npy pose file ({first_line(err)})") from None
    if dtype.hasobject:
        raise UserInputError(f"{path}: poses must be real numbers, got dtype {dtype}")
    if fortran:  # not stored row by row: read whole (numpy writes C order unless given a transposed array)
        data = np.load(path, allow_pickle=False)
        array = data if isinstance(data, np.ndarray) else data[key]
        handle.close()
        return np.ascontiguousarray(array), dtype, shape, key, archive
    return handle, dtype, shape, key, archive


class PoseFile:
    """A pose file read piece by piece (:meth:`chunks`): memory bounded by the chunk, whatever its size.

    Accepted (see :func:`load_pose_batch`): ``body_pose`` ``(N, 69)``, ``(N, 23, 3, 3)``, ``(P, n, 69)`` or
    ``(P, n, 23, 3, 3)``; ``poses`` ``(N, ≥ 72)`` (AMASS; columns 3–71); an ``.npy`` holding the ``body_pose``
    array. Attributes: ``path``, ``count`` (poses N), ``batch`` (``(N,)`` or ``(P, n)``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = check_input_file(path, "pose file")
        handle, dtype, shape, key, archive = _array_stream(self.path)
        for opened in (handle, archive):
            if hasattr(opened, "close"):
                opened.close()
        self.dtype, self.key = dtype, key
        if dtype.kind not in "fiu":
            raise UserInputError(f"{self.path}: poses must be real numbers, got dtype {dtype}")
        if key == "poses":
            if len(shape) != 2 or shape[1] < 72:
                raise UserInputError(f"{self.path}: 'poses' must be (N, ≥72) SMPL parameters, got shape {shape}")
            self.row, self.batch = (shape[1],), shape[:1]
        else:
            trailing = (1 if shape[-1:] == (NUM_BODY_JOINTS * 3,) else
                        3 if shape[-3:] == (NUM_BODY_JOINTS, 3, 3) else 0)
            if not trailing or len(shape) - trailing not in (1, 2):
                raise UserInputError(f"{self.path}: expected axis-angle (B, 69) or rotation matrices (B, 23, 3, 3) for "
                                     f"the 23 body joints (global orientation excluded), got shape {shape}")
            self.row, self.batch = shape[len(shape) - trailing :], shape[: len(shape) - trailing]
        self.count = int(np.prod(self.batch))
        if self.count == 0:
            raise UserInputError(f"{self.path}: empty batch (no poses)")

    def chunks(self, size: int = CHUNK) -> Iterator[np.ndarray]:
        """Body poses ``(≤ size, 69)`` float32 axis-angle, in file order, each chunk checked (finite, within
        float32, proper rotation matrices); errors name the file and the pose."""
        handle, dtype, _, _, archive = _array_stream(self.path)
        row_items = int(np.prod(self.row))
        try:
            for start in range(0, self.count, size):
                rows = min(size, self.count - start)
                if isinstance(handle, np.ndarray):
                    values = handle.reshape(self.count, *self.row)[start : start + rows]
                else:
                    data = handle.read(rows * row_items * dtype.itemsize)
                    if len(data) < rows * row_items * dtype.itemsize:
                        raise UserInputError(f"{self.path}: truncated (the array ends before pose {start + rows})")
                    values = np.frombuffer(data, dtype).reshape(rows, *self.row)
                yield self._checked(values, start)
        finally:
            for opened in (handle, archive):
                if hasattr(opened, "close"):
                    opened.close()

    def _checked(self, values: np.ndarray, start: int) -> np.ndarray:
        if self.key == "poses":
            values = values[:, 3:72]
        if values.dtype.kind == "f":
            bad = ~np.isfinite(values).reshape(len(values), -1).all(axis=1)
            if bad.any():
                raise UserInputError(f"{self.path}: pose {start + int(bad.argmax())} contains NaN or infinite values")
            if np.abs(values).max(initial=0.0) > np.finfo(np.float32).max:
                raise UserInputError(f"{self.path}: pose values exceed the float32 range")
        if values.ndim == 2:
            return values.astype(np.float32)
        matrices = torch.from_numpy(values.astype(np.float64))
        _check_rotations(matrices, self.path, start)
        return matrix_to_axis_angle(matrices).reshape(len(values), NUM_BODY_JOINTS * 3).numpy().astype(np.float32)


def _check_rotations(matrices: torch.Tensor, path: Path, start: int) -> None:
    """``(B, 23, 3, 3)`` must be rotation matrices (``RᵀR = I``, ``det R = 1`` within :data:`ROTATION_TOLERANCE`)."""
    gram = matrices.transpose(-1, -2) @ matrices
    error = (gram - torch.eye(3, dtype=matrices.dtype)).abs().amax(dim=(-1, -2))
    error = torch.maximum(error, (torch.linalg.det(matrices) - 1.0).abs())
    if (error > ROTATION_TOLERANCE).any():
        pose, joint = divmod(int(error.reshape(-1).argmax()), NUM_BODY_JOINTS)
        raise UserInputError(f"{path}: pose {start + pose} joint {joint + 1} is not a rotation matrix (|RᵀR − I| or "
                             f"|det R − 1| = {float(error.max()):.3g}); give proper rotations, or axis-angle (N, 69)")


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
    holds the ``body_pose`` array itself. Values must be real numbers, finite and within float32 range, and
    matrices proper rotations. Errors name the file and the problem. (The whole file in memory; a large
    one is read piece by piece with :class:`PoseFile`.)
    """
    poses = PoseFile(path)
    return np.concatenate(list(poses.chunks())), tuple(poses.batch)
