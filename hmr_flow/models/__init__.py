"""Image → pose regression with a conditional normalizing flow (ProHMR-style), trained on synthetic renders.

Quick use::

    from hmr_flow.models import load_model, regress
    model = load_model("hmr_flow/assets/hmr_synth128.pt")
    hyps = regress(model, image_rgb, boxes=[[x0, y0, x1, y1]], n=16)   # mode first
    hyps.pose          # (P, 16, 72) axis-angle, full-image camera frame
    hyps.initialisation()   # hmr_flow.fitting.Initialisation for fit_people

Lower level: :class:`HMRFlow` (``sample(images, n)`` mode first, ``log_prob(pose, images)``),
:func:`train` / :class:`TrainSettings`, :func:`evaluate`.
"""

from hmr_flow.models.camera import camera_to_translation, crop_to_full_translation, translation_to_camera
from hmr_flow.models.conditional_prior import ConditionalFitting, ConditionalPrior, conditional_fitting
from hmr_flow.models.checkpoint import CheckpointError, export_weights, load_model, read_checkpoint, save_checkpoint
from hmr_flow.models.evaluate import evaluate
from hmr_flow.models.losses import HMRLoss, LossWeights
from hmr_flow.models.model import HMRConfig, HMRFlow, PoseSamples, pose_to_rot6d
from hmr_flow.models.pipeline import regress_records
from hmr_flow.models.regress import Hypotheses, regress
from hmr_flow.models.train import TrainSettings, train

__all__ = [
    "CheckpointError",
    "ConditionalFitting",
    "ConditionalPrior",
    "HMRConfig",
    "HMRFlow",
    "HMRLoss",
    "Hypotheses",
    "LossWeights",
    "PoseSamples",
    "TrainSettings",
    "camera_to_translation",
    "conditional_fitting",
    "crop_to_full_translation",
    "evaluate",
    "export_weights",
    "load_model",
    "pose_to_rot6d",
    "read_checkpoint",
    "regress",
    "regress_records",
    "save_checkpoint",
    "train",
    "translation_to_camera",
]
