"""The retargeting target: SMPL's 24-joint skeleton in its T-pose rest pose, and its shape space.

Conventions: metres, Y up, the body faces +Z, ``left_*`` joints at x > 0; joint order and parents as in
:mod:`hmr_flow.body.skeleton`. The target is only a skeleton (parents + rest joints, plus the joints'
linear shape directions when it comes from a body model), so the same code retargets onto the open body
model, an official SMPL file or any SMPL-format model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hmr_flow.body.skeleton import JOINT_NAMES, PARENTS
from hmr_flow.geometry.kinematics import forward_kinematics
from hmr_flow.validation import UserInputError

_PARENTS = np.asarray(PARENTS)


@dataclass(frozen=True)
class TargetSkeleton:
    """SMPL skeleton to retarget onto.

    Attributes:
        rest_joints: ``(24, 3)`` T-pose joint positions, metres (at ``betas = 0``).
        source: where it came from (for reports).
        joint_shapedirs: ``(24, 3, B)`` rest-joint offset per unit of each shape coefficient
            (``J_regressor @ shapedirs``), or ``None`` for a bare skeleton (no shape space).
    """

    rest_joints: np.ndarray
    source: str
    joint_shapedirs: np.ndarray | None = None

    names = JOINT_NAMES
    parents = _PARENTS

    def __post_init__(self):
        joints = np.asarray(self.rest_joints, dtype=np.float64)
        if joints.shape != (24, 3) or not np.isfinite(joints).all():
            raise ValueError(f"{self.source}: rest joints must be a finite (24, 3) array, got shape {joints.shape}")
        object.__setattr__(self, "rest_joints", joints)
        if self.joint_shapedirs is not None:
            dirs = np.asarray(self.joint_shapedirs, dtype=np.float64)
            if dirs.ndim != 3 or dirs.shape[:2] != (24, 3) or not np.isfinite(dirs).all():
                raise ValueError(f"{self.source}: joint shape directions must be a finite (24, 3, B) array, "
                                 f"got shape {dirs.shape}")
            object.__setattr__(self, "joint_shapedirs", dirs)

    @property
    def num_betas(self) -> int:
        """Number of shape coefficients ``B`` (0 for a bare skeleton)."""
        return 0 if self.joint_shapedirs is None else int(self.joint_shapedirs.shape[2])

    def shaped_joints(self, betas: np.ndarray) -> np.ndarray:
        """``(24, 3)`` rest joints of shape ``betas (B,)`` (``B = 0`` for a bare skeleton)."""
        betas = np.asarray(betas, dtype=np.float64)
        if betas.shape != (self.num_betas,):
            raise ValueError(f"{self.source}: betas must have shape ({self.num_betas},), got {betas.shape}")
        return self.rest_joints if self.joint_shapedirs is None else self.rest_joints + self.joint_shapedirs @ betas

    def shaped(self, betas: np.ndarray) -> TargetSkeleton:
        """The same target with its rest joints moved to shape ``betas (B,)`` (shape space kept)."""
        return TargetSkeleton(self.shaped_joints(betas), self.source, self.joint_shapedirs)

    def forward_kinematics(self, local_rot: np.ndarray, transl: np.ndarray | None = None) -> np.ndarray:
        """Posed joints ``(F, 24, 3)`` from local rotations ``(F, 24, 3, 3)`` (index 0 = global orientation).

        Like SMPL: the root rotates about the rest pelvis, then ``transl (F, 3)`` is added.
        """
        rotations = torch.from_numpy(np.asarray(local_rot, dtype=np.float64))
        pos = forward_kinematics(rotations, torch.from_numpy(self.rest_joints), self.parents)[0].numpy()
        return pos if transl is None else pos + transl[:, None]

    @classmethod
    def from_body_model(cls, model_path: str | Path | None = None) -> TargetSkeleton:
        """Rest joints of :class:`hmr_flow.body.BodyModel` at betas = 0 (the open model by default) and
        its joint shape directions."""
        from hmr_flow.body import BodyModel

        body = BodyModel(model_path)
        if tuple(body.parents) != tuple(PARENTS):
            raise UserInputError(f"{body.model_path}: body model parents {body.parents} are not SMPL's {PARENTS}")
        regressor = body.smpl.J_regressor.detach().double().numpy()
        shapedirs = body.smpl.shapedirs.detach().double().numpy()
        joint_shapedirs = np.einsum("jv,vcb->jcb", regressor, shapedirs)
        return cls(body.rest_joints().detach().double().numpy(), str(body.model_path), joint_shapedirs)

    @classmethod
    def from_file(cls, path: str | Path) -> TargetSkeleton:
        """A skeleton ``.npz`` with ``joints (24, 3)`` (metres) and optionally ``parents (24,)``."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"skeleton file not found: {path}")
        with np.load(path) as data:
            if "joints" not in data:
                raise UserInputError(f"{path}: no 'joints' array (expected joints (24, 3) in metres)")
            if "parents" in data and tuple(int(p) for p in data["parents"]) != tuple(PARENTS):
                raise UserInputError(f"{path}: parents {data['parents'].tolist()} are not SMPL's {list(PARENTS)}")
            return cls(data["joints"], str(path))

    @classmethod
    def load(cls, spec: str | Path | None = None) -> TargetSkeleton:
        """``None`` → the open body model; a ``.npz`` with ``joints`` → :meth:`from_file`; another
        model file (``.npz``/``.pkl`` SMPL format) → :meth:`from_body_model`."""
        if spec is None:
            return cls.from_body_model()
        path = Path(spec)
        if path.suffix == ".npz" and path.is_file():
            with np.load(path) as data:
                if "joints" in data and "v_template" not in data:
                    return cls.from_file(path)
        return cls.from_body_model(path)
