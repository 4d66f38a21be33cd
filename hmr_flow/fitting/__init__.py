"""SMPLify-style fitting of the body model to 2D keypoints, with a selectable pose prior.

Quick use::

    from hmr_flow.body import BodyModel, KeypointBody
    from hmr_flow.fitting import fit_people, read_keypoints
    from hmr_flow.prior import load_prior

    body = KeypointBody(BodyModel())
    image = read_keypoints("person_keypoints.json", images="photos/")[0]
    result = fit_people(body, torch.from_numpy(image.keypoints), image.keypoint_format,
                        focal=1000.0, principal_point=(320, 240), prior=load_prior("flow"))

Camera: pinhole at the origin of the OpenCV camera frame (x right, y down, z forward); fitted
``global_orient`` and ``transl`` are in that frame (see :mod:`hmr_flow.fitting.fitter`).
"""

from hmr_flow.fitting.fitter import FitResult, fit_people, keypoint_weights
from hmr_flow.fitting.initialisation import Initialisation, default_initialisation, estimate_translation, relaxed_pose
from hmr_flow.fitting.keypoint_io import (
    KeypointFileError,
    KeypointImage,
    detected_records,
    read_coco,
    read_coco_results,
    read_keypoints,
    read_openpose,
    write_coco,
)
from hmr_flow.fitting.pipeline import (
    FitInputError,
    FitOptions,
    PerImage,
    fit_image,
    fit_records,
    keypoint_agreement,
    keypoint_error_px,
)
from hmr_flow.fitting.schedule import (
    DEFAULT_HYPOTHESES,
    DEFAULT_ITERATIONS,
    DEFAULT_STAGES,
    LEARNING_RATES,
    SAMPLE_TEMPERATURE,
    SMPLIFY_STAGES,
    FitConfig,
    Stage,
    scaled_config,
    scaled_stages,
)

__all__ = [
    "DEFAULT_HYPOTHESES",
    "DEFAULT_ITERATIONS",
    "DEFAULT_STAGES",
    "LEARNING_RATES",
    "SAMPLE_TEMPERATURE",
    "SMPLIFY_STAGES",
    "FitConfig",
    "FitInputError",
    "FitOptions",
    "FitResult",
    "Initialisation",
    "KeypointFileError",
    "KeypointImage",
    "PerImage",
    "Stage",
    "default_initialisation",
    "detected_records",
    "estimate_translation",
    "fit_image",
    "fit_people",
    "fit_records",
    "keypoint_agreement",
    "keypoint_error_px",
    "keypoint_weights",
    "read_coco",
    "read_coco_results",
    "read_keypoints",
    "read_openpose",
    "relaxed_pose",
    "scaled_config",
    "scaled_stages",
    "write_coco",
]
