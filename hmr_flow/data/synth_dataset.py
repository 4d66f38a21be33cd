"""``SynthDataset``: a ``torch.utils.data.Dataset`` over a synthetic set (see :mod:`.synth_format`).

Shards are read (and checksum-verified) on first use and kept in memory — a 20k set at 128 px is
about 0.3 GB; images are JPEG-decoded per item. Each process (DataLoader worker) keeps its own copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from hmr_flow.data.augment import AugmentConfig, augment_sample
from hmr_flow.data.synth_format import Manifest, decode_image, load_shard, read_manifest, unpack_mask

_GT_KEYS = ("global_orient", "body_pose", "betas", "transl", "focal", "joints3d", "keypoints2d", "visibility", "bbox",
            "subject", "clip", "frame", "index")


class SynthDataset(Dataset):
    """Samples of a synthetic set, optionally augmented.

    Args:
        root: folder with ``manifest.json`` and shards.
        augment: :class:`AugmentConfig` for training, ``None`` for the stored samples as they are.
        verify: check each shard's SHA-256 against the manifest when it is first read.

    Each item is a dict of tensors: ``image (3, S, S)`` float32 in [0, 1] (RGB), ``silhouette`` and
    ``occluder`` ``(S, S)`` bool, ``global_orient (3,)`` (camera frame), ``body_pose (69,)``,
    ``betas (10,)``, ``transl (3,)``, ``focal ()`` (pixels; principal point at the crop centre),
    ``joints3d (24, 3)`` metres, ``keypoints2d (17, 2)`` pixels, ``visibility (17,)`` int64
    (0 outside, 1 hidden, 2 visible), ``bbox (4,)``, and the ids ``subject``, ``clip``, ``frame``,
    ``index``. Augmentation randomness comes from a generator seeded with ``torch.initial_seed()``
    of the process (DataLoader gives each worker its own) and :attr:`epoch_seed`, which a training
    loop sets at every epoch from its seeded torch generator: so ``torch.manual_seed`` makes runs
    reproducible, and a run resumed at an epoch boundary with the generator states restored
    augments exactly as the uninterrupted run (also in-process, with no workers).
    """

    def __init__(self, root: str | Path, augment: AugmentConfig | None = None, verify: bool = True):
        self.manifest: Manifest = read_manifest(root)
        self.augment = augment
        self.verify = verify
        starts = np.cumsum([0] + [s.count for s in self.manifest.shards])
        self._starts = starts
        self._shards: dict[int, dict[str, np.ndarray]] = {}
        self._rng: tuple[tuple[int, int], np.random.Generator] | None = None
        self.epoch_seed = 0

    @property
    def image_size(self) -> int:
        return self.manifest.image_size

    @property
    def clip_names(self) -> tuple[str, ...]:
        return self.manifest.clip_names

    def __len__(self) -> int:
        return self.manifest.count

    def _shard(self, number: int) -> dict[str, np.ndarray]:
        if number not in self._shards:
            self._shards[number] = load_shard(self.manifest, self.manifest.shards[number], verify=self.verify)
        return self._shards[number]

    def _generator(self) -> np.random.Generator:
        seed = (torch.initial_seed(), self.epoch_seed)
        if self._rng is None or self._rng[0] != seed:
            self._rng = (seed, np.random.default_rng(list(seed)))
        return self._rng[1]

    def raw_sample(self, index: int) -> dict[str, np.ndarray]:
        """Stored sample ``index`` as numpy arrays (image ``(S, S, 3)`` uint8), without augmentation."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples in {self.manifest.root}")
        number = int(np.searchsorted(self._starts, index, side="right") - 1)
        row = index - int(self._starts[number])
        shard = self._shard(number)
        size = self.image_size
        source = self.manifest.root / self.manifest.shards[number].file
        sample = {key: shard[key][row] for key in _GT_KEYS}
        sample["image"] = decode_image(shard, row, size, source)
        sample["silhouette"] = unpack_mask(shard["silhouette_bits"][row], size)
        sample["occluder"] = unpack_mask(shard["occluder_bits"][row], size)
        return sample

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = self.raw_sample(index)
        if self.augment is not None:
            sample = augment_sample(sample, self._generator(), self.augment)
        return to_tensors(sample)


def to_tensors(sample: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """numpy sample → tensors as documented in :class:`SynthDataset`."""
    out = {key: torch.as_tensor(np.asarray(value)) for key, value in sample.items() if key != "image"}
    out["image"] = torch.from_numpy(np.ascontiguousarray(sample["image"].transpose(2, 0, 1))).float() / 255.0
    out["visibility"] = out["visibility"].long()
    return out
