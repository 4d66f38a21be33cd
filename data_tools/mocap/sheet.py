"""Contact sheet: our posed mesh beside the rig's skeleton (BVH, ASF/AMC, DeepMimic), evenly spaced frames of a few clips, seen from
the front (``+Z``, x right) or the body's left side (``+X``, z right: forward/backward lean shows)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from data_tools.mocap.convert import convert_clip, read_motion  # noqa: E402
from data_tools.mocap.skeleton import TargetSkeleton  # noqa: E402
from hmr_flow.files import atomic_path  # noqa: E402

_MESH_POINTS = 2500
#: Horizontal world axis of each view (the vertical one is always y).
VIEWS = {"front": 0, "side": 2}


def _draw(ax, bones: list[tuple[np.ndarray, np.ndarray]], cloud: np.ndarray | None, centre: np.ndarray,
          colour: str, title: str, axis: int) -> None:
    """Bone segments (+ a point cloud) in the plane (world ``axis``, y), 2 m window around ``centre``."""
    if cloud is not None:
        ax.scatter(cloud[:, axis], cloud[:, 1], s=0.3, c="0.6", alpha=0.5, linewidths=0)
    for a, b in bones:
        ax.plot([a[axis], b[axis]], [a[1], b[1]], color=colour, lw=1.5)
    ax.set_xlim(centre[axis] - 1.0, centre[axis] + 1.0)
    ax.set_ylim(centre[1] - 1.1, centre[1] + 0.9)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=6)


def contact_sheet(files: list[Path], out: str | Path, model: str | Path | None = None, frames: int = 4,
                  view: str = "front", fit_betas: bool = True, refine_positions: bool = True,
                  skeletons: list[Path | None] | None = None) -> Path:
    """Write a PNG: per clip, ``frames`` evenly spaced frames; each shows the rig skeleton (times the fitted
    scale, blue) and our posed, shaped body (mesh points grey, skeleton red), seen from ``view``
    (:data:`VIEWS`). ``fit_betas``/``refine_positions`` as in :func:`convert_clip`; ``skeletons`` one
    skeleton file per clip (``None``: found beside it, see :func:`read_motion`)."""
    from hmr_flow.body import BodyModel

    if view not in VIEWS:
        raise ValueError(f"view must be one of {sorted(VIEWS)}, got {view!r}")
    body = BodyModel(model)
    target = TargetSkeleton.from_body_model(body.model_path)
    fig, axes = plt.subplots(len(files), 2 * frames, figsize=(2 * frames * 1.6, len(files) * 2.2), squeeze=False)
    for row, path in enumerate(files):
        skeleton = skeletons[row] if skeletons else None
        clip = convert_clip(path, target, fit_betas=fit_betas, refine_positions=refine_positions, skeleton=skeleton)
        motion = read_motion(path, skeleton)
        picks = np.linspace(0, len(clip.frame) - 1, frames).round().astype(int)
        pose = np.concatenate([clip.global_orient[picks], clip.body_pose[picks]], axis=1)
        with torch.no_grad():
            betas = torch.from_numpy(clip.betas[picks]).float() if clip.betas.shape[1] else None
            transl = torch.from_numpy(clip.transl[picks]).float()
            posed = body(torch.from_numpy(pose).float(), betas=betas, transl=transl)
        verts, joints = posed.vertices.numpy(), posed.joints.numpy()
        sub = np.random.default_rng(0).choice(verts.shape[1], min(_MESH_POINTS, verts.shape[1]), replace=False)
        native = (clip.frame[picks] * clip.native_fps / clip.fps).round().astype(int)
        _, rig_pos = motion.forward_kinematics(np.minimum(native, motion.num_frames - 1))
        rig_pos = rig_pos * clip.scale
        for k in range(frames):
            centre = joints[k, 0]
            rig_bones = [(rig_pos[k, p], rig_pos[k, j]) for j, p in enumerate(motion.parents)
                         if p >= 0 and not motion.names[j].endswith("_end")]
            smpl_bones = [(joints[k, p], joints[k, j]) for j, p in enumerate(target.parents) if p >= 0]
            label = f"f{clip.frame[picks[k]]}\n{clip.clip}"  # long clip names (HDM05's) on a line of their own
            _draw(axes[row, 2 * k], rig_bones, None, centre, "tab:blue", f"rig {label}", VIEWS[view])
            _draw(axes[row, 2 * k + 1], smpl_bones, verts[k, sub], centre, "tab:red", f"SMPL {label}", VIEWS[view])
    fig.tight_layout()
    out = Path(out)
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return out
