"""Open SMPL-compatible body model: ``BodyModel``, skeleton and keypoint definitions.

Quick use::

    from hmr_flow.body import BodyModel, JOINT_NAMES, PARENTS
    body = BodyModel()                   # open model (built into the user cache on first use)
    rest = body.rest_joints()            # (24, 3) T-pose joints, metres, Y up, facing +Z
    out = body(pose, betas, transl)      # pose (B, 72) axis-angle or (B, 24, 3, 3)
"""

from hmr_flow.body.keypoints import (
    BODY25_FLIP_PERMUTATION,
    BODY25_NAMES,
    COCO17_FLIP_PERMUTATION,
    COCO17_NAMES,
    KEYPOINT_NAMES,
)
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.body.model import BodyModel, BodyOutput
from hmr_flow.body.model_file import BodyModelFileError, load_model_file
from hmr_flow.body.paths import MODEL_FORMAT_VERSION, cache_dir, default_model_path, open_model_name
from hmr_flow.body.skeleton import JOINT_FLIP_PERMUTATION, JOINT_NAMES, NUM_JOINTS, PARENTS
from hmr_flow.body.smpl_pickle import SmplPickleError, load_smpl_pickle

__all__ = [
    "BODY25_FLIP_PERMUTATION",
    "BODY25_NAMES",
    "COCO17_FLIP_PERMUTATION",
    "COCO17_NAMES",
    "JOINT_FLIP_PERMUTATION",
    "JOINT_NAMES",
    "KEYPOINT_NAMES",
    "MODEL_FORMAT_VERSION",
    "NUM_JOINTS",
    "PARENTS",
    "BodyModel",
    "BodyModelFileError",
    "BodyOutput",
    "KeypointBody",
    "SmplPickleError",
    "cache_dir",
    "default_model_path",
    "load_model_file",
    "load_smpl_pickle",
    "open_model_name",
]
