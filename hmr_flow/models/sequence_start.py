"""The conditional model's start of a track's fit (:data:`hmr_flow.fitting.sequence_pipeline.TrackStartHook`):
its hypotheses for every detected frame (mode first) and, for ``--prior conditional``, its likelihood given
each frame's keypoints as the prior of that frame — every frame encoded once, for both."""

from __future__ import annotations

import numpy as np
import torch

from hmr_flow.body.keypoints import to_coco17
from hmr_flow.fitting.initialisation import Initialisation, default_initialisation
from hmr_flow.models.conditional_prior import ConditionalPrior
from hmr_flow.models.model import HMRFlow
from hmr_flow.models.regress import regress


#: Frames encoded at once (the keypoint heatmaps of a frame take ~160 kB).
CHUNK = 128


def conditional_track_start(model: HMRFlow, n: int = 1, seed: int = 0, prior=None, temperature: float = 1.0,
                            from_model: bool = True):
    """A track start hook: ``n`` hypotheses per detected frame from ``model`` given its keypoints (COCO-17,
    or BODY_25 reordered), at the clip's focal length (``from_model=False``: the default ones instead, facing
    towards / away from the camera, :func:`~hmr_flow.fitting.default_initialisation`); the prior is the
    model's likelihood given each frame's keypoints, or ``prior`` (a :class:`~hmr_flow.prior.PosePrior`, e.g.
    ``--prior flow``) when one is given."""

    def start(keypoints: np.ndarray, keypoint_format: str, focal: float, size: tuple[int, int]):
        frames = to_coco17(keypoints, keypoint_format)
        parts = [regress(model, None, None, n, focal, frames[i : i + CHUNK], temperature, seed, image_size=size)
                 for i in range(0, len(frames), CHUNK)]  # in chunks: memory does not grow with the clip
        if from_model:
            init = Initialisation(*(torch.cat([getattr(p.initialisation(), k) for p in parts])
                                    for k in ("global_orient", "body_pose", "betas")))
        else:
            init = default_initialisation(len(keypoints), n, generator=torch.Generator().manual_seed(seed))
        if prior is not None:
            return init, lambda rows: prior
        features = torch.cat([p.features for p in parts])
        return init, lambda rows: ConditionalPrior.from_features(model, features[rows])

    return start
