"""``HMRFlow``: image crop → conditional normalizing flow over the full SMPL pose, plus betas and camera.

Shapes and conventions:

- Inputs (``config.inputs``): ``"rgb"``, crops ``(B, 3, S, S)`` RGB in ``[0, 1]`` (``S =
  config.image_size``); ``"rgb+keypoints"``, the same plus COCO-17 keypoints ``(B, 17, 2)`` crop
  pixels with their confidence ``(B, 17)`` rendered as heatmap channels; ``"keypoints"``, the
  keypoint heatmaps alone (no image needed). ``config.keypoint_vector`` adds the keypoints'
  normalised coordinates and confidences through a small MLP, summed with the CNN feature.
- Pose = global orientation **in the crop's camera frame** + 23 body joints, each as a 6D rotation
  (first two matrix columns, :mod:`hmr_flow.geometry.rotations`): ``(B, 144)``, joint-major.
- The flow is a conditional vector Glow. With **additive** coupling (ProHMR's, ``config.flow_coupling``)
  ``log |det|`` depends on neither the pose nor the input, so ``z = 0`` maps exactly to the mode of
  ``p(pose | image)`` but the posterior's volume is the same for every input: it cannot be tight where
  the keypoints are seen and wide where they are not. **Affine** coupling scales each half by a function
  of the other half and of the input, so the spread follows what is seen; ``z = 0`` then maps to the
  pose of the latent mode, close to (not exactly) the density's mode.
- The head predicts, for each pose sample, ``betas (10,)`` and ``camera = (s, tx, ty)`` (see
  :mod:`hmr_flow.models.camera`) from the image feature and that sample's pose.
- :meth:`HMRFlow.sample` returns ``n`` hypotheses per image with **the mode first** (index 0).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import Tensor, nn

from hmr_flow.body.skeleton import NUM_BETAS, NUM_JOINTS
from hmr_flow.flows import vector_glow
from hmr_flow.geometry import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix
from hmr_flow.models.backbone import ResNetBackbone
from hmr_flow.models.heatmaps import keypoint_heatmaps

POSE_DIM = NUM_JOINTS * 6
NUM_KEYPOINTS = 17
#: What a model can take: RGB crops, RGB plus keypoint heatmaps, or keypoint heatmaps alone.
INPUTS = ("rgb", "rgb+keypoints", "keypoints")
#: Coupling layers the pose flow may use (see the module docstring).
FLOW_COUPLINGS = ("additive", "affine")


@dataclass(frozen=True)
class HMRConfig:
    """Architecture of :class:`HMRFlow` (stored in checkpoints)."""

    image_size: int = 128
    widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks: tuple[int, ...] = (1, 1, 1, 1)
    feature_dim: int = 256
    flow_steps: int = 4
    flow_hidden: int = 256
    flow_blocks: int = 2
    flow_coupling: str = "additive"
    head_hidden: int = 256
    keypoint_channels: bool = False
    heatmap_sigma: float = 3.0
    initial_scale: float = 0.8
    rgb: bool = True
    keypoint_vector: bool = False

    def __post_init__(self):
        if not (self.rgb or self.keypoint_channels):
            raise ValueError("HMRConfig: the model needs RGB input, keypoint channels or both")
        if self.keypoint_vector and not self.keypoint_channels:
            raise ValueError("HMRConfig: keypoint_vector needs keypoint_channels")
        if self.flow_coupling not in FLOW_COUPLINGS:
            raise ValueError(f"HMRConfig: flow_coupling must be one of {', '.join(FLOW_COUPLINGS)}, got {self.flow_coupling!r}")

    @property
    def inputs(self) -> str:
        """``"rgb"``, ``"rgb+keypoints"`` or ``"keypoints"``."""
        return "+".join(name for name, used in (("rgb", self.rgb), ("keypoints", self.keypoint_channels)) if used)

    @classmethod
    def for_inputs(cls, inputs: str, **kwargs) -> HMRConfig:
        """A config for ``inputs`` (``"rgb"``, ``"rgb+keypoints"``, ``"keypoints"``); keypoint inputs
        also get the coordinate MLP (``keypoint_vector``); the heatmap width scales with the crop
        (3 px at 128 px) unless given."""
        if inputs not in INPUTS:
            raise ValueError(f"inputs: expected one of {', '.join(INPUTS)}, got {inputs!r}")
        keypoints = inputs != "rgb"
        kwargs.setdefault("heatmap_sigma", 3.0 * kwargs.get("image_size", cls.image_size) / 128)
        return cls(rgb=inputs != "keypoints", keypoint_channels=keypoints, keypoint_vector=keypoints, **kwargs)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> HMRConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown HMRConfig fields {unknown}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass
class PoseSamples:
    """``n`` hypotheses per image: ``pose6d (B, n, 144)`` (raw flow output), ``betas (B, n, 10)``,
    ``camera (B, n, 3)`` ``(s, tx, ty)``, ``log_prob (B, n)`` log p(pose6d | input) in nats. Index 0
    along ``n`` is the mode when made by :meth:`HMRFlow.sample`."""

    pose6d: Tensor
    betas: Tensor
    camera: Tensor
    log_prob: Tensor

    def rotmats(self) -> Tensor:
        """``(B, n, 24, 3, 3)`` rotation matrices (Gram–Schmidt of the 6D output)."""
        return rot6d_to_matrix(self.pose6d.reshape(*self.pose6d.shape[:-1], NUM_JOINTS, 6))

    def axis_angle(self) -> Tensor:
        """``(B, n, 72)`` SMPL axis-angle, global orientation (crop camera frame) first."""
        return matrix_to_axis_angle(self.rotmats()).flatten(-2)


def _check_finite(**inputs: Tensor | None) -> None:
    """The public inference API's check of its inputs' values (the training pass checks shapes only:
    a value check waits for the device)."""
    for name, value in inputs.items():
        if value is not None and not torch.isfinite(value).all():
            raise ValueError(f"{name}: contains NaN or infinite values")


def pose_to_rot6d(pose: Tensor) -> Tensor:
    """``(B, 72)`` axis-angle or ``(B, 24, 3, 3)`` matrices → ``(B, 144)`` 6D."""
    if pose.dim() == 2 and pose.shape[1] == NUM_JOINTS * 3:
        pose = axis_angle_to_matrix(pose.reshape(-1, NUM_JOINTS, 3))
    elif pose.dim() != 4 or tuple(pose.shape[1:]) != (NUM_JOINTS, 3, 3):
        raise ValueError(f"pose: expected (B, 72) axis-angle or (B, 24, 3, 3) matrices, got {tuple(pose.shape)}")
    return matrix_to_rot6d(pose).flatten(1)


class HMRFlow(nn.Module):
    """Backbone + conditional flow over the pose + betas/camera head (see the module docstring).

    ``fit_weight``: the weight of this model's ``−log p(pose | input)`` as a fitting prior
    (:class:`hmr_flow.models.ConditionalPrior`); it depends on how sharp the trained density is, so it is
    chosen per model on validation fits and stored in its exported weights (checkpoints without one get this
    class default).
    """

    fit_weight: float = 0.3

    def __init__(self, config: HMRConfig = HMRConfig()) -> None:
        super().__init__()
        self.config = config
        channels = (3 if config.rgb else 0) + (NUM_KEYPOINTS if config.keypoint_channels else 0)
        self.keypoint_mlp = None
        if config.keypoint_vector:
            self.keypoint_mlp = nn.Sequential(
                nn.Linear(3 * NUM_KEYPOINTS, config.head_hidden), nn.ReLU(inplace=True),
                nn.Linear(config.head_hidden, config.head_hidden), nn.ReLU(inplace=True),
                nn.Linear(config.head_hidden, config.feature_dim),
            )
        self.backbone = ResNetBackbone(channels, config.image_size, config.widths, config.blocks, config.feature_dim)
        self.flow = vector_glow(
            POSE_DIM, config.flow_steps, config.flow_hidden, context_features=config.feature_dim,
            coupling=config.flow_coupling, blocks=config.flow_blocks,
        )
        self.head = nn.Sequential(
            nn.Linear(config.feature_dim + POSE_DIM, config.head_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(config.head_hidden, config.head_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(config.head_hidden, NUM_BETAS + 3),
        )
        last = self.head[-1]
        nn.init.zeros_(last.weight)
        with torch.no_grad():
            last.bias.zero_()
            last.bias[NUM_BETAS] = math.log(config.initial_scale)

    # ------------------------------------------------------------------ encoder
    def encode(self, images: Tensor | None, keypoints: Tensor | None = None, confidence: Tensor | None = None) -> Tensor:
        """Features ``(B, F)`` of crops ``(B, 3, S, S)`` in [0, 1] (``None`` for a keypoints-only
        model) and keypoints ``(B, 17, 2)`` crop pixels with confidence ``(B, 17)`` (default 1),
        used by models with keypoint inputs (absent keypoints = all-zero heatmaps, allowed only
        with RGB)."""
        size, config = self.config.image_size, self.config
        parts = []
        if config.rgb:
            if images is None or images.dim() != 4 or tuple(images.shape[1:]) != (3, size, size):
                shape = None if images is None else tuple(images.shape)
                raise ValueError(f"images: expected (B, 3, {size}, {size}) RGB in [0, 1], got {shape}")
            parts.append((images - 0.5) / 0.25)
        vector = None
        if config.keypoint_channels:
            if keypoints is None:
                if not config.rgb:
                    raise ValueError("keypoints: this model takes 2D keypoints, none were given")
                parts.append(parts[0].new_zeros(parts[0].shape[0], NUM_KEYPOINTS, size, size))
                keypoints = parts[0].new_zeros(parts[0].shape[0], NUM_KEYPOINTS, 2)
                confidence = keypoints.new_zeros(keypoints.shape[:2])
            else:
                if keypoints.dim() != 3 or tuple(keypoints.shape[1:]) != (NUM_KEYPOINTS, 2):
                    raise ValueError(f"keypoints: expected (B, {NUM_KEYPOINTS}, 2) COCO-17, got {tuple(keypoints.shape)}")
                reference = self.head[-1].bias
                keypoints = keypoints.to(reference)
                confidence = keypoints.new_ones(keypoints.shape[:2]) if confidence is None else confidence.to(keypoints)
                parts.append(keypoint_heatmaps(keypoints, confidence, size, config.heatmap_sigma))
            half = size / 2.0
            vector = torch.cat([(keypoints - half) / half * confidence[..., None], confidence[..., None]], -1).flatten(1)
        features = self.backbone(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0])
        if self.keypoint_mlp is not None:
            features = features + self.keypoint_mlp(vector)
        return features

    # ------------------------------------------------------------------ flow and head
    def latent(self, batch: int, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """``(B, n, 144)`` latents: zeros at index 0 (the mode), ``N(0, T²)`` elsewhere."""
        if n < 1:
            raise ValueError(f"number of samples must be ≥ 1, got {n}")
        reference = self.head[-1].bias
        z = torch.randn(batch, n, POSE_DIM, generator=generator, device=reference.device, dtype=reference.dtype)
        z = z * temperature
        z[:, 0] = 0.0
        return z

    def decode(self, features: Tensor, z: Tensor) -> PoseSamples:
        """Latents ``z (B, n, 144)`` → :class:`PoseSamples` for features ``(B, F)`` (float32 even under autocast)."""
        batch, n = z.shape[:2]
        with torch.autocast(features.device.type, enabled=False):
            context = features.float().repeat_interleave(n, dim=0)
            flat_z = z.float().reshape(batch * n, POSE_DIM)
            pose6d, logabsdet = self.flow.from_latent(flat_z, context)
            log_prob = self.flow.base_log_prob(flat_z) + logabsdet
            out = self.head(torch.cat([context, pose6d], dim=1))
        camera = torch.cat([out[:, NUM_BETAS : NUM_BETAS + 1].exp(), out[:, NUM_BETAS + 1 :]], dim=1)
        return PoseSamples(pose6d.reshape(batch, n, POSE_DIM), out[:, :NUM_BETAS].reshape(batch, n, NUM_BETAS),
                           camera.reshape(batch, n, 3), log_prob.reshape(batch, n))

    def flow_log_prob(self, pose6d: Tensor, features: Tensor) -> Tensor:
        """log p(pose6d | features) in nats, ``(B,)`` for ``pose6d (B, 144)`` (float32 even under autocast)."""
        with torch.autocast(features.device.type, enabled=False):
            return self.flow.log_prob(pose6d.float(), features.float())

    def forward(
        self,
        images: Tensor | None,
        n: int,
        target_pose6d: Tensor | None = None,
        temperature: float = 1.0,
        keypoints: Tensor | None = None,
        confidence: Tensor | None = None,
    ) -> tuple[PoseSamples, Tensor | None]:
        """One pass for training: ``n`` hypotheses (mode first) and, with ``target_pose6d (B, 144)``,
        its log density ``(B,)`` (else ``None``). Everything a training step differentiates goes
        through this method so that DistributedDataParallel sees one forward per step."""
        features = self.encode(images, keypoints, confidence)
        samples = self.decode(features, self.latent(features.shape[0], n, temperature))
        log_prob = None if target_pose6d is None else self.flow_log_prob(target_pose6d, features)
        return samples, log_prob

    # ------------------------------------------------------------------ public inference API
    def sample(
        self,
        images: Tensor | None,
        n: int,
        temperature: float = 1.0,
        keypoints: Tensor | None = None,
        confidence: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> PoseSamples:
        """``n`` hypotheses per crop, ``(B, n, …)``, **the mode first**, then samples at ``temperature``."""
        _check_finite(images=images, keypoints=keypoints, confidence=confidence)
        features = self.encode(images, keypoints, confidence)
        return self.decode(features, self.latent(features.shape[0], n, temperature, generator))

    def log_prob(
        self, pose: Tensor, images: Tensor | None, keypoints: Tensor | None = None, confidence: Tensor | None = None
    ) -> Tensor:
        """log p(pose | image) in nats ``(B,)``; ``pose`` is ``(B, 72)`` axis-angle, ``(B, 24, 3, 3)``
        matrices or ``(B, 144)`` 6D (global orientation in the crop camera frame)."""
        _check_finite(pose=pose, images=images, keypoints=keypoints, confidence=confidence)
        pose6d = pose if pose.dim() == 2 and pose.shape[1] == POSE_DIM else pose_to_rot6d(pose)
        features = self.encode(images, keypoints, confidence)
        return self.flow_log_prob(pose6d.to(features), features)
