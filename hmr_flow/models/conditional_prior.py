"""The conditional model's likelihood as a fitting prior (ProHMR's fitting): −log p(θ | that person's input).

For ``P`` people, the model encodes each person's input once (COCO-17 keypoints, plus the image crop
for models with RGB input; the crops and framing of :func:`hmr_flow.models.regress`). The fitter
then scores a full pose — global orientation in the camera frame **and** the 23 body joints — of
any number of hypotheses per person: a batch of ``B = P·N`` bodies, people-major, is scored against
person ``b // N``'s features. Rotations are taken through matrices to the canonical 6D
representation first, so an un-normalised 6D fitting parameter scores as the rotation it means.

Global orientation: the crop camera of the model has the axes of the full-image camera, so the
fitted camera-frame orientation is scored as is (the same approximation as the hypotheses).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from hmr_flow.geometry import axis_angle_to_matrix, matrix_to_rot6d
from hmr_flow.models.model import HMRFlow
from hmr_flow.models.regress import check_coco17, coco17_keypoints, encode_people, keypoint_boxes


class ConditionalPrior(nn.Module):
    """``−log p(global_orient, body_pose | person)`` under an :class:`HMRFlow`, for ``P`` people.

    Args:
        model: the conditional model (eval mode; its device is used).
        keypoints: ``(P, 17, 3)`` COCO-17 ``(u, v, confidence)`` full-image pixels.
        image: ``(H, W, 3)`` uint8 RGB; needed only by models with RGB input.

    The interface the fitter uses (:func:`hmr_flow.fitting.fit_people`): ``scores_global_orient = True``;
    ``loss(body_pose (B, 69), global_orient=(B, 3, 3)) -> (B,)`` and ``log_prob`` (same arguments,
    nats in the model's 144-D 6D space) with ``B`` a multiple of ``P``.
    """

    kind = "conditional"
    scores_global_orient = True
    #: Weight of :meth:`loss` in fitting (nats of a 144-D density); chosen on validation-subject fits
    #: (``bench/hmr_kp_eval.py --fit-weights``).
    fit_weight: float = 0.03

    def __init__(self, model: HMRFlow, keypoints: np.ndarray, image: np.ndarray | None = None) -> None:
        super().__init__()
        self.model = model
        keypoints = check_coco17(keypoints)
        if model.config.rgb and image is None:
            raise ValueError(f"the conditional prior of a model with {model.config.inputs} input needs the image")
        features, _, _ = encode_people(model, image, keypoint_boxes(keypoints), keypoints)
        self.register_buffer("features", features)

    @classmethod
    def concatenate(cls, priors: list[ConditionalPrior]) -> ConditionalPrior:
        """One prior for the people of several priors of the same model, in their order (what the
        fitting pipeline uses to fit several images in one batch)."""
        if not priors or any(p.model is not priors[0].model for p in priors):
            raise ValueError("concatenate: expected one or more priors of the same model")
        joined = cls.__new__(cls)
        nn.Module.__init__(joined)
        joined.model = priors[0].model
        joined.register_buffer("features", torch.cat([p.features for p in priors]))
        return joined

    @property
    def num_people(self) -> int:
        return self.features.shape[0]

    def log_prob(self, body_pose: Tensor, global_orient: Tensor) -> Tensor:
        """log p(pose | person) ``(B,)`` nats for ``body_pose (B, 69)`` axis-angle and ``global_orient
        (B, 3, 3)`` camera-frame matrices, ``B = P·N`` people-major (differentiable)."""
        batch = body_pose.shape[0]
        if batch % self.num_people or global_orient.shape != (batch, 3, 3):
            raise ValueError(f"poses: expected a multiple of {self.num_people} people, (B, 69) and (B, 3, 3), "
                             f"got {tuple(body_pose.shape)} and {tuple(global_orient.shape)}")  # fmt: skip
        rotmats = torch.cat([global_orient[:, None], axis_angle_to_matrix(body_pose.reshape(batch, 23, 3))], dim=1)
        features = self.features.to(body_pose).repeat_interleave(batch // self.num_people, dim=0)
        return self.model.flow_log_prob(matrix_to_rot6d(rotmats).flatten(1), features)

    def loss(self, body_pose: Tensor, global_orient: Tensor) -> Tensor:
        """``−log p(pose | person)`` ``(B,)`` (see :meth:`log_prob`)."""
        return -self.log_prob(body_pose, global_orient)


def conditional_prior_factory(model: HMRFlow):
    """A fitting ``prior_factory`` (:class:`hmr_flow.fitting.FitOptions`): for each image, the
    :class:`ConditionalPrior` of its people's keypoints (COCO-17, or BODY_25 reordered) — and of the
    image, for models with RGB input."""

    def make(record, image: np.ndarray | None, size: tuple[int, int]) -> ConditionalPrior:
        return ConditionalPrior(model, coco17_keypoints(record), image)

    return make
