"""The retargeting target: SMPL's 24-joint skeleton in its T-pose rest pose.

Conventions: metres, Y up, the body faces +Z, ``left_*`` joints at x > 0; joint order and parents as in
:mod:`hmr_flow.body.skeleton`. The target is only a skeleton (parents + rest joints), so the same code
retargets onto the open body model, an official SMPL file or any SMPL-format model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hmr_flow.body.skeleton import JOINT_NAMES, PARENTS

_PARENTS = np.asarray(PARENTS)


@dataclass(frozen=True)
class TargetSkeleton:
    """SMPL skeleton to retarget onto.

    Attributes:
        rest_joints: ``(24, 3)`` T-pose joint positions, metres.
        source: where it came from (for reports).
    """

    rest_joints: np.ndarray
    source: str

    names = JOINT_NAMES
    parents = _PARENTS

    def __post_init__(self):
        joints = np.asarray(self.rest_joints, dtype=np.float64)
        if joints.shape != (24, 3) or not np.isfinite(joints).all():
            raise ValueError(f"{self.source}: rest joints must be a finite (24, 3) array, got shape {joints.shape}")
        object.__setattr__(self, "rest_joints", joints)

    def bone_vectors(self) -> np.ndarray:
        """``(24, 3)`` rest offset of every joint from its parent (pelvis: its own position)."""
        out = self.rest_joints.copy()
        out[1:] -= self.rest_joints[self.parents[1:]]
        return out

    def forward_kinematics(self, local_rot: np.ndarray, transl: np.ndarray | None = None) -> np.ndarray:
        """Posed joints ``(F, 24, 3)`` from local rotations ``(F, 24, 3, 3)`` (index 0 = global orientation).

        Like SMPL: the root rotates about the rest pelvis, then ``transl (F, 3)`` is added.
        """
        offsets = self.bone_vectors()
        n = local_rot.shape[0]
        grot = np.empty_like(local_rot)
        pos = np.empty((n, 24, 3))
        grot[:, 0] = local_rot[:, 0]
        pos[:, 0] = self.rest_joints[0]
        for j in range(1, 24):
            p = self.parents[j]
            grot[:, j] = grot[:, p] @ local_rot[:, j]
            pos[:, j] = pos[:, p] + grot[:, p] @ offsets[j]
        return pos if transl is None else pos + transl[:, None]

    @classmethod
    def from_body_model(cls, model_path: str | Path | None = None) -> TargetSkeleton:
        """Rest joints of :class:`hmr_flow.body.BodyModel` at betas = 0 (the open model by default)."""
        from hmr_flow.body import BodyModel

        body = BodyModel(model_path)
        if tuple(body.parents) != tuple(PARENTS):
            raise ValueError(f"{body.model_path}: body model parents {body.parents} are not SMPL's {PARENTS}")
        return cls(body.rest_joints().detach().double().numpy(), str(body.model_path))

    @classmethod
    def from_file(cls, path: str | Path) -> TargetSkeleton:
        """A skeleton ``.npz`` with ``joints (24, 3)`` (metres) and optionally ``parents (24,)``."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"skeleton file not found: {path}")
        with np.load(path) as data:
            if "joints" not in data:
                raise ValueError(f"{path}: no 'joints' array (expected joints (24, 3) in metres)")
            if "parents" in data and tuple(int(p) for p in data["parents"]) != tuple(PARENTS):
                raise ValueError(f"{path}: parents {data['parents'].tolist()} are not SMPL's {list(PARENTS)}")
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
