"""Inference on photographs or keypoints: person box → square crop → hypotheses in the full image's camera.

A model with RGB input needs the image; a keypoints-only model needs only the keypoints and the
image size. Boxes are ``(x0, y0, x1, y1)`` full-image pixels (pixel ``(i, j)`` covers ``[j, j+1) × [i, i+1)``).
The crop is the square of side ``L = box_scale · max(w, h)`` centred on the box, resized to the
model's ``S`` (zero padding outside the image). The full image's camera is a pinhole at the
origin of the OpenCV frame with focal ``F`` (default ``sqrt(W² + H²)``) and principal point at the
image centre; hypotheses are converted to it with :func:`hmr_flow.models.camera.crop_to_full_translation`
(the global orientation is kept as predicted in the crop's camera, whose axes are the same).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.body.paths import open_model_name
from hmr_flow.fitting.initialisation import Initialisation
from hmr_flow.geometry import axis_angle_to_matrix, default_focal
from hmr_flow.geometry.boxes import BOX_SCALE, keypoint_box, to_crop
from hmr_flow.models.camera import crop_to_full_translation
from hmr_flow.models.model import HMRFlow
from hmr_flow.validation import UserInputError


@dataclass
class Hypotheses:
    """``n`` hypotheses for each of ``P`` people in one image, the mode first.

    ``pose (P, n, 72)`` SMPL axis-angle (global orientation in the camera frame first), ``betas
    (P, n, 10)``, ``transl (P, n, 3)`` metres in the full-image camera frame, ``camera (P, n, 3)``
    crop ``(s, tx, ty)``, ``log_prob (P, n)`` the model's log-density of each pose (nats, 144-D 6D
    space), ``focal`` pixels, ``principal_point (2,)`` pixels, ``boxes (P, 4)`` the person boxes,
    ``crop_centres (P, 2)`` and ``crop_sizes (P,)`` pixels, ``features (P, F)`` the model's encoding of
    each person (what the hypotheses are conditioned on; :class:`~hmr_flow.models.ConditionalPrior`
    reuses it).
    """

    pose: torch.Tensor
    log_prob: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor
    camera: torch.Tensor
    focal: float
    principal_point: torch.Tensor
    boxes: torch.Tensor
    crop_centres: torch.Tensor
    crop_sizes: torch.Tensor
    features: torch.Tensor

    def initialisation(self) -> Initialisation:
        """The poses as a fitting :class:`Initialisation` (``P`` people × ``n`` hypotheses)."""
        return Initialisation(self.pose[..., :3].contiguous(), self.pose[..., 3:].contiguous(), self.betas.contiguous())

    @torch.no_grad()
    def posed_points(self, body: KeypointBody) -> torch.Tensor:
        """``(P, n, S, 3)`` points of every hypothesis in the full-image camera frame (metres): the 24
        joints first, then the keypoint sources of ``body`` (e.g. ``body.coco17_matrix`` maps them to
        COCO-17)."""
        people, count = self.pose.shape[:2]
        rotmats = axis_angle_to_matrix(self.pose.reshape(people * count, 24, 3))
        points = body(rotmats, self.betas.reshape(people * count, -1), self.transl.reshape(people * count, 3))
        return points.reshape(people, count, *points.shape[1:])

    def select(self, people: list[int] | None = None, count: int | None = None) -> Hypotheses:
        """The hypotheses of ``people`` (indices; ``None``: all), the first ``count`` of each (``None``: all)."""
        index = slice(None) if people is None else torch.as_tensor(people, dtype=torch.long)
        hypotheses = slice(None, count)
        return replace(self, **{name: getattr(self, name)[index][:, hypotheses] for name in
                                ("pose", "log_prob", "betas", "transl", "camera")},
                       **{name: getattr(self, name)[index] for name in ("boxes", "crop_centres", "crop_sizes",
                                                                         "features")})

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Arrays for ``np.savez`` in smplx's names: ``global_orient (P, n, 3)`` (camera frame),
        ``body_pose (P, n, 69)``, ``betas (P, n, 10)``, ``transl (P, n, 3)``, ``log_prob (P, n)``,
        mode at index 0; ``body_model`` (the open model's name, e.g. ``open-v1``: the models are trained
        on it, so the betas are its shape coefficients); plus ``camera``, ``focal``, ``principal_point``,
        ``boxes``, ``crop_centres``, ``crop_sizes``."""
        out = {k: np.asarray(getattr(self, k).detach().cpu()) for k in
               ("betas", "transl", "log_prob", "camera", "principal_point", "boxes", "crop_centres", "crop_sizes")}
        pose = np.asarray(self.pose.detach().cpu())
        out["global_orient"], out["body_pose"] = pose[..., :3], pose[..., 3:]
        out["focal"] = np.float32(self.focal)
        out["body_model"] = np.asarray(open_model_name())
        return out


def check_boxes(boxes: np.ndarray, width: int, height: int, source: str = "boxes") -> np.ndarray:
    """``(P, 4)`` float boxes ``x0 y0 x1 y1`` (pixels), checked to be finite, to have x1 > x0 and y1 > y0, to
    overlap the ``width`` × ``height`` image and to be at most ten image sizes large (the crop is resampled
    from them); errors name ``source`` (e.g. ``--bbox``) and the box."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not np.isfinite(boxes).all():
        raise UserInputError(f"{source}: box contains NaN or infinite values")
    for x0, y0, x1, y1 in boxes.tolist():
        box = f"{source} {x0:g} {y0:g} {x1:g} {y1:g}"
        if not (x1 > x0 and y1 > y0):
            raise UserInputError(f"{box}: expected X0 < X1 and Y0 < Y1")
        if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
            raise UserInputError(f"{box}: does not overlap the {width}×{height} image")
        if max(x1 - x0, y1 - y0) > 10 * max(width, height):
            raise UserInputError(f"{box}: more than ten times the size of the {width}×{height} image")
    return boxes


def keypoint_boxes(keypoints: np.ndarray, min_confidence: float = 0.1) -> np.ndarray:
    """``(P, 4)`` square boxes around the confident keypoints of ``(P, K, 3)`` ``(u, v, c)``, grown by
    :data:`hmr_flow.geometry.boxes.KEYPOINT_BOX_MARGIN` about their centre (the framing the models
    are trained with)."""
    points = torch.as_tensor(np.asarray(keypoints, dtype=np.float64))
    centre, half = keypoint_box(points[..., :2], points[..., 2], min_confidence)
    few = torch.isnan(half).nonzero().flatten().tolist()
    if few:
        raise ValueError(f"keypoints: person {few[0]} has fewer than 2 keypoints with confidence > {min_confidence}")
    return torch.cat([centre - half[:, None], centre + half[:, None]], dim=1).numpy()


def crop_person(image: np.ndarray, box: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Square crop ``(S, S, 3)`` uint8 around ``box``; returns it, its centre ``(2,)`` and side ``L`` (pixels)."""
    x0, y0, x1, y1 = box
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    side = BOX_SCALE * max(x1 - x0, y1 - y0)
    scale = size / side
    # crop pixel centre (j + ½) ↔ full-image coordinate centre + (j + ½ − S/2)/scale; OpenCV maps pixel centres at integers
    warp = np.array([[scale, 0.0, size / 2 - scale * centre[0] + 0.5 * scale - 0.5],
                     [0.0, scale, size / 2 - scale * centre[1] + 0.5 * scale - 0.5]])
    crop = cv2.warpAffine(image, warp, (size, size), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, centre, float(side)


def check_coco17(keypoints: np.ndarray) -> np.ndarray:
    """``keypoints`` as a float64 ``(P, 17, 3)`` COCO-17 ``(u, v, confidence)`` array, checked finite."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (17, 3) or not np.isfinite(keypoints).all():
        raise ValueError(f"keypoints: expected finite (P, 17, 3) COCO-17 (u, v, confidence), got {keypoints.shape}")
    return keypoints


@dataclass
class _Crops:
    """What the model sees of ``P`` people (:func:`crop_inputs`): ``images (P, 3, S, S)`` in [0, 1] (RGB models,
    else ``None``), ``keypoints (P, 17, 2)`` crop pixels and ``confidence (P, 17)`` (keypoint models, else
    ``None``), crop ``centres (P, 2)`` and ``sides (P,)`` in full-image pixels."""

    images: torch.Tensor | None
    keypoints: torch.Tensor | None
    confidence: torch.Tensor | None
    centres: torch.Tensor
    sides: torch.Tensor


def crop_inputs(model: HMRFlow, image: np.ndarray | None, boxes: np.ndarray, keypoints: np.ndarray | None) -> _Crops:
    """The square crop of side ``BOX_SCALE ·`` the longer box side around each of ``boxes (P, 4)`` (already
    checked): its RGB pixels for RGB models, and ``keypoints (P, 17, 3)`` (full-image pixels, checked) moved
    into it for keypoint models (on the model's device)."""
    size = model.config.image_size
    device = next(model.parameters()).device
    centres = torch.as_tensor((boxes[:, :2] + boxes[:, 2:]) / 2, dtype=torch.float32, device=device)
    sides = torch.as_tensor(BOX_SCALE * np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]),
                            dtype=torch.float32, device=device)
    images = None
    if model.config.rgb:
        crops = [crop_person(image, box, size)[0] for box in boxes]
        images = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div(255.0).to(device)
    crop_kp = crop_conf = None
    if keypoints is not None:
        kp = torch.as_tensor(keypoints, dtype=torch.float32, device=device)
        crop_kp = to_crop(kp[..., :2], centres, sides, size)
        crop_conf = kp[..., 2].clamp(0, 1)
    return _Crops(images, crop_kp, crop_conf, centres, sides)


def _joined(parts: list[torch.Tensor | None]) -> torch.Tensor | None:
    return None if parts[0] is None else torch.cat(parts)


@torch.no_grad()
def encode_people(
    model: HMRFlow, image: np.ndarray | None, boxes: np.ndarray, keypoints: np.ndarray | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The model's features of ``P`` people of one image (:func:`crop_inputs`).

    Returns:
        features ``(P, F)``, crop centres ``(P, 2)`` and sides ``(P,)`` in full-image pixels (model device).
    """
    crops = crop_inputs(model, image, boxes, keypoints)
    return model.encode(crops.images, crops.keypoints, crops.confidence), crops.centres, crops.sides


@dataclass
class RegressInput:
    """One image for :func:`regress_images`: the arguments of :func:`regress` that differ between images."""

    image: np.ndarray | None
    boxes: np.ndarray | None = None
    focal: float | None = None
    keypoints: np.ndarray | None = None
    image_size: tuple[int, int] | None = None


def _checked(model: HMRFlow, item: RegressInput) -> tuple[RegressInput, tuple[int, int]]:
    """``item`` with its boxes and keypoints checked (boxes from the keypoints where the model crops around
    them) and its image size ``(W, H)``."""
    config, image, keypoints, boxes = model.config, item.image, item.keypoints, item.boxes
    if image is not None:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image: expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        height, width = image.shape[:2]
    elif config.rgb:
        raise ValueError(f"this model takes {config.inputs} input: an image is needed")
    elif item.image_size is None:
        raise ValueError("image_size: needed (W, H) pixels when no image is given")
    else:
        width, height = item.image_size
    if keypoints is not None:
        keypoints = check_coco17(keypoints)
    elif config.keypoint_channels and not config.rgb:
        raise ValueError("keypoints: this model takes 2D keypoints, none were given")
    if boxes is None or not config.rgb:
        boxes = keypoint_boxes(keypoints) if keypoints is not None else np.array([[0, 0, width, height]], dtype=float)
    boxes = check_boxes(boxes, width, height)
    if keypoints is not None and len(keypoints) != len(boxes):
        raise ValueError(f"keypoints: {len(keypoints)} people but {len(boxes)} boxes")
    return RegressInput(image, boxes, item.focal, keypoints, item.image_size), (width, height)


@torch.no_grad()
def regress_images(model: HMRFlow, items: list[RegressInput], n: int = 16, temperature: float = 1.0,
                   seed: int = 0) -> list[Hypotheses]:
    """:func:`regress` of several images with one encoding and one decoding of all their people: image ``i``'s
    hypotheses are :func:`regress` of ``items[i]`` alone (each image's random hypotheses drawn from ``seed``,
    as there; equal up to float rounding)."""
    checked = [_checked(model, item) for item in items]
    crops = [crop_inputs(model, item.image, item.boxes, item.keypoints) for item, _ in checked]
    features = model.encode(_joined([c.images for c in crops]), _joined([c.keypoints for c in crops]),
                            _joined([c.confidence for c in crops]))
    device = features.device
    latents = [model.latent(len(item.boxes), n, temperature, torch.Generator(device).manual_seed(seed))
               for item, _ in checked]
    samples = model.decode(features, torch.cat(latents))
    focals = [default_focal(*size) if item.focal is None else float(item.focal) for item, size in checked]
    principals = [torch.tensor([w / 2, h / 2], dtype=torch.float32, device=device) for _, (w, h) in checked]
    counts = [len(item.boxes) for item, _ in checked]
    per_person = torch.cat([torch.full((c,), f, device=device) for c, f in zip(counts, focals)])
    centres, sides = torch.cat([c.centres for c in crops]), torch.cat([c.sides for c in crops])
    transl = crop_to_full_translation(samples.camera, centres, sides, per_person,
                                      torch.cat([p.expand(c, 2) for p, c in zip(principals, counts)]))
    pose = samples.axis_angle()
    hypotheses, start = [], 0
    for (item, _), crop, focal, principal, count in zip(checked, crops, focals, principals, counts):
        rows = slice(start, start + count)
        hypotheses.append(Hypotheses(pose[rows], samples.log_prob[rows], samples.betas[rows], transl[rows],
                                     samples.camera[rows], focal, principal, torch.as_tensor(item.boxes, dtype=torch.float32),
                                     crop.centres, crop.sides, features[rows]))
        start += count
    return hypotheses


@torch.no_grad()
def regress(
    model: HMRFlow,
    image: np.ndarray | None,
    boxes: np.ndarray | None = None,
    n: int = 16,
    focal: float | None = None,
    keypoints: np.ndarray | None = None,
    temperature: float = 1.0,
    seed: int = 0,
    image_size: tuple[int, int] | None = None,
) -> Hypotheses:
    """Hypotheses for the people in an image.

    Args:
        model: a trained :class:`HMRFlow` (its device is used).
        image: ``(H, W, 3)`` uint8 RGB, or ``None`` for a keypoints-only model (then ``image_size``).
        boxes: ``(P, 4)`` person boxes; ``None`` = from ``keypoints``, or the whole image.
            Keypoints-only models always crop around the keypoints.
        n: hypotheses per person (the mode first).
        focal: full-image focal length in pixels (default ``sqrt(W² + H²)``).
        keypoints: ``(P, 17, 3)`` COCO-17 ``(u, v, confidence)`` full-image pixels (boxes, and the
            input of models with keypoint inputs).
        temperature: scale of the latent noise of the random hypotheses; seed: their random seed.
        image_size: ``(W, H)`` pixels when no image is given.
    """
    return regress_images(model, [RegressInput(image, boxes, focal, keypoints, image_size)], n, temperature, seed)[0]
