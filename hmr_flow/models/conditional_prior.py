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

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from hmr_flow.body.keypoints import to_coco17
from hmr_flow.fitting.initialisation import Initialisation, default_initialisation
from hmr_flow.fitting.pipeline import PerImage
from hmr_flow.geometry import axis_angle_to_matrix, matrix_to_rot6d
from hmr_flow.models.model import HMRFlow
from hmr_flow.models.regress import RegressInput, check_coco17, encode_people, keypoint_boxes, regress_images


class ConditionalPrior(nn.Module):
    """``−log p(global_orient, body_pose | person)`` under an :class:`HMRFlow`, for ``P`` people.

    Args:
        model: the conditional model (eval mode; its device is used).
        keypoints: ``(P, 17, 3)`` COCO-17 ``(u, v, confidence)`` full-image pixels.
        image: ``(H, W, 3)`` uint8 RGB; needed only by models with RGB input.

    A :class:`hmr_flow.prior.FittingPrior`: ``fitting_loss(body_pose (B, 69), rotations (B, 24, 3, 3))
    -> (B,)`` reads the rotation matrices the fitter has already built (global orientation first);
    ``log_prob``/``loss`` take ``body_pose (B, 69)`` and ``global_orient (B, 3, 3)``; nats in the
    model's 144-D 6D space, ``B`` a multiple of ``P``.
    """

    kind = "conditional"
    #: Weight of :meth:`loss` in fitting when no model is at hand (the default of :attr:`HMRFlow.fit_weight`);
    #: an instance uses its model's own, stored with the model's weights.
    fit_weight: float = HMRFlow.fit_weight

    def __init__(self, model: HMRFlow, keypoints: np.ndarray, image: np.ndarray | None = None) -> None:
        keypoints = check_coco17(keypoints)
        if model.config.rgb and image is None:
            raise ValueError(f"the conditional prior of a model with {model.config.inputs} input needs the image")
        features, _, _ = encode_people(model, image, keypoint_boxes(keypoints), keypoints)
        self._set(model, features)

    def _set(self, model: HMRFlow, features: Tensor) -> None:
        nn.Module.__init__(self)
        self.model = model
        self.fit_weight = model.fit_weight
        self.register_buffer("features", features)
        self._repeated: tuple | None = None

    @classmethod
    def from_features(cls, model: HMRFlow, features: Tensor) -> ConditionalPrior:
        """The prior of people already encoded by ``model``: ``features (P, F)`` (e.g.
        :attr:`hmr_flow.models.Hypotheses.features` of their hypotheses)."""
        prior = cls.__new__(cls)
        prior._set(model, features)
        return prior

    @classmethod
    def concatenate(cls, priors: list[ConditionalPrior]) -> ConditionalPrior:
        """One prior for the people of several priors of the same model, in their order (what the
        fitting pipeline uses to fit several images in one batch)."""
        if not priors or any(p.model is not priors[0].model for p in priors):
            raise ValueError("concatenate: expected one or more priors of the same model")
        return cls.from_features(priors[0].model, torch.cat([p.features for p in priors]))

    @property
    def num_people(self) -> int:
        return self.features.shape[0]

    def _person_features(self, batch: int, like: Tensor) -> Tensor:
        """``(B, F)`` features of body ``b``'s person ``b // N`` (``B = P·N``), as ``like``'s dtype and
        device; kept for the next call of the same batch (every step of a fit)."""
        if batch % self.num_people:
            raise ValueError(f"poses: expected a multiple of {self.num_people} people, got {batch}")
        key = (batch, like.dtype, like.device)
        if self._repeated is None or self._repeated[0] != key:
            self._repeated = (key, self.features.to(like).repeat_interleave(batch // self.num_people, dim=0))
        return self._repeated[1]

    def _rotations_log_prob(self, rotations: Tensor) -> Tensor:
        """log p ``(B,)`` of ``rotations (B, 24, 3, 3)`` (global orientation first), differentiable."""
        if rotations.dim() != 4 or tuple(rotations.shape[1:]) != (24, 3, 3):
            raise ValueError(f"rotations: expected (B, 24, 3, 3), got {tuple(rotations.shape)}")
        features = self._person_features(rotations.shape[0], rotations)
        return self.model.flow_log_prob(matrix_to_rot6d(rotations).flatten(1), features)

    def log_prob(self, body_pose: Tensor, global_orient: Tensor) -> Tensor:
        """log p(pose | person) ``(B,)`` nats for ``body_pose (B, 69)`` axis-angle and ``global_orient
        (B, 3, 3)`` camera-frame matrices, ``B = P·N`` people-major (differentiable)."""
        batch = body_pose.shape[0]
        if global_orient.shape != (batch, 3, 3):
            raise ValueError(f"poses: expected (B, 69) and (B, 3, 3), got {tuple(body_pose.shape)} and "
                             f"{tuple(global_orient.shape)}")
        rotations = torch.cat([global_orient[:, None], axis_angle_to_matrix(body_pose.reshape(batch, 23, 3))], dim=1)
        return self._rotations_log_prob(rotations)

    def loss(self, body_pose: Tensor, global_orient: Tensor) -> Tensor:
        """``−log p(pose | person)`` ``(B,)`` (see :meth:`log_prob`)."""
        return -self.log_prob(body_pose, global_orient)

    def fitting_loss(self, body_pose: Tensor, rotations: Tensor) -> Tensor:
        """:class:`~hmr_flow.prior.FittingPrior`: ``−log p`` of the fitter's ``rotations (B, 24, 3, 3)``."""
        return -self._rotations_log_prob(rotations)

    def fitted_log_prob(self, body_pose: Tensor, rotations: Tensor) -> Tensor:
        """:class:`~hmr_flow.prior.FittingPrior`: log p of the fitted ``rotations (B, 24, 3, 3)``."""
        return self._rotations_log_prob(rotations)

    def for_bodies(self, rows: Tensor, batch: int) -> ConditionalPrior:
        """:class:`~hmr_flow.prior.FittingPrior`: the prior of bodies ``rows (R,)`` of a batch of ``batch``
        (each body scored against its person's features, one body per "person")."""
        return ConditionalPrior.from_features(self.model, self._person_features(batch, self.features)[rows])


#: How :func:`conditional_fitting` starts a fit: the model's hypotheses (``fit --init-from regression``),
#: the fitter's relaxed pose facing / away then the model's samples (``--init-from prior`` with the
#: conditional prior: its samples are the prior samples), or not at all (``None``: the fit's default).
STARTS = ("regression", "samples", None)


@dataclass
class ConditionalFitting:
    """The per-image hook :func:`conditional_fitting` makes (see there). ``fit_records`` gives it a batch of
    images at once (:meth:`for_images`: one encoding and one decoding of all their people, each image's
    hypotheses as when called alone); it reads the pixels only for a model with RGB input
    (:attr:`needs_image`)."""

    model: HMRFlow
    n: int = 4
    seed: int = 0
    temperature: float = 1.0
    start: str | None = "regression"
    prior: bool = True

    def __post_init__(self) -> None:
        if self.start not in STARTS:
            raise ValueError(f"start: expected one of {STARTS}, got {self.start!r}")
        if self.start is None and not self.prior:
            raise ValueError("conditional_fitting: neither a start nor a prior asked for")

    @property
    def needs_image(self) -> bool:
        """Whether the hook reads the image's pixels (models with RGB input); else it is given ``None``."""
        return self.model.config.rgb

    def __call__(self, record, image: np.ndarray | None, focal: float, size: tuple[int, int]) -> PerImage:
        return self.for_images([(record, image, focal, size)])[0]

    def for_images(self, images: list[tuple]) -> list[PerImage]:
        """The :class:`~hmr_flow.fitting.PerImage` of each ``(record, image, focal, size)``, in order."""
        keypoints = [to_coco17(record.keypoints, record.keypoint_format) for record, *_ in images]
        if self.start is None:
            return [PerImage(None, ConditionalPrior(self.model, kp, image)) for kp, (_, image, *_) in zip(keypoints, images)]
        count = self.n if self.start == "regression" else max(1, self.n - 1)  # "samples": the mode is drawn and dropped
        inputs = [RegressInput(image, None, focal, kp, size) for kp, (_, image, focal, size) in zip(keypoints, images)]
        own = []
        for hypotheses in regress_images(self.model, inputs, count, self.temperature, self.seed):
            init = hypotheses.initialisation() if self.start == "regression" else _relaxed_then_samples(hypotheses, self.n)
            own.append(PerImage(init, ConditionalPrior.from_features(self.model, hypotheses.features) if self.prior else None))
        return own


def conditional_fitting(model: HMRFlow, n: int = 4, seed: int = 0, temperature: float = 1.0, *,
                        start: str | None = "regression", prior: bool = True) -> ConditionalFitting:
    """A fitting ``per_image`` hook (:class:`hmr_flow.fitting.FitOptions`) that the conditional model starts
    and/or regularises, each image's people (COCO-17 keypoints, BODY_25 reordered; and the image, for
    models with RGB input) encoded once for both: a :class:`~hmr_flow.fitting.PerImage` with

    - ``init`` by ``start`` (:data:`STARTS`): ``"regression"``, the model's ``n`` hypotheses per person
      (mode first, with their betas; :func:`~hmr_flow.models.regress` at ``temperature``, ``hmr-flow fit``'s
      default); ``"samples"``, the relaxed pose facing the camera and facing away (as the fitter's default)
      followed by ``n - 2`` random samples of the model at ``temperature`` (their orientation and body
      pose; ``fit --prior conditional --init-from prior`` passes the fit's sampling temperature);
      ``None``, none (the fit's default hypotheses);
    - ``prior``: the :class:`ConditionalPrior` of the same encoding if ``prior``, else ``None`` (the run's).

    The hook is a :class:`ConditionalFitting`: the fitting pipeline hands it many images at once.
    """
    return ConditionalFitting(model, n, seed, temperature, start, prior)


def _relaxed_then_samples(hypotheses, n: int) -> Initialisation:
    """``n`` hypotheses per person: the fitter's relaxed pose facing the camera and facing away, then the
    random samples of ``hypotheses`` (index 1 on; index 0 is the mode)."""
    relaxed = default_initialisation(len(hypotheses.pose), min(n, 2))
    samples = hypotheses.pose[:, 1:].to(relaxed.body_pose)
    return Initialisation(torch.cat([relaxed.global_orient, samples[..., :3]], 1),
                          torch.cat([relaxed.body_pose, samples[..., 3:]], 1))
