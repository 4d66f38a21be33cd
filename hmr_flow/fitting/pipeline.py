"""Fit every person of every keypoint image and write the results (what ``hmr-flow fit`` runs).

Per image ``<name>``, in the output folder:

- ``<name>_params.npz``: ``global_orient (P, 3)`` (axis-angle, camera frame), ``body_pose (P, 69)``,
  ``betas (P, 10)``, ``transl (P, 3)`` m, ``focal (P,)`` px, ``principal_point (P, 2)`` px,
  ``joints (P, 24, 3)`` m camera frame, ``keypoints_2d (P, K, 2)`` fitted px, ``keypoints_observed
  (P, K, 3)``, ``loss``/``data_loss``/``prior_loss (P,)``, ``hypothesis_losses (P, N)``,
  ``best_hypothesis (P,)``, ``prior_log_prob (P,)`` (nats; NaN with no prior), ``person_ids (P,)``,
  ``image_size (2,)`` (W, H), ``keypoint_format``, ``prior``, ``body_model`` (whose betas these are:
  ``open-v1`` for the open model, else the SMPL file's name; :attr:`hmr_flow.body.BodyModel.name`). The
  pose keys are smplx's: ``smplx.SMPL()(**{k: torch.as_tensor(params[k]) for k in ("global_orient",
  "body_pose", "betas", "transl")})`` poses an official model the same way.
- ``<name>_<person>.obj`` per person (metres, camera frame; ``.ply``/``.glb`` with
  :attr:`FitOptions.mesh_format`).
- ``<name>_overlay.png`` when the image is available and overlays are on: keypoints | mesh over the
  image | side view.

An image's files are one result set, replaced together (:func:`~hmr_flow.fitting.outputs.write_fit_set`): a
failure (a full disk, SIGTERM) leaves the earlier set of that image whole.

**Batching.** :func:`fit_records` fits the people of many images in one batched problem: consecutive
images are grouped into chunks of at most :attr:`FitOptions.batch_people` people (of one keypoint
format) and each chunk goes through :func:`~hmr_flow.fitting.fitter.fit_people` once, each person with
their own image's camera. The optimisers act per body (Adam's steps are elementwise; the summed
objective does not mix bodies), so an image's fit does not depend on which images share its chunk (up
to float rounding; L-BFGS's line search is shared by the chunk) — except for the prior-sample
hypotheses (the third and later): they are drawn for the whole chunk at once from a generator seeded
with :attr:`FitOptions.seed` (one sampling call per chunk, not per image: 25 ms per image saved), so the
same files, seed and ``batch_people`` give the same fits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hmr_flow.images import image_size as image_size_of
from hmr_flow.images import read_rgb
from hmr_flow.body import BodyModel
from hmr_flow.fitting.checks import check_fit, check_focal, check_keypoints
from hmr_flow.fitting.fitter import FitResult, prior_sampler, fit_people
from hmr_flow.fitting.initialisation import Initialisation, default_initialisation
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.fitting.keypoint_io import KeypointImage
from hmr_flow.fitting.outputs import MESH_FORMATS, render_overlay, write_fit_set
from hmr_flow.fitting.schedule import FitConfig
from hmr_flow.geometry import axis_angle_to_matrix, default_focal
from hmr_flow.metrics import pck
from hmr_flow.prior import FittingPrior
from hmr_flow.validation import UserInputError

log = logging.getLogger(__name__)


class FitInputError(UserInputError):
    """An image is unreadable or the image size needed for the camera is unknown."""


@dataclass
class PerImage:
    """What :attr:`FitOptions.per_image` gives for one image's ``P`` people: their initial hypotheses
    (:class:`Initialisation` with ``P`` people) and a prior for them (a :class:`~hmr_flow.prior.FittingPrior`
    over ``P`` people with a ``concatenate`` class method, e.g. :class:`hmr_flow.models.ConditionalPrior`);
    ``None`` = the run's."""

    init: Initialisation | None = None
    prior: FittingPrior | None = None


@dataclass
class FitOptions:
    """Settings of a fitting run: prior (``PosePrior`` or ``None``) and its name, focal length (``None`` =
    ``sqrt(W² + H²)``), image size for keypoints without an image, the fit's settings (:class:`FitConfig`:
    schedule, optimiser, hypotheses per person, sampling temperature; ``None`` = its defaults), a seed,
    whether to draw overlays when the image is available, the most people fitted in one batch, the body
    model file (``None`` = the open model; or an official SMPL ``.pkl``/``.npz``), the mesh file format
    (:data:`~hmr_flow.fitting.outputs.MESH_FORMATS`), and one optional hook, called once per image:

    - ``per_image(record, image, focal, size) -> PerImage``: the initial hypotheses of that image's
      people and/or a prior for them (e.g. :func:`hmr_flow.models.conditional_fitting`, whose model
      encodes the people once for both); ``image`` is ``None`` when only keypoints are given, ``size``
      is ``(W, H)``. What it leaves ``None`` is the run's: the default hypotheses (prior samples), the
      ``prior``. Images fitted in one batch get ``type(prior).concatenate([...])`` of their priors,
      people in image order. A hook with ``needs_image = False`` is given ``image=None`` (the photo is then
      never decoded: its size comes from its header), and one with a ``for_images(calls) -> list[PerImage]``
      method, ``calls`` a list of ``(record, image, focal, size)``, is given every image of a batch at once
      (:class:`hmr_flow.models.ConditionalFitting` has both: one encoding of a batch's people, not one per
      image).
    """

    prior: object | None = None
    prior_name: str = "none"
    focal: float | None = None
    image_size: tuple[int, int] | None = None
    config: FitConfig | None = None
    seed: int = 0
    per_image: Callable[[KeypointImage, np.ndarray | None, float, tuple[int, int]], PerImage] | None = None
    overlays: bool = True
    batch_people: int = 256
    body_model: str | Path | None = None
    mesh_format: str = "ply"

    def __post_init__(self) -> None:
        if self.config is None:
            self.config = FitConfig()


def image_and_size(record: KeypointImage, image_size: tuple[int, int] | None = None,
                   pixels: bool = True) -> tuple[np.ndarray | None, tuple[int, int]]:
    """The record's image (``None`` when no file is known, or when ``pixels`` is false: then only its size is
    read, from the header where it can be, :func:`~hmr_flow.images.image_size`) and its size ``(W, H)``: from
    the image, else from the keypoint file (COCO ``width``/``height``), else ``image_size`` (``--image-size``).

    Raises:
        FitInputError: no size from any of the three, or ``image_size`` differs from the size the image or the
            file gives (it would be ignored).
    """
    image = read_rgb(record.image_path) if record.image_path is not None and pixels else None
    if record.image_path is not None:
        known = (image.shape[1], image.shape[0]) if image is not None else image_size_of(record.image_path)
    else:
        known = record.image_size
    if known is not None and image_size is not None and tuple(image_size) != tuple(known):
        source = record.image_path if record.image_path is not None else f"{record.where} (its width/height)"
        raise FitInputError(f"--image-size {image_size[0]} {image_size[1]}: {source} gives {known[0]}×{known[1]} "
                            f"pixels; leave --image-size out (it is for keypoints without an image or size)")
    if record.image_path is not None:
        return image, known
    size = record.image_size or image_size
    if size is None:
        raise FitInputError(
            f"{record.name}: image size unknown: the keypoint file gives none (OpenPose files and COCO results "
            f"lists carry no width/height) and no image file was found for it; give --image-size W H, or the "
            f"image with --image/--images"
        )
    return None, tuple(size)


def prior_log_prob(prior: FittingPrior | None, result: FitResult) -> torch.Tensor | None:
    """``(P,)`` log-likelihood (nats) of the fitted poses under ``prior`` (``None`` without a density)."""
    if prior is None:
        return None
    people = len(result.body_pose)
    rotations = torch.cat([axis_angle_to_matrix(result.global_orient)[:, None],
                           axis_angle_to_matrix(result.body_pose.reshape(people, 23, 3))], dim=1)
    with torch.no_grad():
        return prior.fitted_log_prob(result.body_pose, rotations)


def _arrays(record: KeypointImage, result: FitResult, size, log_prob: torch.Tensor | None, prior_name: str,
            body_model: str) -> dict[str, np.ndarray]:
    arrays = {
        k: getattr(result, k).detach().cpu().numpy()
        for k in ("global_orient", "body_pose", "betas", "transl", "focal", "principal_point", "joints",
                  "keypoints_2d", "loss", "data_loss", "prior_loss", "hypothesis_losses", "best_hypothesis")
    }
    people = len(record.person_ids)
    arrays["prior_log_prob"] = log_prob.cpu().numpy() if log_prob is not None else np.full(people, np.nan, np.float32)
    arrays["keypoints_observed"] = record.keypoints
    arrays["person_ids"] = np.asarray(record.person_ids, dtype=np.int64)
    arrays["image_size"] = np.asarray(size, dtype=np.int64)
    arrays["keypoint_format"] = np.asarray(record.keypoint_format)
    arrays["prior"] = np.asarray(prior_name)
    arrays["body_model"] = np.asarray(body_model)
    return arrays


@dataclass
class _Prepared:
    """One image ready to fit: its record, whether an overlay is due, size ``(W, H)``, focal, hypotheses
    and its own prior (``None``: the run's), and whether the ``per_image`` hook has yet to give them. (Pixels
    are not kept: a chunk of large photos would not fit in memory; overlays re-read them.)"""

    record: KeypointImage
    overlay: bool
    size: tuple[int, int]
    focal: float
    init: Initialisation | None  # None: the default hypotheses, drawn per chunk
    prior: object | None = None
    pending: bool = False


def _prepare(record: KeypointImage, options: FitOptions) -> _Prepared:
    """``record`` checked, with its size, focal, whether an overlay is due and the ``per_image`` hook's part.
    A hook that reads pixels (``needs_image``, true unless it says otherwise) gets them here, one image at a
    time; any other hook is left for :func:`_add_own`, which gives it many images at once."""
    hook = options.per_image
    pixels = hook is not None and getattr(hook, "needs_image", True)
    image, size = image_and_size(record, options.image_size, pixels=pixels)
    check_keypoints(record.where, record.keypoints, record.person_ids, size)
    if options.focal is not None:
        check_focal(record.where, options.focal, size)
    focal = options.focal if options.focal is not None else default_focal(*size)
    prepared = _Prepared(record, options.overlays and record.image_path is not None, size, focal, None,
                         pending=hook is not None)
    if pixels:
        _add_own([prepared], options, [image])
    return prepared


def _add_own(chunk: list[_Prepared], options: FitOptions, images: list[np.ndarray | None] | None = None) -> None:
    """The ``per_image`` hook's hypotheses and prior for the images of ``chunk`` that still wait for them
    (``images``: their pixels, else ``None`` each): all in one call when the hook has ``for_images`` (e.g.
    :class:`hmr_flow.models.ConditionalFitting`), else one call per image."""
    hook, pending = options.per_image, [p for p in chunk if p.pending]
    if not pending:
        return
    calls = [(p.record, image, p.focal, p.size) for p, image in zip(pending, images or [None] * len(pending))]
    own = hook.for_images(calls) if hasattr(hook, "for_images") else [hook(*call) for call in calls]
    for prepared, part in zip(pending, own):
        prepared.init, prepared.prior, prepared.pending = part.init, part.prior, False


def _chunk_prior(chunk: list[_Prepared], options: FitOptions):
    """The prior of a chunk's people: the run's, or the images' own priors joined in image order."""
    priors = [p.prior for p in chunk]
    if all(prior is None for prior in priors):
        return options.prior
    if any(prior is None for prior in priors):
        raise ValueError("per_image: gave a prior for some images and none for others")
    return priors[0] if len(priors) == 1 else type(priors[0]).concatenate(priors)


def _slice(result: FitResult, start: int, stop: int) -> FitResult:
    return FitResult(**{f.name: getattr(result, f.name)[start:stop] for f in fields(FitResult)})


#: Called by :func:`fit_records` after each image's files are written: ``(record, its FitResult)``.
ImageCallback = Callable[[KeypointImage, FitResult], None]


def _fit_chunk(chunk: list[_Prepared], body: BodyModel, keypoint_body: KeypointBody, options: FitOptions,
               out: Path, on_image: ImageCallback | None = None) -> list[Path]:
    """Fit the people of ``chunk`` (one keypoint format, same hypothesis count) together; write each
    image's files (then ``on_image``). Returns the paths written."""
    counts = [len(p.record.person_ids) for p in chunk]
    keypoints = torch.cat([torch.from_numpy(p.record.keypoints) for p in chunk])
    focal = torch.cat([torch.full((n,), float(p.focal)) for p, n in zip(chunk, counts)])
    centre = torch.cat([torch.tensor([[p.size[0] / 2.0, p.size[1] / 2.0]]).expand(n, 2) for p, n in zip(chunk, counts)])
    init = _chunk_initialisation(chunk, counts, options)
    prior = _chunk_prior(chunk, options)
    result = fit_people(keypoint_body, keypoints, chunk[0].record.keypoint_format, focal, centre, prior=prior,
                        init=init, config=options.config, progress=len(chunk) == 1)
    log_prob = prior_log_prob(prior, result)
    with torch.no_grad():
        vertices = body(global_orient=result.global_orient, body_pose=result.body_pose, betas=result.betas,
                        transl=result.transl).vertices.cpu().numpy()
    written: list[Path] = []
    start = 0
    for prepared, n in zip(chunk, counts):
        record, stop = prepared.record, start + n
        part = _slice(result, start, stop)
        check_fit(record.name, part, record.person_ids)
        arrays = _arrays(record, part, prepared.size, None if log_prob is None else log_prob[start:stop], options.prior_name,
                         body.name)
        overlay = None
        if prepared.overlay:
            centre_px = (prepared.size[0] / 2.0, prepared.size[1] / 2.0)
            overlay = render_overlay(read_rgb(record.image_path), vertices[start:stop], body.faces, prepared.focal, centre_px,
                                     record.keypoints, part.keypoints_2d.cpu().numpy())
        written.extend(write_fit_set(out, record.name, arrays, dict(zip(record.person_ids, vertices[start:stop])),
                                     body.faces, options.mesh_format, overlay))
        if on_image is not None:
            on_image(record, part)
        start = stop
    return written


def _chunk_initialisation(chunk: list[_Prepared], counts: list[int], options: FitOptions) -> Initialisation:
    """Every image's hypotheses: its ``per_image`` hook's, or the default ones drawn for the chunk in one go."""
    missing = [i for i, p in enumerate(chunk) if p.init is None]
    parts = {i: p.init for i, p in enumerate(chunk) if p.init is not None}
    if missing:
        generator = torch.Generator().manual_seed(options.seed)
        config = options.config
        drawn = default_initialisation(sum(counts[i] for i in missing), config.num_hypotheses,
                                       prior_sampler(options.prior, generator, config.sample_temperature), generator)
        start = 0
        for i in missing:
            stop = start + counts[i]
            parts[i] = Initialisation(drawn.global_orient[start:stop], drawn.body_pose[start:stop])
            start = stop
    ordered = [parts[i] for i in range(len(chunk))]
    betas = torch.cat([p.betas for p in ordered]) if all(p.betas is not None for p in ordered) else None
    return Initialisation(torch.cat([p.global_orient for p in ordered]), torch.cat([p.body_pose for p in ordered]), betas)


def _runs(items: Iterator[_Prepared] | list[_Prepared], key: Callable[[_Prepared], object],
          limit: int | None = None) -> Iterator[list[_Prepared]]:
    """Consecutive items grouped while they share ``key`` and hold at most ``limit`` people in all (an item with
    more people is a group of its own)."""
    group: list[_Prepared] = []
    people = 0
    for item in items:
        n = len(item.record.person_ids)
        if group and ((limit is not None and people + n > limit) or key(item) != key(group[0])):
            yield group
            group, people = [], 0
        group.append(item)
        people += n
    if group:
        yield group


def _chunks(prepared: Iterator[_Prepared], options: FitOptions) -> Iterator[list[_Prepared]]:
    """Consecutive images of one keypoint format, at most :attr:`FitOptions.batch_people` people in all, with
    their ``per_image`` hook's part (one call per group); split where the hypothesis count changes."""
    default = options.config.num_hypotheses
    for group in _runs(prepared, lambda item: item.record.keypoint_format, options.batch_people):
        _add_own(group, options)
        yield from _runs(group, lambda item: default if item.init is None else item.init.num_hypotheses)


def warn_empty(records: list[KeypointImage]) -> list[KeypointImage]:
    """The records without people (empty frames, or every person below the keypoint threshold), after one
    warning that counts and names them (the first five)."""
    empty = [r for r in records if len(r.person_ids) == 0]
    if empty:
        names = ", ".join(r.name for r in empty[:5]) + (", …" if len(empty) > 5 else "")
        log.warning("%d of %d images have no person with enough keypoints, skipped: %s", len(empty), len(records), names)
    return empty


def fit_image(record: KeypointImage, body: BodyModel, keypoint_body: KeypointBody, options: FitOptions, out: Path) -> list[Path]:
    """Fit the people of one image and write its files into ``out``; returns the paths written
    (none when the image has no person left after the keypoint-count filter)."""
    if warn_empty([record]):
        return []
    prepared = [_prepare(record, options)]
    _add_own(prepared, options)
    return _fit_chunk(prepared, body, keypoint_body, options, out)


def keypoint_agreement(record: KeypointImage, fitted: torch.Tensor | np.ndarray, alpha: float = 0.1) -> np.ndarray:
    """PCK@``alpha`` ``(P,)`` of the fitted keypoints ``fitted (P, K, 2)`` px (:attr:`FitResult.keypoints_2d`,
    the ``keypoints_2d`` of a ``<name>_params.npz``) against ``record``'s keypoints of positive confidence
    (threshold: ``alpha`` × the longer side of each person's keypoint box)."""
    fitted = torch.as_tensor(fitted).detach().cpu().float()
    observed = torch.from_numpy(record.keypoints).float()
    return pck(fitted, observed[..., :2], observed[..., 2] > 0, alpha).numpy()


def keypoint_error_px(record: KeypointImage, fitted: torch.Tensor | np.ndarray) -> np.ndarray:
    """Mean distance ``(P,)`` in pixels between the fitted keypoints ``fitted (P, K, 2)`` and ``record``'s
    keypoints of positive confidence (what PCK@0.1 hides: on a 500 px person it accepts 50 px)."""
    fitted = torch.as_tensor(fitted).detach().cpu().float()
    observed = torch.from_numpy(record.keypoints).float()
    seen = (observed[..., 2] > 0).float()
    distance = (fitted - observed[..., :2]).norm(dim=-1)
    return ((distance * seen).sum(1) / seen.sum(1).clamp_min(1)).numpy()


def fit_records(records: list[KeypointImage], options: FitOptions, out: str | Path, device: str = "cpu",
                on_image: ImageCallback | None = None) -> list[Path]:
    """Fit every record, many images per batch (see the module docstring; progress bar over people),
    and return all paths written; ``on_image(record, result)`` is called with each image's
    :class:`FitResult` once its files are written (what the command reports, without reading them back).
    Records without people are skipped with one warning that counts them (:func:`warn_empty`)."""
    if options.batch_people < 1:
        raise ValueError(f"batch_people: expected ≥ 1, got {options.batch_people}")
    if options.mesh_format not in MESH_FORMATS:
        raise ValueError(f"mesh_format: expected one of {', '.join(MESH_FORMATS)}, got {options.mesh_format!r}")
    out = Path(out)
    body = BodyModel(options.body_model).to(device)
    keypoint_body = KeypointBody(body).to(device)
    warn_empty(records)
    fitted = [r for r in records if len(r.person_ids)]
    written: list[Path] = []
    with tqdm(total=sum(len(r.person_ids) for r in fitted), desc="fit", unit="person", disable=len(fitted) < 2) as bar:
        for chunk in _chunks((_prepare(r, options) for r in fitted), options):
            written.extend(_fit_chunk(chunk, body, keypoint_body, options, out, on_image))
            bar.update(sum(len(p.record.person_ids) for p in chunk))
    return written
