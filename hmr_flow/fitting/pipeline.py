"""Fit every person of every keypoint image and write the results (what ``hmr-flow fit`` runs).

Per image ``<name>``, in the output folder:

- ``<name>_params.npz``: ``global_orient (P, 3)`` (axis-angle, camera frame), ``body_pose (P, 69)``,
  ``betas (P, 10)``, ``transl (P, 3)`` m, ``focal (P,)`` px, ``principal_point (P, 2)`` px,
  ``joints (P, 24, 3)`` m camera frame, ``keypoints_2d (P, K, 2)`` fitted px, ``keypoints_observed
  (P, K, 3)``, ``loss``/``data_loss``/``prior_loss (P,)``, ``hypothesis_losses (P, N)``,
  ``best_hypothesis (P,)``, ``prior_log_prob (P,)`` (nats; NaN with no prior), ``person_ids (P,)``,
  ``image_size (2,)`` (W, H), ``keypoint_format``, ``prior``.
- ``<name>_<person>.obj`` per person (metres, camera frame).
- ``<name>_overlay.png`` when the image is available: keypoints | mesh over the image | side view.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hmr_flow.images import read_rgb
from hmr_flow.body import BodyModel
from hmr_flow.fitting.checks import check_fit, check_keypoints
from hmr_flow.fitting.fitter import FitResult, fit_people
from hmr_flow.fitting.initialisation import Initialisation
from hmr_flow.fitting.keypoint_body import KeypointBody
from hmr_flow.fitting.keypoint_io import KeypointImage
from hmr_flow.fitting.outputs import render_overlay, save_image, save_obj, save_params
from hmr_flow.fitting.schedule import FitConfig
from hmr_flow.geometry import default_focal
from hmr_flow.metrics import pck
from hmr_flow.validation import UserInputError

log = logging.getLogger(__name__)


class FitInputError(UserInputError):
    """An image is unreadable or the image size needed for the camera is unknown."""


@dataclass
class FitOptions:
    """Settings of a fitting run: prior (``PosePrior`` or ``None``) and its name, hypotheses per
    person, focal length (``None`` = ``sqrt(W² + H²)``), image size for keypoints without an image,
    the optimisation config, a seed, and an optional ``initialiser(record, image, focal) ->
    Initialisation`` giving the initial hypotheses of an image's people (e.g.
    :func:`hmr_flow.models.regression_initialiser`; needs the image; ``None`` = prior samples)."""

    prior: object | None = None
    prior_name: str = "none"
    num_hypotheses: int = 4
    focal: float | None = None
    image_size: tuple[int, int] | None = None
    config: FitConfig | None = None
    seed: int = 0
    initialiser: Callable[[KeypointImage, np.ndarray, float], Initialisation] | None = None


def _image_and_size(record: KeypointImage, options: FitOptions) -> tuple[np.ndarray | None, tuple[int, int]]:
    image = read_rgb(record.image_path) if record.image_path is not None else None
    if image is not None:
        return image, (image.shape[1], image.shape[0])
    size = record.image_size or options.image_size
    if size is None:
        raise FitInputError(
            f"{record.name}: image size unknown (give the image with --image/--images, or --image-size W H)"
        )
    return None, size


def _arrays(record: KeypointImage, result: FitResult, size, prior, prior_name: str) -> dict[str, np.ndarray]:
    with torch.no_grad():
        log_prob = prior.log_prob(result.body_pose) if prior is not None and prior_name != "none" else None
    arrays = {
        k: getattr(result, k).detach().cpu().numpy()
        for k in ("global_orient", "body_pose", "betas", "transl", "focal", "principal_point", "joints",
                  "keypoints_2d", "loss", "data_loss", "prior_loss", "hypothesis_losses", "best_hypothesis")
    }  # fmt: skip
    people = len(record.person_ids)
    arrays["prior_log_prob"] = log_prob.cpu().numpy() if log_prob is not None else np.full(people, np.nan, np.float32)
    arrays["keypoints_observed"] = record.keypoints
    arrays["person_ids"] = np.asarray(record.person_ids, dtype=np.int64)
    arrays["image_size"] = np.asarray(size, dtype=np.int64)
    arrays["keypoint_format"] = np.asarray(record.keypoint_format)
    arrays["prior"] = np.asarray(prior_name)
    return arrays


def fit_image(record: KeypointImage, body: BodyModel, keypoint_body: KeypointBody, options: FitOptions, out: Path) -> list[Path]:
    """Fit the people of one image and write its files into ``out``; returns the paths written
    (none when the image has no person left after the keypoint-count filter)."""
    if len(record.person_ids) == 0:
        log.warning("%s: no person with enough keypoints, nothing to fit", record.name)
        return []
    image, size = _image_and_size(record, options)
    check_keypoints(record.name, record.keypoints, record.person_ids, size)
    focal = options.focal if options.focal is not None else default_focal(*size)
    generator = torch.Generator().manual_seed(options.seed)
    init = None
    if options.initialiser is not None:
        if image is None:
            raise FitInputError(f"{record.name}: initialising from the image needs the image (--image/--images)")
        init = options.initialiser(record, image, focal)
    result = fit_people(
        keypoint_body,
        torch.from_numpy(record.keypoints),
        record.keypoint_format,
        focal,
        (size[0] / 2.0, size[1] / 2.0),
        prior=options.prior,
        init=init,
        num_hypotheses=options.num_hypotheses,
        config=options.config,
        generator=generator,
    )
    check_fit(record.name, result, record.person_ids)
    written = [save_params(out / f"{record.name}_params.npz", _arrays(record, result, size, options.prior, options.prior_name))]
    with torch.no_grad():
        vertices = body(
            global_orient=result.global_orient, body_pose=result.body_pose, betas=result.betas, transl=result.transl
        ).vertices.cpu().numpy()
    for person, verts in zip(record.person_ids, vertices):
        written.append(save_obj(out / f"{record.name}_{person}.obj", verts, body.faces))
    if image is not None:
        overlay = render_overlay(
            image, vertices, body.faces, focal, (size[0] / 2.0, size[1] / 2.0),
            record.keypoints, result.keypoints_2d.cpu().numpy(),
        )  # fmt: skip
        written.append(save_image(out / f"{record.name}_overlay.png", overlay))
    return written


def keypoint_agreement(record: KeypointImage, params_path: str | Path, alpha: float = 0.1) -> np.ndarray:
    """PCK@``alpha`` ``(P,)`` of the fitted keypoints in a ``<name>_params.npz`` written by
    :func:`fit_image` against ``record``'s keypoints of positive confidence (threshold: ``alpha`` ×
    the longer side of each person's keypoint box)."""
    with np.load(params_path) as params:
        fitted = torch.from_numpy(params["keypoints_2d"]).float()
    observed = torch.from_numpy(record.keypoints).float()
    return pck(fitted, observed[..., :2], observed[..., 2] > 0, alpha).numpy()


def fit_records(records: list[KeypointImage], options: FitOptions, out: str | Path, device: str = "cpu") -> list[Path]:
    """Fit every record (progress bar over images) and return all paths written."""
    out = Path(out)
    body = BodyModel().to(device)
    keypoint_body = KeypointBody(body).to(device)
    written: list[Path] = []
    for record in tqdm(records, desc="images", unit="image", disable=len(records) < 2):
        written.extend(fit_image(record, body, keypoint_body, options, out))
    return written
