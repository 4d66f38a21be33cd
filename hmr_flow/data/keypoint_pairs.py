"""Training pairs (2D keypoints → SMPL pose) generated on the fly from mocap, without rendering.

Each pair draws a mocap pose (subjects of one split), random betas, a random camera and framing,
poses only the 24 joints and the 11 keypoint vertices (:class:`~hmr_flow.body.KeypointBody`),
projects the COCO-17 keypoints and corrupts them the way detectors and annotators do. The result is
a batch in the layout of :class:`hmr_flow.data.SynthDataset` (so the image model's losses and
evaluation apply unchanged), for the square keypoint crop (:mod:`hmr_flow.geometry.boxes`) of side
``S = size`` pixels:

- ``input_keypoints (B, 17, 2)`` crop pixels and ``input_confidence (B, 17)`` in [0, 1]: what the
  model sees (noisy, some missing = confidence 0, swapped, outliers at low confidence);
- ``keypoints2d (B, 17, 2)``: the true keypoints projected by the crop camera the model predicts
  (pinhole, focal ``focal``, principal point at the crop centre, body at ``transl``);
  ``visibility (B, 17)``: 2 inside the image, 0 truncated by its border;
- ``global_orient (B, 3)`` axis-angle in the camera frame (OpenCV: x right, y down, z forward),
  ``body_pose (B, 69)``, ``betas (B, 10)``, ``transl (B, 3)`` metres in the crop camera (see
  :mod:`hmr_flow.models.camera`: the crop's offset is folded into x, y), ``focal (B,)`` crop pixels,
  ``joints3d (B, 24, 3)`` metres (camera frame);
- the same input in the full image, for fitting benchmarks: ``image_keypoints (B, 17, 3)`` ``(u, v,
  confidence)`` pixels, ``image_size (B, 2)`` ``(W, H)`` and its true focal ``image_focal (B,)``
  (principal point at the image centre);
- ``up (B, 3)``: the world's up direction (the mocap's +Y) in the camera frame (whether a body stands or
  lies, for benchmarks split by pose family).

Pose augmentation (:class:`PoseAugment`, training only) makes poses the mocap does not hold but a body
can: the left/right mirror image of a frame, a frame whose arms (collars down) come from another
frame of the same split, and a frame whose trunk bends sideways (the mocap holds almost no side bends:
190 of 48,937 CMU training frames lean more than 30° sideways).

Cameras: yaw uniform over the full turn, pitch ±30°, roll ±10°; images of long side 1000 px and
aspect 9:16 to 16:9; focal ``sqrt(W² + H²)`` times a factor in [0.5, 2]; the person's keypoint box
fills 20–90 % of the image height, anywhere in the image, and crosses its border in 10 % of pairs.
Everything is drawn from one ``torch.Generator``: same seed → same pairs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hmr_flow.body.keypoints import COCO17_FLIP_PERMUTATION, COCO17_NAMES
from hmr_flow.body.skeleton import JOINT_NAMES, mirror_pose
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.geometry import axis_angle_to_matrix, matrix_to_axis_angle, project_points
from hmr_flow.geometry.boxes import BOX_SCALE, keypoint_box, to_crop
from hmr_flow.validation import UserInputError

#: Groups of COCO-17 keypoints that go missing together (a limb or the face under occlusion).
LIMBS: tuple[tuple[str, ...], ...] = (
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
    ("left_shoulder", "left_elbow", "left_wrist"), ("right_shoulder", "right_elbow", "right_wrist"),
    ("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle"),
    ("left_knee", "left_ankle", "right_knee", "right_ankle"),
    ("nose", "left_eye", "right_eye", "left_ear", "right_ear"),
)


@dataclass(frozen=True)
class Corruption:
    """How the input keypoints are spoiled (per pair unless said otherwise).

    Attributes:
        noise: Gaussian std as a fraction of the person's box side, drawn uniformly in ``[0, noise]``
            per pair; ``noise_px`` adds a fixed std in image pixels (the benchmark's σ = 5 px).
        heavy_tail: probability per keypoint of a 4× larger (Laplace) error.
        missing: the share of keypoints dropped at random is uniform in ``[0, missing]`` per pair;
            ``missing_fixed`` drops exactly that share instead (the benchmark's 30 %).
        limb: probability of dropping one whole limb (:data:`LIMBS`).
        swap: probability of a left/right swap (of one limb pair or of all pairs); ``swap_back``
            on people seen from behind. Swapped keypoints keep a high confidence.
        outlier: probability per keypoint of a wild point anywhere in the person box, confidence ≤ 0.3.
        binary_confidence: probability that a pair's confidences are 1/0 (annotations) instead of
            detector-like scores in [0.5, 1].
    """

    noise: float = 0.03
    noise_px: float = 0.0
    heavy_tail: float = 0.05
    missing: float = 0.5
    missing_fixed: float | None = None
    limb: float = 0.3
    swap: float = 0.03
    swap_back: float = 0.12
    outlier: float = 0.02
    binary_confidence: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PoseAugment:
    """Pose augmentation of generated pairs: probability per pair of taking the mirror image of its
    mocap frame (``mirror``), of replacing both arms (collars, shoulders, elbows, wrists, hands) by
    those of another frame of the split (``recombine_arms``), and of bending the trunk sideways
    (``bend_sideways``): an extra rotation by θ/3 about the body's forward axis at each of
    :data:`TRUNK_JOINTS`, θ uniform in ±``bend_degrees``."""

    mirror: float = 0.0
    recombine_arms: float = 0.0
    bend_sideways: float = 0.0
    bend_degrees: float = 60.0

    def __post_init__(self):
        if not 0.0 <= self.bend_degrees <= 90.0:
            raise ValueError(f"bend_degrees: in [0, 90], got {self.bend_degrees}")
        for name in ("mirror", "recombine_arms", "bend_sideways"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}: a probability in [0, 1], got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)


#: Body-joint indices (0 = left_hip, SMPL order without the pelvis) of the arms :class:`PoseAugment` swaps.
ARM_JOINTS = tuple(JOINT_NAMES.index(f"{side}_{part}") - 1 for side in ("left", "right")
                   for part in ("collar", "shoulder", "elbow", "wrist", "hand"))
#: Body-joint indices of the trunk joints a sideways bend rotates (spine1, spine2, spine3).
TRUNK_JOINTS = tuple(JOINT_NAMES.index(name) - 1 for name in ("spine1", "spine2", "spine3"))
#: ``M = diag(−1, 1, 1)``: the mirror of the world frame (x → −x, Y up stays).
_MIRROR = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))

#: The benchmark's keypoints (issue spec): σ = 5 px, 30 % hidden, nothing else.
BENCHMARK_CORRUPTION = Corruption(noise=0.0, noise_px=5.0, heavy_tail=0.0, missing_fixed=0.3, limb=0.0, swap=0.0,
                                  swap_back=0.0, outlier=0.0, binary_confidence=1.0)


def load_split_poses(poses: str | Path, split: str, balance: bool = False) -> tuple[Tensor, Tensor, Tensor | None]:
    """World-frame ``global_orient (N, 3)``, ``body_pose (N, 69)`` of one split (``'train'`` or
    ``'val'``, by subject) of a pose set written by ``python -m data_tools mocap build`` (its
    ``split.npz`` beside it), and per-pose sampling weights ``(N,)`` that make every clip equally
    likely when ``balance`` (else ``None``: every frame equally likely; long clips dominate)."""
    poses = Path(poses)
    split_path = poses.with_name("split.npz")
    for path in (poses, split_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not found (build the pose set with `make data`)")
    if split not in ("train", "val"):
        raise ValueError(f"split: expected 'train' or 'val', got {split!r}")
    with np.load(poses) as data, np.load(split_path) as parts:
        rows = parts[split]
        orient, body = data["global_orient"][rows], data["body_pose"][rows]
        clips = data["clip"][rows] if balance else None
    if len(rows) == 0:
        raise UserInputError(f"{split_path}: the {split!r} split is empty")
    weights = None
    if balance:
        _, inverse, counts = np.unique(clips, return_inverse=True, return_counts=True)
        weights = torch.from_numpy(1.0 / counts[inverse]).float()
    return torch.from_numpy(orient).float(), torch.from_numpy(body).float(), weights


def pose_set_licence(poses: str | Path) -> str:
    """The licence of weights trained on the ``'train'`` split of the pose set ``poses`` (its ``split.npz``
    beside it): :func:`hmr_flow.prior.train.data_licence` of its training subjects."""
    from hmr_flow.prior.train import data_licence  # the prior's training stack, only when exporting weights

    poses = Path(poses)
    with np.load(poses) as data, np.load(poses.with_name("split.npz")) as parts:
        subjects = np.unique(data["subject"][parts["train"]]).tolist()
    return data_licence(subjects)


def _rotation(axis: int, angle: Tensor) -> Tensor:
    """``(B, 3, 3)`` rotations by ``angle (B,)`` radians about coordinate axis ``axis``."""
    vector = torch.zeros(angle.shape[0], 3, dtype=angle.dtype)
    vector[:, axis] = angle
    return axis_angle_to_matrix(vector)


class KeypointPairs:
    """Generator of keypoint → pose training pairs (see the module docstring).

    Args:
        body: the reduced body model.
        global_orient: ``(N, 3)`` world-frame (Y up) axis-angle of the pose bank; body_pose ``(N, 69)``.
        size: crop side ``S`` pixels of the model's keypoint input.
        corruption: :class:`Corruption` of the input keypoints.
        weights: ``(N,)`` sampling weights of the poses (:func:`load_split_poses`), ``None`` = uniform.
        augment: :class:`PoseAugment` of the drawn frames (default: none).
    """

    def __init__(self, body: KeypointBody, global_orient: Tensor, body_pose: Tensor, size: int,
                 corruption: Corruption = Corruption(), weights: Tensor | None = None,
                 augment: PoseAugment = PoseAugment()) -> None:
        if global_orient.shape[0] != body_pose.shape[0] or body_pose.shape[1:] != (69,):
            raise ValueError(f"poses: expected (N, 3) and (N, 69), got {tuple(global_orient.shape)} and {tuple(body_pose.shape)}")
        self.body = body
        self.world_orient = axis_angle_to_matrix(global_orient)
        self.body_pose = body_pose
        self.weights = weights
        self.augment = augment
        self.size = size
        self.corruption = corruption
        self.coco = body.keypoint_matrix("coco17")
        self.flip = torch.tensor(COCO17_FLIP_PERMUTATION)
        self.limbs = [torch.tensor([COCO17_NAMES.index(n) for n in limb]) for limb in LIMBS]
        # masks (17,) of both arms' and both legs' lower joints, the groups a left/right swap may touch alone
        self.limb_pairs = [torch.zeros(len(COCO17_NAMES), dtype=torch.bool).index_fill_(0, torch.cat(self.limbs[i : i + 2]), True)
                           for i in (0, 2)]

    @torch.no_grad()
    def batch(self, count: int, generator: torch.Generator) -> dict[str, Tensor]:
        """``count`` pairs as a dict of tensors (module docstring)."""
        g = generator

        def uniform(low: float, high: float, *shape: int) -> Tensor:
            return low + (high - low) * torch.rand(*(shape or (count,)), generator=g)

        rows = self._rows(count, g)
        world_orient, body_pose = self._augmented(rows, g)
        yaw, pitch, roll = uniform(0, 2 * math.pi), uniform(-math.pi / 6, math.pi / 6), uniform(-math.pi / 18, math.pi / 18)
        view = torch.diag(torch.tensor([1.0, -1.0, -1.0])) @ _rotation(2, roll) @ _rotation(0, pitch) @ _rotation(1, yaw)
        orient = view @ world_orient
        betas = (torch.randn(count, self.body.num_betas, generator=g)).clamp(-3, 3)
        rotmats = torch.cat([orient[:, None], axis_angle_to_matrix(body_pose.reshape(count, 23, 3))], dim=1)
        points = self.body(rotmats, betas, torch.zeros(count, 3))  # (B, 35, 3), body origin at the camera
        coco = torch.einsum("ks,bsc->bkc", self.coco, points)

        # camera and framing
        height = 1000.0 / torch.maximum(torch.ones(count), aspect := uniform(0.5625, 1.7778))
        width = height * aspect
        focal = torch.sqrt(width**2 + height**2) * torch.exp(uniform(math.log(0.5), math.log(2.0)))
        extent = (coco[..., :2].amax(1) - coco[..., :2].amin(1)).amax(1)  # metres, longer side
        fill = uniform(0.2, 0.9) * height
        depth = focal * extent / fill - coco[..., 2].mean(1)
        margin = torch.stack([width, height], 1) - fill[:, None]
        truncated = torch.rand(count, generator=g) < 0.1
        slack = torch.where(truncated[:, None], margin + 0.6 * fill[:, None], margin.clamp_min(0))
        target = torch.stack([width, height], 1) / 2 + (torch.rand(count, 2, generator=g) - 0.5) * slack
        centre3d = (coco.amax(1) + coco.amin(1))[..., :2] / 2
        principal = torch.stack([width, height], 1) / 2
        transl = torch.cat([(target - principal) * (depth + coco[..., 2].mean(1))[:, None] / focal[:, None] - centre3d,
                            depth[:, None]], dim=1)
        true_uv = project_points(coco + transl[:, None], focal, principal)
        inside = ((true_uv >= 0) & (true_uv <= torch.stack([width, height], 1)[:, None])).all(-1)

        observed, confidence = self._corrupt(true_uv, inside, orient, g)
        few = (confidence > 0.1).sum(1) < 4  # keep at least four keypoints: restore the true ones
        observed = torch.where(few[:, None, None], true_uv, observed)
        confidence = torch.where(few[:, None], inside.float(), confidence)
        centre, half = keypoint_box(observed, confidence)
        side = 2 * half * BOX_SCALE

        # the crop camera the model predicts: focal F·S/L, principal point at the crop centre
        crop_focal = focal * self.size / side
        crop_transl = torch.cat([transl[:, :2] - (centre - principal) * transl[:, 2:] / focal[:, None], transl[:, 2:]], 1)
        half_size = self.size / 2.0
        target_uv = project_points(coco + crop_transl[:, None], crop_focal, (half_size, half_size))
        return {
            "input_keypoints": to_crop(observed, centre, side, self.size),
            "input_confidence": confidence,
            "keypoints2d": target_uv,
            "visibility": inside.long() * 2,
            "global_orient": matrix_to_axis_angle(orient),
            "body_pose": body_pose,
            "betas": betas,
            "transl": crop_transl,
            "focal": crop_focal,
            "joints3d": points[:, :24] + crop_transl[:, None],
            "image_keypoints": torch.cat([observed, confidence[..., None]], -1),
            "image_size": torch.stack([width, height], 1),
            "image_focal": focal,
            "up": view[:, :, 1],
        }

    def _rows(self, count: int, g: torch.Generator) -> Tensor:
        """``count`` frame indices of the pose bank, uniform or by ``weights``."""
        if self.weights is None:
            return torch.randint(0, self.body_pose.shape[0], (count,), generator=g)
        return torch.multinomial(self.weights, count, replacement=True, generator=g)

    def _augmented(self, rows: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
        """World orientations ``(B, 3, 3)`` and body poses ``(B, 69)`` of frames ``rows`` after
        :class:`PoseAugment` (draws nothing from ``g`` when it is off: the same pairs as before)."""
        orient, body_pose = self.world_orient[rows], self.body_pose[rows]
        aug, count = self.augment, len(rows)
        if aug.recombine_arms > 0:
            donors = self.body_pose[self._rows(count, g)].reshape(count, 23, 3)
            swap = torch.rand(count, generator=g) < aug.recombine_arms
            pose = body_pose.reshape(count, 23, 3).clone()
            arms = list(ARM_JOINTS)
            pose[:, arms] = torch.where(swap[:, None, None], donors[:, arms], pose[:, arms])
            body_pose = pose.reshape(count, 69)
        if aug.bend_sideways > 0:
            body_pose = self._bent_sideways(body_pose, g)
        if aug.mirror > 0:
            flip = torch.rand(count, generator=g) < aug.mirror
            orient = torch.where(flip[:, None, None], _MIRROR @ orient @ _MIRROR, orient)
            mirrored = mirror_pose(body_pose.reshape(count, 23, 3)).reshape(count, 69)
            body_pose = torch.where(flip[:, None], mirrored, body_pose)
        return orient, body_pose

    def _bent_sideways(self, body_pose: Tensor, g: torch.Generator) -> Tensor:
        """``body_pose (B, 69)`` with, for a share ``bend_sideways`` of the pairs, each trunk joint's rotation
        preceded (in its parent's frame) by θ/3 about the forward axis z, θ uniform in ±``bend_degrees``."""
        aug, count = self.augment, body_pose.shape[0]
        bend = torch.rand(count, generator=g) < aug.bend_sideways
        theta = torch.deg2rad((2 * torch.rand(count, generator=g) - 1) * aug.bend_degrees) * bend
        tilt = _rotation(2, theta / len(TRUNK_JOINTS))  # (B, 3, 3)
        pose = body_pose.reshape(count, 23, 3).clone()
        trunk = list(TRUNK_JOINTS)
        bent = tilt[:, None] @ axis_angle_to_matrix(pose[:, trunk])
        pose[:, trunk] = torch.where(bend[:, None, None], matrix_to_axis_angle(bent), pose[:, trunk])
        return pose.reshape(count, 69)

    def _corrupt(self, uv: Tensor, inside: Tensor, orient: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
        """Noisy keypoints ``(B, 17, 2)`` and confidences ``(B, 17)`` (0 = missing) from the true ``uv``."""
        c = self.corruption
        count, k = uv.shape[:2]
        lo = torch.where(inside[..., None], uv, uv.new_full((), 1e9)).amin(1)
        hi = torch.where(inside[..., None], uv, uv.new_full((), -1e9)).amax(1)
        box = (hi - lo).amax(1).clamp_min(1.0)
        sigma = c.noise * torch.rand(count, generator=g) * box + c.noise_px
        noise = torch.randn(count, k, 2, generator=g) * sigma[:, None, None]
        wild = torch.rand(count, k, generator=g) < c.heavy_tail
        laplace = torch.distributions.Laplace(0.0, 1.0).icdf(torch.rand(count, k, 2, generator=g).clamp(1e-6, 1 - 1e-6))
        noise = torch.where(wild[..., None], 4 * laplace * sigma[:, None, None], noise)
        observed = uv + noise

        # left/right swaps, more often for people seen from behind (body's forward axis points away)
        away = orient[:, 2, 2] > 0
        swap_rate = torch.where(away, torch.full((count,), c.swap_back), torch.full((count,), c.swap))
        swap = torch.rand(count, generator=g) < swap_rate
        swapped = observed[:, self.flip]
        whole = torch.rand(count, generator=g) < 0.5
        arms, legs = self.limb_pairs
        limb_pair = torch.where((torch.rand(count, generator=g) < 0.5)[:, None], arms, legs)  # one arm or leg pair
        swap_mask = swap[:, None] & (whole[:, None] | limb_pair)
        observed = torch.where(swap_mask[..., None], swapped, observed)

        scores = 0.5 + 0.5 * torch.rand(count, k, generator=g)
        binary = torch.rand(count, generator=g) < c.binary_confidence
        confidence = torch.where(binary[:, None], torch.ones(count, k), scores)

        if c.missing_fixed is not None:
            rank = torch.rand(count, k, generator=g).argsort(1).argsort(1)
            missing = rank < round(c.missing_fixed * k)
        else:
            missing = torch.rand(count, k, generator=g) < c.missing * torch.rand(count, 1, generator=g)
        drop_limb = torch.rand(count, generator=g) < c.limb
        limb_index = torch.randint(0, len(self.limbs), (count,), generator=g)
        for index, limb in enumerate(self.limbs):
            missing[:, limb] |= (drop_limb & (limb_index == index))[:, None]
        missing |= ~inside

        outlier = (torch.rand(count, k, generator=g) < c.outlier) & ~missing
        anywhere = lo[:, None] + torch.rand(count, k, 2, generator=g) * (hi - lo)[:, None]
        observed = torch.where(outlier[..., None], anywhere, observed)
        confidence = torch.where(outlier, 0.05 + 0.25 * torch.rand(count, k, generator=g), confidence)
        confidence = confidence.masked_fill(missing, 0.0)
        observed = observed.masked_fill(missing[..., None], 0.0)
        return observed, confidence


class PairStream(torch.utils.data.IterableDataset):
    """Endless batches of :class:`KeypointPairs` for a training loop; the pairs of epoch ``e`` come
    from a generator seeded with ``(seed, e)`` (:meth:`set_epoch`), so a resumed run sees the same
    pairs as an uninterrupted one. Iterate it directly (no DataLoader: generation is cheap)."""

    def __init__(self, pairs: KeypointPairs, batch_size: int, steps: int, seed: int = 0) -> None:
        if batch_size < 1 or steps < 1:
            raise ValueError(f"batch_size and steps must be ≥ 1, got {batch_size}, {steps}")
        self.pairs, self.batch_size, self.steps, self.seed, self.epoch = pairs, batch_size, steps, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        for _ in range(self.steps):
            yield self.pairs.batch(self.batch_size, generator)


class PairSet(torch.utils.data.Dataset):
    """A fixed set of pairs (validation and benchmarks): ``count`` pairs made once from ``seed``;
    items are dicts of tensors like :class:`hmr_flow.data.SynthDataset`'s."""

    def __init__(self, pairs: KeypointPairs, count: int, seed: int = 0, chunk: int = 500) -> None:
        generator = torch.Generator().manual_seed(seed)
        parts = [pairs.batch(min(chunk, count - start), generator) for start in range(0, count, chunk)]
        self.data = {key: torch.cat([p[key] for p in parts]) for key in parts[0]}
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {key: value[index] for key, value in self.data.items()}
