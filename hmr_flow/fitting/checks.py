"""Cheap sanity checks around a fit: impossible keypoints before it, divergence and impossible geometry
after it (never inside the optimisation loop).

Before: every person's visible keypoints must spread over more than :data:`MIN_SPREAD_PX` pixels
(identical points put the body hundreds of metres away), lie within :data:`MAX_OUTSIDE` image sizes
of the image (keypoints in the wrong units) and not all outside it (keypoints of another image, or an
``--image-size`` smaller than the keypoints): people cut off by the border are fine. After: the fitted
loss and parameters must be finite and the body in front of the camera (pelvis ``z > 0``, camera
frame). Failures are
:class:`~hmr_flow.validation.DivergedError` / :class:`~hmr_flow.validation.UserInputError` naming the
image and the person.
"""

from __future__ import annotations

import numpy as np
import torch

from hmr_flow.validation import DivergedError, UserInputError

#: Smallest extent (pixels) of a person's visible keypoints.
MIN_SPREAD_PX = 4.0
#: Visible keypoints may lie at most this many image sizes outside the image.
MAX_OUTSIDE = 10.0
#: A focal length in pixels between these multiples of the image's longer side: a field of view between
#: 0.6° (a 2000 mm lens on a full-frame camera gives 1°) and 157° (wider is a fisheye, not a pinhole).
FOCAL_RANGE = (0.1, 100.0)


def check_focal(name: str, focal: float, size: tuple[int, int]) -> None:
    """``--focal`` (pixels) must fit the ``size`` ``(W, H)`` image ``name`` (:data:`FOCAL_RANGE`): 1e30 puts
    the body 5e27 m away and calls it a perfect fit."""
    low, high = (bound * max(size) for bound in FOCAL_RANGE)
    if not low <= focal <= high:
        side = f"more than {FOCAL_RANGE[1]:g}" if focal > high else f"less than {FOCAL_RANGE[0]:g}"
        raise UserInputError(f"{name}: --focal {focal:g} px is {side} × the longer side of the {size[0]}×{size[1]} "
                             f"image (a field of view outside 0.6°–157°); give the focal length in pixels")


def check_keypoints(name: str, keypoints: np.ndarray, person_ids: list[int], size: tuple[int, int]) -> None:
    """``keypoints (P, K, 3)`` ``(u, v, confidence)`` px of the people in image ``name`` of ``size`` (W, H);
    ``name`` names the image in errors (with its keypoint file: :attr:`KeypointImage.where`)."""
    limit = MAX_OUTSIDE * max(size)
    for points, person in zip(keypoints, person_ids):
        visible = points[points[:, 2] > 0, :2]
        if len(visible) == 0:
            continue
        far = np.abs(visible - 0.5 * np.asarray(size)).max()
        if far > limit:
            raise UserInputError(f"{name}: person {person}: keypoints lie {far:.3g} px from the centre of the "
                                 f"{size[0]}×{size[1]} image; check focal/keypoints (units, image size)")
        low, high = visible.min(0), visible.max(0)
        if (high < 0).any() or low[0] > size[0] or low[1] > size[1]:
            raise UserInputError(f"{name}: person {person}: all {len(visible)} visible keypoints lie outside the "
                                 f"{size[0]}×{size[1]} image (x {low[0]:.0f}…{high[0]:.0f}, y {low[1]:.0f}…"
                                 f"{high[1]:.0f} px); check the keypoint file and --image-size")
        spread = float((visible.max(0) - visible.min(0)).max())
        if spread < MIN_SPREAD_PX:
            raise UserInputError(f"{name}: person {person}: degenerate keypoints (all {len(visible)} visible points "
                                 f"within {spread:.1f} px); check the keypoints")


def check_fit(name: str, result, person_ids: list[int]) -> None:
    """A :class:`~hmr_flow.fitting.fitter.FitResult` must be finite with every body in front of the camera."""
    for field in ("loss", "body_pose", "global_orient", "betas", "transl", "joints"):
        values = getattr(result, field).detach().reshape(len(person_ids), -1)
        bad = (~torch.isfinite(values)).any(dim=1)
        if bad.any():
            person = person_ids[int(bad.nonzero()[0])]
            raise DivergedError(f"{name}: person {person}: the fit diverged (non-finite {field}); check "
                                f"focal/keypoints")
    depth = result.joints[:, 0, 2].detach()
    for person, z in zip(person_ids, depth.tolist()):
        if z <= 0:
            raise DivergedError(f"{name}: person {person}: the fitted body lies behind the camera (pelvis z = "
                                f"{z:.3g} m); check focal/keypoints")
