"""Training losses of :class:`hmr_flow.models.HMRFlow` (ProHMR's recipe, design.md §4).

Terms, for a batch of ``B`` crops with ``n`` hypotheses each (index 0 = the mode):

- ``nll``: ``−log p(pose_gt + ε | image)``, ``ε ~ N(0, jitter²)`` on the 6D pose (the jitter is added
  by the caller before the forward pass, see :func:`jittered_target`), nats per pose.
- ``keypoints3d``: L1 between the mode's and the ground truth's 24 joints, both pelvis-centred, metres,
  summed over joints and axes.
- ``keypoints2d``: L1 between the mode's projected and the true COCO-17 keypoints in normalised crop
  coordinates ``(u − S/2)/(S/2)``, summed over the keypoints inside the crop. Projection uses each
  crop's true focal.
- ``sample_keypoints2d``: the same for the random samples, averaged over them and summed over the
  keypoints the model was given (input confidence > 0; for inputs without keypoints, those inside the
  crop): samples must agree with what is seen and stay free where nothing is.
- ``best_keypoints3d``: the smallest ``keypoints3d`` error among the random samples (a best-of-M loss,
  Wehrbein et al. 2021): one of them should land near the truth, the rest may cover other answers.
- ``params``: squared error of the mode's rotation matrices, betas and camera ``(log s, tx, ty)``.
- ``orthonormal``: ``(|a|² − 1)² + (|b|² − 1)² + (a·b)²`` of every 6D joint of every hypothesis.

All terms are means over the batch; ``total`` is their weighted sum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from hmr_flow.body.skeleton import NUM_JOINTS
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.geometry import axis_angle_to_matrix, project_points
from hmr_flow.models.camera import camera_to_translation, translation_to_camera
from hmr_flow.models.model import PoseSamples, pose_to_rot6d


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (ProHMR's defaults) and the NLL jitter std."""

    nll: float = 1e-3
    keypoints3d: float = 0.05
    keypoints2d: float = 0.01
    params: float = 1e-3
    sample_keypoints2d: float = 1e-3
    best_keypoints3d: float = 0.0
    orthonormal: float = 0.1
    jitter: float = 0.005

    def to_dict(self) -> dict:
        return asdict(self)


def target_pose(batch: dict[str, Tensor]) -> Tensor:
    """``(B, 72)`` ground-truth axis-angle (camera-frame global orientation first) of a data batch."""
    return torch.cat([batch["global_orient"], batch["body_pose"]], dim=1)


def jittered_target(batch: dict[str, Tensor], jitter: float) -> Tensor:
    """``(B, 144)`` ground-truth 6D pose plus ``N(0, jitter²)`` noise (the NLL's target)."""
    pose6d = pose_to_rot6d(target_pose(batch))
    return pose6d + jitter * torch.randn_like(pose6d)


def orthonormality(pose6d: Tensor) -> Tensor:
    """``(..., 144)`` → ``(...)``: deviation of each joint's two 6D columns from an orthonormal pair, summed."""
    pairs = pose6d.reshape(*pose6d.shape[:-1], NUM_JOINTS, 2, 3)
    a, b = pairs[..., 0, :], pairs[..., 1, :]
    terms = (a.pow(2).sum(-1) - 1).pow(2) + (b.pow(2).sum(-1) - 1).pow(2) + (a * b).sum(-1).pow(2)
    return terms.sum(-1)


def posed_keypoints(body: KeypointBody, rotmats: Tensor, betas: Tensor, transl: Tensor) -> tuple[Tensor, Tensor]:
    """The 24 joints ``(B, 24, 3)`` and COCO-17 keypoints ``(B, 17, 3)`` of bodies posed by ``rotmats (B, 24,
    3, 3)`` (global orientation first) with ``betas (B, β)``, moved by ``transl (B, 3)`` (metres)."""
    points = body(rotmats, betas, transl)
    coco = torch.einsum("ks,bsc->bkc", body.keypoint_matrix("coco17").to(points), points)
    return points[:, :NUM_JOINTS], coco


def project_samples(
    body: KeypointBody, samples: PoseSamples, focal: Tensor, image_size: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Posed points of every hypothesis in the crop camera (focal ``(B,)`` pixels, principal point at
    the crop centre).

    Returns:
        joints ``(B, n, 24, 3)`` and COCO-17 keypoints ``(B, n, 17, 3)`` (camera frame, metres), and
        the keypoints projected to normalised crop coordinates ``(u − S/2)/(S/2)``, ``(B, n, 17, 2)``.
    """
    batch, n = samples.pose6d.shape[:2]
    focal_n = focal.to(samples.camera).repeat_interleave(n)
    transl = camera_to_translation(samples.camera.reshape(batch * n, 3), focal_n, image_size)
    rotmats = samples.rotmats().reshape(batch * n, NUM_JOINTS, 3, 3)
    joints, coco = posed_keypoints(body, rotmats, samples.betas.reshape(batch * n, -1), transl)
    half = image_size / 2.0
    normalised = (project_points(coco, focal_n, principal_point=(half, half)) - half) / half
    return (joints.reshape(batch, n, NUM_JOINTS, 3), coco.reshape(batch, n, -1, 3),
            normalised.reshape(batch, n, -1, 2))


class HMRLoss(nn.Module):
    """Computes the loss terms above from a forward pass and a data batch.

    Args:
        keypoint_body: joints/keypoints of the body model (cheap, no mesh).
        image_size: crop side ``S`` pixels.
        weights: :class:`LossWeights`.

    ``forward(samples, log_prob, batch)`` → ``(total (), terms {name: ()})`` with ``samples`` from
    :meth:`HMRFlow.forward` (``n ≥ 1``; the random-sample term needs ``n ≥ 2``) and ``batch`` a
    :class:`hmr_flow.data.SynthDataset` batch.
    """

    def __init__(self, keypoint_body: KeypointBody, image_size: int, weights: LossWeights = LossWeights()) -> None:
        super().__init__()
        self.body = keypoint_body
        self.image_size = image_size
        self.weights = weights

    def forward(self, samples: PoseSamples, log_prob: Tensor | None, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        weights, size = self.weights, self.image_size
        half = size / 2.0
        joints, _, keypoints = project_samples(self.body, samples, batch["focal"], size)
        target_kp = (batch["keypoints2d"].to(keypoints) - half) / half
        inside = (batch["visibility"] > 0).to(keypoints)[:, None, :, None]
        offsets = (keypoints - target_kp[:, None]).abs()
        true_joints = batch["joints3d"].to(joints)
        centred = joints[:, 0] - joints[:, 0, :1]
        true_centred = true_joints - true_joints[:, :1]
        true_rot = axis_angle_to_matrix(target_pose(batch).reshape(-1, NUM_JOINTS, 3)).to(joints)
        mode_rot = samples.rotmats()[:, 0]
        true_camera = translation_to_camera(batch["transl"].to(joints), batch["focal"].to(joints), size)
        camera_error = (samples.camera[:, 0, 0].log() - true_camera[:, 0].log()).pow(2) + (
            samples.camera[:, 0, 1:] - true_camera[:, 1:]
        ).pow(2).sum(-1)
        terms = {
            "keypoints3d": (centred - true_centred).abs().sum(dim=(1, 2)).mean(),
            "keypoints2d": (offsets[:, 0] * inside[:, 0]).sum(dim=(1, 2)).mean(),
            "params": ((mode_rot - true_rot).pow(2).sum(dim=(1, 2, 3)) + (samples.betas[:, 0] - batch["betas"].to(joints)).pow(2).sum(-1)
                       + camera_error).mean(),
            "orthonormal": orthonormality(samples.pose6d).mean(),
        }
        if samples.pose6d.shape[1] > 1:
            seen = batch["input_confidence"] > 0 if "input_confidence" in batch else batch["visibility"] > 0
            terms["sample_keypoints2d"] = (offsets[:, 1:] * seen.to(offsets)[:, None, :, None]).sum(dim=(2, 3)).mean()
            if weights.best_keypoints3d:
                random = joints[:, 1:] - joints[:, 1:, :1]
                terms["best_keypoints3d"] = (random - true_centred[:, None]).abs().sum(dim=(2, 3)).amin(1).mean()
        if log_prob is not None:
            terms["nll"] = -log_prob.mean()
        total = sum(getattr(weights, name) * value for name, value in terms.items())
        return total, terms
