"""Mocap clip (BVH, Acclaim ASF/AMC or DeepMimic JSON) → SMPL pose frames: shape fit, retargeting, resampling, position refinement,
near-duplicate removal, error measure.

Pipeline per clip: the rig's scale and the target's ``betas`` are fitted to the rig's bone lengths
(:mod:`~data_tools.mocap.shape`); bone directions are copied onto the shaped target
(:mod:`~data_tools.mocap.retarget`) at the native frames needed; frames are resampled to ``fps``; a
position refinement (:mod:`~data_tools.mocap.refine`) corrects the rotations slightly.

Output frames follow SMPL: ``global_orient (3)`` and ``body_pose (69 = 23 × 3)`` axis-angle (radians),
``transl (3)`` metres (see :class:`~data_tools.mocap.retarget.Retargeted`), ``betas (B)`` (constant per
clip), world frame of the clip (Y up). The per-frame quality measure is the distance between the shaped
target's posed joints and the rig's points times the fitted scale, over
:data:`~data_tools.mocap.retarget.MATCHED_NAMES` (the same points that drive the retargeting).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import roma
import torch

from data_tools.mocap.asf_amc import AmcMotion, read_amc
from data_tools.mocap.bvh import BvhMotion, read_bvh
from data_tools.mocap.deepmimic import DeepMimicMotion, read_deepmimic
from data_tools.mocap.refine import refine
from data_tools.mocap.retarget import MATCHED_JOINTS, retarget
from data_tools.mocap.rigs import detect_rig
from data_tools.mocap.shape import fit_shape
from data_tools.mocap.skeleton import TargetSkeleton
from hmr_flow.validation import UserInputError, check_memory


@dataclass
class ConvertedClip:
    """One converted clip (``N`` output frames).

    Attributes:
        global_orient: ``(N, 3)``; body_pose: ``(N, 69)`` axis-angle; transl: ``(N, 3)`` metres;
        betas: ``(N, B)`` the clip's fitted shape on every frame (``B = 0`` for a bare skeleton).
        frame: ``(N,)`` output frame index at ``fps`` (gaps where duplicates were removed).
        errors: ``(N, 15)`` matched-joint position errors, metres.
        clip, subject, rig, path: ids; fps: output rate; native_fps: input rate used; scale: rig
        units → metres.
    """

    global_orient: np.ndarray
    body_pose: np.ndarray
    transl: np.ndarray
    betas: np.ndarray
    frame: np.ndarray
    errors: np.ndarray
    clip: str
    subject: int
    rig: str
    path: str
    fps: float
    native_fps: float
    scale: float


#: Subject ids of HDM05's actors (``HDM_<actor>_...``). CMU numbers its subjects 1–144, so ids above 1000
#: can never clash with a CMU subject; ``tr`` is the fifth actor of the full HDM05 database.
HDM05_SUBJECTS = {"bd": 1001, "bk": 1002, "dg": 1003, "mm": 1004, "tr": 1005}


def infer_subject(path: str | Path) -> int:
    """Subject id from a file name: CMU's ``07_03.bvh`` / ``007_03.bvh`` (7) or folder ``martial_135``
    (135), HDM05's ``HDM_<actor>_...`` (:data:`HDM05_SUBJECTS`).

    Raises ``ValueError`` (naming the file) when none of these gives exactly one subject.
    """
    path = Path(path)
    match = re.fullmatch(r"(\d+)_\d+", path.stem)
    if match:
        return int(match.group(1))
    hdm05 = re.match(r"HDM_([A-Za-z]+)_", path.stem)
    if hdm05:
        if hdm05.group(1) not in HDM05_SUBJECTS:
            raise ValueError(f"{path}: unknown HDM05 actor {hdm05.group(1)!r} (known: {', '.join(HDM05_SUBJECTS)}); "
                             f"pass the subject explicitly")
        return HDM05_SUBJECTS[hdm05.group(1)]
    numbers = re.findall(r"(?:^|_)(\d+)(?=_|$)", path.parent.name)
    if len(numbers) == 1:
        return int(numbers[0])
    raise UserInputError(f"{path}: cannot infer the subject from the file or folder name; pass it explicitly")


#: Suffixes of DeepMimic clips (JSON frame rows, :mod:`data_tools.mocap.deepmimic`); ``.amc`` is Acclaim
#: (:mod:`data_tools.mocap.asf_amc`); anything else is BVH.
DEEPMIMIC_SUFFIXES = (".txt", ".json")
#: Files a folder given to ``mocap convert`` / ``report`` / ``sheet`` is searched for.
CLIP_PATTERNS = ("*.bvh", "*.amc")


def read_motion(path: str | Path, skeleton: str | Path | None = None) -> BvhMotion | AmcMotion | DeepMimicMotion:
    """A mocap clip by its suffix: DeepMimic JSON (``.txt``/``.json``), Acclaim AMC (``.amc``) — each with
    its skeleton file, ``skeleton`` or found beside the clip — or BVH (anything else, no skeleton file)."""
    suffix = Path(path).suffix.lower()
    if suffix in DEEPMIMIC_SUFFIXES:
        return read_deepmimic(path, skeleton)
    if suffix == ".amc":
        return read_amc(path, skeleton)
    if skeleton is not None:
        raise ValueError(f"{path}: a skeleton file ({skeleton}) applies to .amc and DeepMimic clips only")
    return read_bvh(path)


def _slerp_rotmats(r0: np.ndarray, r1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spherical interpolation of rotation matrices ``(N, ..., 3, 3)`` with weights ``w (N,)``."""
    q0 = roma.rotmat_to_unitquat(torch.from_numpy(r0))
    q1 = roma.rotmat_to_unitquat(torch.from_numpy(r1))
    q1 = torch.where((q0 * q1).sum(-1, keepdim=True) < 0, -q1, q1)
    wt = torch.from_numpy(w).reshape((-1,) + (1,) * (q0.dim() - 1))
    dot = (q0 * q1).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    theta = torch.acos(dot)
    small = theta < 1e-6
    sin = torch.where(small, torch.ones_like(theta), torch.sin(theta))
    a = torch.where(small, 1 - wt, torch.sin((1 - wt) * theta) / sin)
    b = torch.where(small, wt, torch.sin(wt * theta) / sin)
    return roma.unitquat_to_rotmat(roma.quat_normalize(a * q0 + b * q1)).numpy()


def _dedupe(local_rot: np.ndarray, min_deg: float) -> np.ndarray:
    """Indices of frames kept when each must differ from the last kept one by more than ``min_deg``
    (largest joint angle over the 23 body joints)."""
    keep = [0]
    body = torch.from_numpy(local_rot[:, 1:])
    for i in range(1, local_rot.shape[0]):
        angle = roma.rotmat_geodesic_distance(body[i], body[keep[-1]]).max()
        if float(angle) > np.radians(min_deg):
            keep.append(i)
    return np.asarray(keep)


#: Bytes of memory per output frame while a clip is converted (rotations and positions of every joint at
#: several stages, float64; an upper estimate): ``--fps`` × the clip's duration must fit.
FRAME_BYTES = 20_000


def convert_clip(
    path: str | Path, target: TargetSkeleton, fps: float = 30.0, native_fps: float | None = None,
    subject: int | None = None, dedupe_deg: float = 0.0, fit_betas: bool = True, refine_positions: bool = True,
    skeleton: str | Path | None = None,
) -> ConvertedClip:
    """Convert one clip.

    Args:
        path: BVH file, AMC clip or DeepMimic clip (:func:`read_motion`; rig detected from its joint names).
        target: skeleton to retarget onto.
        fps: output frame rate (frames are interpolated: slerp for rotations, linear otherwise).
        native_fps: the file's true frame rate when its ``Frame Time`` is wrong; ``None`` = header.
        subject: subject id; ``None`` = :func:`infer_subject`.
        dedupe_deg: drop frames whose pose differs from the previous kept frame by at most this many
            degrees at every joint (0 = keep all).
        fit_betas: fit the target's shape to the rig (else scale only, ``betas = 0``).
        refine_positions: run the position refinement (else pure direction matching).
        skeleton: the clip's skeleton file (ASF, DeepMimic JSON); ``None`` = found beside the clip.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    motion = read_motion(path, skeleton)
    native = float(native_fps or motion.fps)
    seconds = (motion.num_frames - 1) / native
    frames = math.floor(seconds * fps + 1e-9) + 1
    check_memory(f"--fps {fps:g}", f"{path}: {seconds:.3g} s resampled at {fps:g} fps ({frames:,} frames)",
                 frames * FRAME_BYTES)
    rig = detect_rig(motion.names, str(path))
    subject = infer_subject(path) if subject is None else int(subject)
    times = np.arange(0.0, seconds + 1e-9, 1.0 / fps)
    u = times * native
    i0 = np.minimum(np.floor(u + 1e-6).astype(int), motion.num_frames - 1)
    w = np.clip(u - i0, 0.0, 1.0)
    w[w < 1e-6] = 0.0
    i1 = np.minimum(i0 + (w > 0), motion.num_frames - 1)
    needed, inverse = np.unique(np.concatenate([i0, i1]), return_inverse=True)
    grot, gpos = motion.forward_kinematics(needed)
    shape = fit_shape(rig.point_positions(motion.names, gpos), target, betas=fit_betas)
    shaped = target.shaped(shape.betas)
    result = retarget(rig, motion.names, grot, gpos, shaped, shape.scale, motion.rest_positions())
    a, b = inverse[: len(i0)], inverse[len(i0):]
    local = _slerp_rotmats(result.local_rot[a], result.local_rot[b], w)
    lin = w[:, None, None]
    transl = (1 - w[:, None]) * result.transl[a] + w[:, None] * result.transl[b]
    rig_joints = (1 - lin) * result.rig_joints[a] + lin * result.rig_joints[b]
    if refine_positions:
        local, transl = refine(local, transl, rig_joints, shaped)
    keep = _dedupe(local, dedupe_deg) if dedupe_deg > 0 else np.arange(len(times))
    local, transl, rig_joints = local[keep], transl[keep], rig_joints[keep]
    posed = shaped.forward_kinematics(local, transl)
    errors = np.linalg.norm(posed[:, MATCHED_JOINTS] - rig_joints[:, MATCHED_JOINTS], axis=-1)
    aa = roma.rotmat_to_rotvec(torch.from_numpy(local)).numpy()
    return ConvertedClip(
        global_orient=aa[:, 0], body_pose=aa[:, 1:].reshape(len(keep), 69), transl=transl,
        betas=np.broadcast_to(shape.betas, (len(keep), shape.betas.size)).copy(), frame=keep, errors=errors,
        clip=Path(path).stem, subject=subject, rig=rig.name, path=str(path), fps=float(fps), native_fps=native,
        scale=shape.scale,
    )


def find_clips(inputs: list[str | Path]) -> list[Path]:
    """Clip files among ``inputs`` (files, or folders searched recursively for :data:`CLIP_PATTERNS`),
    sorted per folder; errors name the path."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(f for pattern in CLIP_PATTERNS for f in item.rglob(pattern))
            if not found:
                raise FileNotFoundError(f"{item}: folder contains no {' or '.join(CLIP_PATTERNS)} files")
            files.extend(found)
        elif item.is_file():
            files.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    return files
