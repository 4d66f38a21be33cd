"""Training data: the synthetic image sets rendered by ``python -m data_tools synth render``.

Quick use::

    from hmr_flow.data import AugmentConfig, SynthDataset
    train = SynthDataset("data/synth/train", augment=AugmentConfig())
    item = train[0]          # dict of tensors: image (3, S, S), global_orient, body_pose, ...
"""

from hmr_flow.data.augment import AugmentConfig, augment_sample, flip_sample, mask_bbox, rotate_scale_sample
from hmr_flow.data.synth_dataset import SynthDataset, to_tensors
from hmr_flow.data.synth_format import Manifest, SynthDataError, read_manifest

__all__ = [
    "AugmentConfig",
    "Manifest",
    "SynthDataError",
    "SynthDataset",
    "augment_sample",
    "flip_sample",
    "mask_bbox",
    "read_manifest",
    "rotate_scale_sample",
    "to_tensors",
]
